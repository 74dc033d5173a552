import { describe, expect, it } from 'vitest';
import {
  MAX_TOKEN_LENGTH,
  MIN_TOKEN_LENGTH,
  renderTenantEntry,
  renderTenantSecretData,
  renderTokenMapEntries,
  tenantFileName,
  tokensFileName,
} from '../src/index.js';

const TOKEN_A = 'lk_acme_Q2xq8VtY4mKp0RzW7nLs3HdJ';
const TOKEN_B = 'lk_acme_Zk3Rm8Pq1Wx7Ly4Tn0Vb6Hc2-_';

/** The non-comment lines of an include file. */
const entries = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('tenant files', () => {
  it('names the two files of a tenant after it, matching the globs the config includes', () => {
    expect(tokensFileName('acme')).toBe('tokens-acme.conf');
    expect(tenantFileName('team-7')).toBe('tenant-team-7.conf');
    // The globs never overlap: `tokens-*` is not matched by `tenant-*` and vice versa.
    expect(tokensFileName('x').startsWith('tenant-')).toBe(false);
    expect(tenantFileName('x').startsWith('tokens-')).toBe(false);
  });

  it('renders one map entry per token, carrying the token for the case-sensitive check', () => {
    const text = renderTokenMapEntries('acme', [TOKEN_A, TOKEN_B]);
    expect(entries(text)).toEqual([`token=${TOKEN_A} acme:${TOKEN_A};`, `token=${TOKEN_B} acme:${TOKEN_B};`]);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toMatch(/^# Bearer tokens of tenant acme/);
  });

  it('renders a tenant with no tokens as an include with no entries', () => {
    expect(entries(renderTokenMapEntries('acme', []))).toEqual([]);
  });

  it('renders the tenant-exists entry, prefixed so that no tenant name is a map keyword', () => {
    expect(entries(renderTenantEntry('acme'))).toEqual(['tenant=acme acme;']);
    expect(entries(renderTenantEntry('default'))).toEqual(['tenant=default default;']);
    expect(entries(renderTenantEntry('include'))).toEqual(['tenant=include include;']);
  });

  it('is deterministic', () => {
    expect(renderTokenMapEntries('acme', [TOKEN_A, TOKEN_B])).toBe(renderTokenMapEntries('acme', [TOKEN_A, TOKEN_B]));
    expect(renderTenantEntry('acme')).toBe(renderTenantEntry('acme'));
  });

  it('refuses tokens that could change the config they are written into, without echoing them', () => {
    const bad = [
      `${TOKEN_A} extra`,
      `${TOKEN_A};`,
      `${TOKEN_A}"`,
      `${TOKEN_A}'`,
      `${TOKEN_A}$host`,
      `${TOKEN_A}{`,
      `${TOKEN_A}\n`,
      `${TOKEN_A}\\`,
      `${TOKEN_A}#`,
      `~${TOKEN_A}`,
      `${TOKEN_A}é`,
      '',
    ];
    for (const token of bad) {
      let message = '';
      expect(() => {
        try {
          renderTokenMapEntries('acme', [TOKEN_B, token]);
        } catch (err) {
          message = (err as Error).message;
          throw err;
        }
      }, JSON.stringify(token)).toThrow(/token #2 of tenant acme/);
      if (token) expect(message).not.toContain(token);
    }
  });

  it('refuses tokens that are too short or too long, and duplicates', () => {
    expect(() => renderTokenMapEntries('acme', ['a'.repeat(MIN_TOKEN_LENGTH - 1)])).toThrow(/shorter than 16/);
    expect(() => renderTokenMapEntries('acme', ['a'.repeat(MIN_TOKEN_LENGTH)])).not.toThrow();
    expect(() => renderTokenMapEntries('acme', ['a'.repeat(MAX_TOKEN_LENGTH + 1)])).toThrow(/longer than 200/);
    expect(() => renderTokenMapEntries('acme', [TOKEN_A, TOKEN_A])).toThrow(/token #2 of tenant acme is listed twice/);
  });

  it('refuses tenant names that are not DNS labels', () => {
    for (const tenant of ['Acme', 'ac_me', '-acme', 'acme-', 'ac.me', '../acme', 'a'.repeat(64), '', 'acme;', 'acme*']) {
      expect(() => renderTenantEntry(tenant), tenant).toThrow(/is not a DNS label/);
      expect(() => renderTokenMapEntries(tenant, [TOKEN_A]), tenant).toThrow(/is not a DNS label/);
      expect(() => tokensFileName(tenant), tenant).toThrow(/is not a DNS label/);
      expect(() => tenantFileName(tenant), tenant).toThrow(/is not a DNS label/);
    }
    expect(() => renderTenantEntry('a'.repeat(63))).not.toThrow();
  });

  it('gives both files as base64 Secret data for the tenant stack', () => {
    const data = renderTenantSecretData('acme', [TOKEN_A]);
    expect(Object.keys(data).sort()).toEqual(['tenant-acme.conf', 'tokens-acme.conf']);
    expect(Buffer.from(data['tokens-acme.conf']!, 'base64').toString()).toBe(renderTokenMapEntries('acme', [TOKEN_A]));
    expect(Buffer.from(data['tenant-acme.conf']!, 'base64').toString()).toBe(renderTenantEntry('acme'));
  });

  it('writes scoped, expiring tokens and tenant ids in the long form, and unscoped ones as before', () => {
    expect(renderTokenMapEntries('acme', [TOKEN_A])).toContain(`acme:${TOKEN_A};`);
    const long = renderTokenMapEntries('acme', [{ value: TOKEN_A, scope: 'write', expiresAt: 1_767_225_600 }, { value: TOKEN_B }], { orgId: 'acme.3' });
    expect(long).toContain(`acme:${TOKEN_A}:write:1767225600:acme.3;`);
    expect(long).toContain(`acme:${TOKEN_B}:all:-:acme.3;`);
    expect(() => renderTokenMapEntries('acme', [TOKEN_A], { orgId: 'beta.2' })).toThrow(/tenant id "beta.2" of tenant acme/);
    expect(() => renderTokenMapEntries('acme', [TOKEN_A], { orgId: 'acme.0' })).toThrow(/tenant id/);
    expect(() => renderTokenMapEntries('acme', [{ value: TOKEN_A, expiresAt: 99 }])).toThrow(/ten-digit Unix time/);
    expect(() => renderTokenMapEntries('acme', [{ value: TOKEN_A, scope: 'root' as never }])).toThrow(/unknown scope/);
  });
});
