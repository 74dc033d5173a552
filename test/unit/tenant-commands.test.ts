/**
 * The tenant and token commands: which stacks a change applies (only the tenant concerned,
 * whatever the number of tenants), the applied config they record, what `list` shows, and
 * their usage errors through the real CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import * as cluster from '../../src/steps/cluster-steps.js';
import { recordedStep } from '../../src/steps/recorded.js';
import type { InstanceContext } from '../../src/steps/context.js';
import { tenantEndpoints } from '../../src/plan/endpoints.js';
import { renderUpgradeDiff, upgradeDiff } from '../../src/commands/upgrade-diff.js';
import { loadBundle } from '../../src/bundle/manifest.js';
import { otherDifferences, recordedOnceApplied, removalWarning, renderTenantListing, tenantChangeSteps, tenantListing, withTenantFrom } from '../../src/commands/tenants.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'lookout-tenant-cmd-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const base = ['aws:', '  region: eu-west-1', '  apiAllowedCidrs: [203.0.113.0/24]', 'dns:', '  domain: obs.example.com', 'tenants:'];
const configWith = (n: number, extra: string[] = []) =>
  parseConfigText([...base, ...Array.from({ length: n }, (_, i) => `  - name: team-${i}`), ...extra].join('\n') + '\n', 'f.yaml', { provider: 'aws', name: 'prod' });

const contextOf = (config: ReturnType<typeof configWith>) => ({ name: 'prod', config }) as unknown as InstanceContext;

describe('what a tenant or token change applies', () => {
  for (const existing of [1, 10, 100]) {
    it(`with ${existing} existing tenants: the platform and the new tenant's stack only; a token: that tenant's stack only`, () => {
      const config = configWith(existing, ['  - name: added']);
      const names = (kind: 'tenant-add' | 'tenant-remove' | 'token', tenant: string) =>
        tenantChangeSteps(contextOf(config), undefined, { kind, tenant } as never, cluster, recordedStep).map((s) => s.name);
      expect(names('tenant-add', 'added')).toEqual(['infra', 'tls', 'platform', 'tenant:added', 'system-alerting']);
      expect(names('tenant-remove', 'gone')).toEqual(['infra', 'tls', 'platform', 'tenant-remove:gone']);
      expect(names('token', 'team-0')).toEqual(['infra', 'tls', 'platform', 'tenant:team-0', 'system-alerting']);
    });
  }

  it('records the applied config once the stacks are applied, before alerting (which needs the gateway) and before data deletion', async () => {
    const config = configWith(2, ['  - name: added']);
    let recorded = 0;
    const withRecord = (kind: 'tenant-add' | 'tenant-remove' | 'token', tenant: string) =>
      recordedOnceApplied(tenantChangeSteps(contextOf(config), undefined, { kind, tenant } as never, cluster, recordedStep), async () => void recorded++);
    expect(withRecord('tenant-add', 'added').map((s) => s.name)).toEqual(['infra', 'tls', 'platform', 'tenant:added', 'record-config', 'system-alerting']);
    expect(withRecord('token', 'team-0').map((s) => s.name)).toEqual(['infra', 'tls', 'platform', 'tenant:team-0', 'record-config', 'system-alerting']);
    const remove = withRecord('tenant-remove', 'gone');
    expect(remove.map((s) => s.name)).toEqual(['infra', 'tls', 'platform', 'tenant-remove:gone', 'record-config']);
    // Re-run on every resume, so a run interrupted after it still leaves the record right.
    expect(remove.at(-1)!.alwaysRun).toBe(true);
    await remove.at(-1)!.run({} as never);
    expect(recorded).toBe(1);
  });

  it('token changes only re-read the platform outputs: the platform stack does not run', async () => {
    const steps = tenantChangeSteps(contextOf(configWith(2)), undefined, { kind: 'token', tenant: 'team-1' }, cluster, recordedStep);
    await expect(steps[2]!.run({} as never)).rejects.toThrow(/no recorded platform outputs/);
  });

  it('records only the change: the recorded config with that one tenant as the file has it', () => {
    const recorded = configWith(3);
    const file = parseConfigText(
      [...base.map((l) => l.replace('203.0.113.0/24', '198.51.100.0/24')), '  - name: team-0', '  - name: team-1', '    tokens: [a, b]', '  - name: team-2'].join('\n') + '\n',
      'f.yaml',
      { provider: 'aws', name: 'prod' },
    );
    const applied = withTenantFrom(recorded, file, 'team-1');
    expect(applied.tenants.map((t) => t.name)).toEqual(['team-0', 'team-1', 'team-2']);
    expect(applied.tenants[1]!.tokens).toEqual(['a', 'b']);
    expect(applied.aws).toEqual(recorded.aws);
    expect(otherDifferences(recorded, file, 'team-1')).toEqual(['aws']);
    expect(withTenantFrom(recorded, configWith(2), 'team-2').tenants.map((t) => t.name)).toEqual(['team-0', 'team-1']);
  });

  it('a later upgrade with a file lacking the change shows it in the preview before undoing it', () => {
    const file = configWith(2);
    const bundle = loadBundle(file.bundle);
    // `tenant add team-9` and `token create team-0 ci --scope write` were applied and recorded...
    let recorded = withTenantFrom(file, configWith(2, ['  - name: team-9']), 'team-9');
    recorded = withTenantFrom(recorded, configWith(0, ['  - name: team-0', '    tokens: [default, { name: ci, scope: write }]']), 'team-0');
    // ...and `upgrade -c` is given the old file.
    const lines = renderUpgradeDiff(upgradeDiff({ config: recorded, bundle }, { config: file, bundle })).join('\n');
    expect(lines).toMatch(/team-9/);
    expect(lines).toMatch(/tenants\[team-0\]\.tokens/);
  });

  it('says what stops working before removing a tenant', () => {
    const config = configWith(0, ['  - name: payments', '    tokens: [prometheus, promtail]']);
    const text = removalWarning('prod', config.tenants[0]!, 'obs.example.com');
    expect(text).toContain('https://payments.obs.example.com/ stops answering');
    expect(text).toContain('2 token(s) stop working at once: prometheus, promtail');
  });
});

describe('tenant and token list', () => {
  const config = configWith(0, ['  - name: payments', '    tokens:', '      - prometheus', '      - { name: ci, scope: write, expiresInDays: 30 }', '      - { name: old, scope: read, expiresInDays: 20 }']);
  const now = new Date('2026-12-05T00:00:00Z');
  const stored = {
    prometheus: { value: 'lk_payments_SECRET1', createdAt: '2026-01-01T00:00:00Z' },
    ci: { value: 'lk_payments_SECRET2', createdAt: '2026-12-01T00:00:00Z' },
    old: { value: 'lk_payments_SECRET3', createdAt: '2026-11-20T00:00:00Z' },
  };

  it('shows scopes, creation and expiry, flags tokens expiring within 14 days, and never the values', () => {
    const listing = tenantListing(config.tenants[0]!, 'obs.example.com', stored, { now, showTokens: false, tenantEndpoints });
    expect(listing.tokens).toEqual([
      { name: 'prometheus', scope: 'all', createdAt: '2026-01-01T00:00:00Z', expiringSoon: false },
      { name: 'ci', scope: 'write', createdAt: '2026-12-01T00:00:00Z', expiresAt: '2026-12-31T00:00:00.000Z', expiringSoon: false },
      { name: 'old', scope: 'read', createdAt: '2026-11-20T00:00:00Z', expiresAt: '2026-12-10T00:00:00.000Z', expiringSoon: true },
    ]);
    const text = renderTenantListing(listing);
    expect(text).toMatch(/old {2}scope read {2}created 2026-11-20 {2}expires 2026-12-10 {2}EXPIRES SOON/);
    expect(text).toContain('payments.obs.example.com');
    expect(text).toContain('retention: metrics 30 days');
    expect(JSON.stringify(listing) + text).not.toMatch(/SECRET/);
    const shown = tenantListing(config.tenants[0]!, 'obs.example.com', stored, { now, showTokens: true, tenantEndpoints });
    expect(renderTenantListing(shown)).toContain('lk_payments_SECRET2');
  });
});

function lookout(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/lookout'), ...args], { env: { ...process.env, LOOKOUT_HOME: home, NO_COLOR: '1' } }, (err, _stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe('tenant and token commands: usage errors exit 2, before any state is read', () => {
  it('needs -c for the commands that edit the file', async () => {
    for (const args of [['tenant', 'add', 'prod', 'x'], ['token', 'create', 'prod', 'x', 'ci'], ['token', 'revoke', 'prod', 'x', 'ci'], ['tenant', 'remove', 'prod', 'x', '--yes']]) {
      const r = await lookout(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain("required option '-c, --config <file>'");
      expect(r.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('names an instance that does not exist', async () => {
    const r = await lookout(['token', 'list', 'nowhere', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nowhere/);
  });
});
