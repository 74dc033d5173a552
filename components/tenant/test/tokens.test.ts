import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, TOKEN_ALPHABET, tenantFileName, tokensFileName } from '@lookout/gateway';
import {
  ADMIN_PASSWORD_LENGTH,
  TOKEN_ENTROPY_BITS,
  TOKEN_RANDOM_LENGTH,
  formatToken,
  gatewayFieldManager,
  isTenantToken,
  newAdminPassword,
  newToken,
  randomAlphanumeric,
  tokenPrefix,
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

describe('generating credentials', () => {
  it('makes tokens of the documented shape, different every time', () => {
    const tokens = Array.from({ length: 50 }, () => newToken('acme'));
    for (const t of tokens) {
      expect(t).toMatch(/^lk_acme_[A-Za-z0-9]{48}$/);
      expect(isTenantToken('acme', t)).toBe(true);
      expect(isTenantToken('beta', t)).toBe(false);
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(isTenantToken('acme', `${tokenPrefix('acme')}short`)).toBe(false);
  });

  it('makes admin passwords of alphanumerics only', () => {
    const password = newAdminPassword();
    expect(password).toMatch(new RegExp(`^[A-Za-z0-9]{${ADMIN_PASSWORD_LENGTH}}$`));
    expect(newAdminPassword()).not.toBe(password);
  });

  it('draws every character of the alphabet, none favoured beyond chance', () => {
    const sample = randomAlphanumeric(62 * 400);
    const counts = new Map<string, number>();
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 400 each; a modulo bias (256 % 62) would push the first 8 characters ~25% high.
    for (const [c, n] of counts) expect(n, c).toBeLessThan(560);
  });
});

describe('gateway entry names', () => {
  it('follow the gateway contract, with one field manager per tenant', () => {
    expect(tokensFileName('acme')).toBe('tokens-acme.conf');
    expect(tenantFileName('acme')).toBe('tenant-acme.conf');
    expect(gatewayFieldManager('acme')).not.toBe(gatewayFieldManager('beta'));
  });
});
