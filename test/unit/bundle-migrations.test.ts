/**
 * The loki-ruler-storage migration's logic against a fake Loki ruler API, the order of the
 * upgrade's steps around it, and the refusals that happen before anything changes.
 */
import http from 'node:http';
import YAML from 'yaml';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProbeClient } from '../../src/verify/client.js';
import { loadBundle, type BundleManifest } from '../../src/bundle/manifest.js';
import { bundlePath, plannedMigrations, renderMigrations } from '../../src/bundle/migrations.js';
import { parseRuleListing, recordRuleGroups, restoreMissingGroups, rulesApiOver, type LokiRulesApi, type RuleGroup, type TenantRules } from '../../src/bundle/loki-ruler-storage.js';
import { upgradeClusterSteps } from '../../src/commands/upgrade.js';
import type { Step } from '../../src/engine/index.js';

/** A Loki ruler per tenant; `lose` drops groups as a store that cannot read them would. */
function fakeLoki(initial: Record<string, TenantRules>) {
  const rules = structuredClone(initial);
  const writes: string[] = [];
  let lost = new Set<string>();
  const api: LokiRulesApi = {
    async list(tenant) {
      const all = rules[tenant] ?? {};
      return Object.fromEntries(Object.entries(all).map(([ns, gs]) => [ns, gs.filter((g) => !lost.has(`${tenant}/${ns}/${g.name}`))]));
    },
    async write(tenant, namespace, group) {
      writes.push(`${tenant}/${namespace}/${group.name}`);
      lost.delete(`${tenant}/${namespace}/${group.name}`);
    },
  };
  return { api, writes, lose: (keys: string[]) => (lost = new Set(keys)) };
}

const group = (name: string): RuleGroup => ({ name, rules: [{ alert: `${name}-alert`, expr: 'sum(rate({app="x"}[5m])) > 1' }] });

describe('loki-ruler-storage', () => {
  const initial = { system: { platform: [group('loki-errors')] }, team: { app: [group('a'), group('b')], other: [group('c')] }, empty: {} };

  it('records every tenant’s groups, and the check passes without writing when all are listed again', async () => {
    const loki = fakeLoki(initial);
    const inventory = await recordRuleGroups(loki.api, ['system', 'team', 'empty']);
    expect(inventory).toEqual(initial);
    expect(await restoreMissingGroups(loki.api, inventory)).toEqual({ checked: 4, restored: [] });
    expect(loki.writes).toEqual([]);
  });

  it('writes back exactly the groups the new store does not list', async () => {
    const loki = fakeLoki(initial);
    const inventory = await recordRuleGroups(loki.api, ['system', 'team']);
    loki.lose(['team/app/b', 'team/other/c']);
    expect(await restoreMissingGroups(loki.api, inventory)).toEqual({ checked: 4, restored: ['team/app/b', 'team/other/c'] });
    expect(loki.writes).toEqual(['team/app/b', 'team/other/c']);
  });

  it('fails when a group written back is still not listed', async () => {
    const loki = fakeLoki(initial);
    const inventory = await recordRuleGroups(loki.api, ['team']);
    const stubborn: LokiRulesApi = { list: loki.api.list, write: async () => {} };
    loki.lose(['team/app/a']);
    await expect(restoreMissingGroups(stubborn, inventory)).rejects.toThrow(/does not list 1 rule group\(s\) of tenant team/);
  });

  it('reads Loki’s listing: YAML by namespace, 404 "no rule groups found" as none, other answers as not yet', () => {
    expect(parseRuleListing(200, 'app:\n  - name: a\n    rules: []\n')).toEqual({ app: [{ name: 'a', rules: [] }] });
    expect(parseRuleListing(404, 'no rule groups found\n')).toEqual({});
    expect(parseRuleListing(503, 'unavailable')).toBeUndefined();
    expect(parseRuleListing(404, 'page not found')).toBeUndefined();
  });
});

