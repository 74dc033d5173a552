import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, TOKEN_ALPHABET, tenantFileName, tokensFileName } from '@lookout/gateway';
import {
  TOKEN_ENTROPY_BITS,
  TOKEN_RANDOM_LENGTH,
  formatToken,
  gatewayFieldManager,
  grafanaCredentialsResourceName,
  tokenPrefix,
  userTokenResourceName,
} from '../src/index.js';

describe('token format', () => {
  it('carries at least 256 bits of randomness', () => {
    expect(TOKEN_ENTROPY_BITS).toBeGreaterThanOrEqual(256);
    expect(TOKEN_RANDOM_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(256);
  });

  it('starts with a recognizable prefix naming the tenant, and stays in the gateway alphabet', () => {
    const token = formatToken('team-a', 'Ab3'.repeat(16));
    expect(token.startsWith(tokenPrefix('team-a'))).toBe(true);
    expect(token).toMatch(/^lk_team-a_/);
    expect(token).toMatch(TOKEN_ALPHABET);
    expect('a b').not.toMatch(TOKEN_ALPHABET);
  });

  it('fits the gateway length bounds for the longest tenant name', () => {
    expect(formatToken('a'.repeat(56), 'x'.repeat(TOKEN_RANDOM_LENGTH)).length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(TOKEN_RANDOM_LENGTH).toBeGreaterThanOrEqual(MIN_TOKEN_LENGTH);
  });
});

describe('token resource names', () => {
  it('differ per token name, and the internal one cannot collide with any token name', () => {
    expect(userTokenResourceName('acme', 'ci')).not.toBe(userTokenResourceName('acme', 'default'));
    // Token names are DNS labels, so they never contain the `_` of the internal name.
    expect(grafanaCredentialsResourceName('acme')).toContain('_');
    expect(grafanaCredentialsResourceName('acme').startsWith('acme-token')).toBe(true);
    expect(userTokenResourceName('acme', 'grafana')).not.toBe(grafanaCredentialsResourceName('acme'));
  });
});

describe('gateway entry names', () => {
  it('follow the gateway contract, with one field manager per tenant', () => {
    expect(tokensFileName('acme')).toBe('tokens-acme.conf');
    expect(tenantFileName('acme')).toBe('tenant-acme.conf');
    expect(gatewayFieldManager('acme')).not.toBe(gatewayFieldManager('beta'));
  });
});
