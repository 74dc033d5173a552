/**
 * Tenants' credentials are generated once by the CLI and kept in the encrypted secret store:
 * a repeated run changes nothing, a dropped token name is gone for good, a removed tenant's
 * tokens can never come back, and an older stack's values are adopted instead of replaced.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTenantToken } from '@lookout/tenant';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import {
  deleteTenantCredentials,
  ensureTenantCredentials,
  readStoredTokens,
  readTenantCredentials,
} from '../../src/tenants/credentials.js';

const dirs: string[] = [];
function secretStore() {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-credentials-'));
  dirs.push(dir);
  return { dir, open: () => new SecretStore(fileStore(dir), 'prod', 'a passphrase for tests') };
}
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function allFileText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
    .join('\n');
}

describe('tenant credentials', () => {
  it('generates one token per name and Grafana’s credentials, once, and keeps them encrypted', async () => {
    const { dir, open } = secretStore();
    const first = await ensureTenantCredentials(open(), 'acme', ['default', 'ci']);
    expect(Object.keys(first.tokens).sort()).toEqual(['ci', 'default']);
    for (const token of Object.values(first.tokens)) expect(isTenantToken('acme', token)).toBe(true);
    expect(isTenantToken('acme', first.grafana.datasourceToken)).toBe(true);
    expect(first.grafana.adminPassword).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set([...Object.values(first.tokens), first.grafana.datasourceToken]).size).toBe(3);

    // Another command (a fresh store object) gets exactly the same values.
    const again = await ensureTenantCredentials(open(), 'acme', ['default', 'ci']);
    expect(again).toEqual(first);
    const text = allFileText(dir);
    for (const secret of [...Object.values(first.tokens), first.grafana.adminPassword]) expect(text).not.toContain(secret);
  });

  it('adds a token without touching the others, and drops a removed name for good', async () => {
    const { open } = secretStore();
    const before = await ensureTenantCredentials(open(), 'acme', ['default', 'ci']);
    const added = await ensureTenantCredentials(open(), 'acme', ['default', 'ci', 'ops']);
    expect(added.tokens.default).toBe(before.tokens.default);
    expect(added.tokens.ci).toBe(before.tokens.ci);
    expect(added.grafana).toEqual(before.grafana);
    const revoked = await ensureTenantCredentials(open(), 'acme', ['default', 'ops']);
    expect(Object.keys(revoked.tokens).sort()).toEqual(['default', 'ops']);
    // Re-adding the name makes a new token: the revoked one never comes back.
    const readded = await ensureTenantCredentials(open(), 'acme', ['default', 'ops', 'ci']);
    expect(readded.tokens.ci).not.toBe(before.tokens.ci);
    expect(Object.keys((await readStoredTokens(open(), 'acme'))!).sort()).toEqual(['ci', 'default', 'ops']);
  });

  it('records when each token was made', async () => {
    const { open } = secretStore();
    await ensureTenantCredentials(open(), 'acme', ['default'], { now: () => new Date('2026-12-01T10:00:00Z') });
    await ensureTenantCredentials(open(), 'acme', ['default', 'ci'], { now: () => new Date('2026-12-03T10:00:00Z') });
    const stored = (await readStoredTokens(open(), 'acme'))!;
    expect(stored.default!.createdAt).toBe('2026-12-01T10:00:00.000Z');
    expect(stored.ci!.createdAt).toBe('2026-12-03T10:00:00.000Z');
  });

  it('forgets a removed tenant entirely: the same name later gets new credentials', async () => {
    const { open } = secretStore();
    const old = await ensureTenantCredentials(open(), 'acme', ['default']);
    await deleteTenantCredentials(open(), 'acme');
    expect(await readTenantCredentials(open(), 'acme')).toBeUndefined();
    const fresh = await ensureTenantCredentials(open(), 'acme', ['default']);
    expect(fresh.tokens.default).not.toBe(old.tokens.default);
    expect(fresh.grafana.adminPassword).not.toBe(old.grafana.adminPassword);
  });

  it('adopts the tokens and admin password an older tenant stack generated, and only once', async () => {
    const { open } = secretStore();
    const oldToken = `lk_acme_${'A'.repeat(48)}`;
    let asked = 0;
    const adopt = async () => {
      asked++;
      return { tokens: { default: oldToken }, grafanaAdminPassword: 'B'.repeat(32) };
    };
    const adopted = await ensureTenantCredentials(open(), 'acme', ['default', 'ci'], { adopt });
    expect(adopted.tokens.default).toBe(oldToken);
    expect(isTenantToken('acme', adopted.tokens.ci!)).toBe(true);
    expect(adopted.grafana.adminPassword).toBe('B'.repeat(32));
    await ensureTenantCredentials(open(), 'acme', ['default', 'ci'], { adopt });
    expect(asked).toBe(1);
  });

  it('keeps tenants apart', async () => {
    const { open } = secretStore();
    const a = await ensureTenantCredentials(open(), 'acme', ['default']);
    const b = await ensureTenantCredentials(open(), 'beta', ['default']);
    expect(a.tokens.default).not.toBe(b.tokens.default);
    expect(isTenantToken('beta', b.tokens.default!)).toBe(true);
  });
});