describe('Loki’s ruler API through the gateway (a loopback stand-in for Loki)', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  /** Answers 503 `unavailableFor` times (a rolling backend), then lists what it holds per X-Scope-OrgID from the token. */
  async function standIn(unavailableFor: number, deadlineMs = 5_000) {
    const held: Record<string, TenantRules> = { team: { app: [group('a')] } };
    const seen: string[] = [];
    let unavailable = unavailableFor;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const tenant = /^Bearer (\w+)-token$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        seen.push(`${req.method} ${req.headers.host} ${req.url} ${req.headers['content-type'] ?? ''}`.trim());
        if (unavailable-- > 0) return res.writeHead(503).end('backend rolling');
        if (req.method === 'GET') {
          const rules = held[tenant];
          if (!rules || Object.keys(rules).length === 0) return res.writeHead(404).end('no rule groups found\n');
          return res.writeHead(200, { 'content-type': 'application/yaml' }).end(YAML.stringify(rules));
        }
        const namespace = decodeURIComponent(req.url!.split('/').at(-1)!);
        const g = YAML.parse(body) as RuleGroup;
        ((held[tenant] ??= {})[namespace] ??= []).push(g);
        res.writeHead(202).end();
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const client = new ProbeClient({ address: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'http' });
    const waits: string[] = [];
    const api = await rulesApiOver(client, {
      host: (t) => `${t}.obs.example.com`,
      token: async (t) => `${t}-token`,
      signal: new AbortController().signal,
      onWaiting: (m) => waits.push(m),
      timing: { intervalMs: 10, deadlineMs },
    });
    return { api, held, seen, waits, close: () => client.close() };
  }

  it('waits while the ruler answers 503, reads YAML and 404 as none, and writes a group back as YAML', async () => {
    const loki = await standIn(2);
    try {
      expect(await loki.api.list('team')).toEqual({ app: [group('a')] });
      expect(loki.waits).toEqual(["waiting for Loki's ruler (team: HTTP 503)", "waiting for Loki's ruler (team: HTTP 503)"]);
      expect(await loki.api.list('empty')).toEqual({});
      await loki.api.write('empty', 'alerts/ns', group('x'));
      expect(loki.held.empty).toEqual({ 'alerts/ns': [group('x')] });
      expect(loki.seen.at(-1)).toBe('POST empty.obs.example.com /loki/api/v1/rules/alerts%2Fns application/yaml');
      expect(loki.seen[0]).toBe('GET team.obs.example.com /loki/api/v1/rules');
    } finally {
      loki.close();
    }
  });

  it('gives up with the last answer when the ruler stays unavailable', async () => {
    const loki = await standIn(Number.MAX_SAFE_INTEGER, 1_000);
    try {
      await expect(loki.api.list('team')).rejects.toThrow(/did not answer for tenant team within 1 s \(last: HTTP 503\)/);
    } finally {
      loki.close();
    }
  });
});

describe('the upgrade’s order', () => {
  const step = (name: string): Step => ({ name, title: name, run: async () => ({}) });

  it('records before the platform changes, checks after every stack is applied, and verifies last', () => {
    const cluster = ['platform', 'tenant:system', 'tenant:a', 'alerting', 'verify'].map(step);
    const order = upgradeClusterSteps(cluster, { before: [step('migrate:x:record')], after: [step('migrate:x:check')] }).map((s) => s.name);
    expect(order).toEqual(['migrate:x:record', 'platform', 'tenant:system', 'tenant:a', 'alerting', 'migrate:x:check', 'verify']);
    // Without a verify step, the checks still come after every stack.
    const noVerify = upgradeClusterSteps(cluster.slice(0, -1), { before: [], after: [step('migrate:x:check')] }).map((s) => s.name);
    expect(noVerify).toEqual(['platform', 'tenant:system', 'tenant:a', 'alerting', 'migrate:x:check']);
  });

  it('shows each migration with its bundle and description before asking', () => {
    const lines = renderMigrations(plannedMigrations('2026.11.0', '2026.12.0'));
    expect(lines[0]).toBe('Migrations:');
    expect(lines[1]).toMatch(/^ {2}loki-ruler-storage \(bundle 2026\.12\.0, required\): Loki keeps its rule groups in `ruler_storage`/);
  });
});

describe('refusals before anything changes', () => {
  const b11 = loadBundle('2026.11.0');
  const b12 = loadBundle('2026.12.0');

  it('a path through a bundle this lookout does not ship: its migrations cannot be skipped', () => {
    const chain: Record<string, BundleManifest> = {
      '2026.12.0': b12,
      '2027.2.0': { ...b12, version: '2027.2.0', previous: '2027.1.0', migrations: [] },
    };
    const load = (v: string) => chain[v] ?? loadBundle(v);
    expect(() => bundlePath('2026.11.0', '2027.2.0', load)).toThrow(/bundle 2027\.1\.0 in between is not shipped by this lookout, so its migrations cannot run and may not be skipped/);
  });

  it('an unknown bundle, naming the shipped ones', () => {
    expect(() => plannedMigrations('2026.11.0', '2099.1.0')).toThrow(/bundle 2099\.1\.0 is not known to this lookout \(it ships 2026\.11\.0, 2026\.12\.0\)/);
    expect(b11.previous).toBeNull();
  });
});
