/**
 * The data plane for real, on 127.0.0.1: Cortex (the bundle's release, built from its pinned
 * module) in the microservices layout with memberlist rings, versitygw as S3, and the real nginx
 * gateway, all started from `lookout plan --render` of examples/aws.yaml (system + two tenants),
 * changed only by test/support/dataplane/rewrite.ts. One data plane for the whole file; the
 * tests run in order and the last ones break it on purpose.
 *
 * Loki is AGPL and is not built here, so the verify probe runs its metrics checks
 * (`stores: 'metrics'`); see test/README.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { renderAlertmanagerConfig, renderAlertRules } from '@lookout/self-monitoring';
import { FailureError } from '../../src/errors.js';
import { uploadSystemAlerting } from '../../src/steps/cluster-steps.js';
import { remoteWriteBody, type SeriesInput } from '../../src/verify/remote-write.js';
import { verifyAll, verifyCheckCount, type VerifyOptions } from '../../src/verify/probe.js';
import type { ProbeResponse } from '../../src/verify/client.js';
import { cortexForBundle } from '../support/dataplane/cortex-binary.js';
import { startDataPlane, localStatus, type DataPlane, type DataPlaneTenant } from '../support/dataplane/plane.js';
import { renderPlan } from '../support/dataplane/rendered.js';
import { findExecutable, waitFor } from '../support/processes.js';
import { suiteTitle } from '../support/test-binaries.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(root, 'examples/aws.yaml');
const exampleConfig = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as {
  name: string;
  bundle: string;
  dns: { domain: string };
  system: { retention: { metricsDays: number } };
  tenants: Array<{ name: string; retention: { metricsDays: number }; limits: { samplesPerSecond: number; activeSeries: number; burstSamples?: number } }>;
};
const TARGETS = ['distributor', 'ingester', 'querier', 'query-frontend', 'store-gateway', 'compactor', 'ruler', 'alertmanager', 'overrides-exporter'];

const cortexBuild = cortexForBundle(exampleConfig.bundle, { withStore: true, allowOverride: true });
const NGINX = findExecutable('nginx');
const binaries = NGINX ? cortexBuild.binaries : { ...cortexBuild.binaries, missing: `${cortexBuild.binaries.missing ?? ''}${cortexBuild.binaries.missing ? '; ' : ''}nginx not installed (apt-get install nginx-light)` };
const title = suiteTitle(
  `the data plane on loopback: Cortex ${cortexBuild.version} (${cortexBuild.override ? `LOOKOUT_TEST_CORTEX, instead of the one for bundle ${exampleConfig.bundle}'s ${cortexBuild.imageTag}` : `for bundle ${exampleConfig.bundle}'s ${cortexBuild.imageTag}`}), versitygw and the nginx gateway from the rendered examples/aws.yaml`,
  { paths: binaries.paths, ...(binaries.missing ? { missing: binaries.missing } : {}) },
);

describe.skipIf(binaries.missing !== undefined)(title, () => {
  let work: string;
  let plane: DataPlane;
  const tenant = (name: string): DataPlaneTenant => plane.tenants.find((t) => t.tenant === name)!;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lookout-dataplane-'));
    // Started as root, nginx runs its workers as `nobody`, who must pass through to its temp directory.
    if (process.getuid?.() === 0) chmodSync(work, 0o711);
    const renderDir = join(work, 'render');
    await renderPlan({ provider: 'aws', instance: exampleConfig.name, configFile: EXAMPLE, dir: renderDir });
    plane = await startDataPlane({ renderDir, cortex: binaries.paths.cortex!, nginx: NGINX!, workDir: join(work, 'run'), domain: exampleConfig.dns.domain });
    console.log(`data plane ready in ${(plane.startupMs / 1000).toFixed(1)} s (${plane.cortex.length} Cortex processes)`);
  }, 360_000);

  afterAll(async () => {
    await plane?.shutdown();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  /** One request through the gateway's public listener, as a tenant. */
  async function viaGateway(as: DataPlaneTenant, method: 'GET' | 'POST' | 'DELETE', path: string, body?: Uint8Array | string, headers?: Record<string, string>): Promise<ProbeResponse> {
    const client = plane.client();
    try {
      return await client.request({ method, host: as.host, path, token: as.token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}), timeoutMs: 30_000 });
    } finally {
      client.close();
    }
  }

  function push(as: DataPlaneTenant, series: SeriesInput[]): Promise<ProbeResponse> {
    const { body, headers } = remoteWriteBody(series);
    return viaGateway(as, 'POST', '/api/v1/push', body, headers);
  }

  async function instantQuery(as: DataPlaneTenant, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const res = await viaGateway(as, 'GET', `/prometheus/api/v1/query?${new URLSearchParams({ query })}`);
    if (res.status !== 200) throw new Error(`query ${query} as ${as.tenant} → ${res.status}: ${res.body.toString().slice(0, 300)}`);
    return (JSON.parse(res.body.toString()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
  }

  async function runtimeOverrides(target: string): Promise<Record<string, Record<string, unknown>>> {
    const res = await fetch(`${plane.url(target)}/runtime_config`);
    return ((YAML.parse(await res.text()) as { overrides?: Record<string, Record<string, unknown>> }).overrides ?? {});
  }

  /** Every key in the blocks bucket. */
  async function blockKeys(): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await plane.s3.client.send(new ListObjectsV2Command({ Bucket: plane.buckets.blocks, ContinuationToken: token }));
      out.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return out;
  }

  /**
   * One scrape of a process's /metrics: the sum of a metric's samples whose labels include
   * `labels` (0 when none). Cortex names its per-tenant series with `user`.
   */
  async function scrape(p: { httpPort: number }): Promise<(name: string, labels?: Record<string, string>) => number> {
    const text = await (await fetch(`http://127.0.0.1:${p.httpPort}/metrics`)).text();
    const samples = [...text.matchAll(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/gm)].map((m) => ({
      name: m[1]!,
      labels: Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!])),
      value: Number(m[3]),
    }));
    return (name, labels = {}) =>
      samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)).reduce((sum, x) => sum + x.value, 0);
  }

  /** Cortex's cortex_alertmanager_config_hash of a raw config: the first 48 bits of its MD5, little-endian. */
  function configHashMetric(raw: string): number {
    return Number(Buffer.concat([createHash('md5').update(raw).digest().subarray(0, 6), Buffer.alloc(2)]).readBigUInt64LE());
  }

  /** The samples of the burst test's accepted push: in blocks once the ingesters have flushed. */
  const burstWritten = { run: '', atMs: 0, samples: 0 };

  const pids = () => plane.cortex.map((p) => `${p.instanceId}:${p.running?.child.pid}`).sort();

  const timing: VerifyOptions['timing'] = { requestTimeoutMs: 15_000, writeRetries: 3, retryDelayMs: 500, readDeadlineMs: 60_000, pollIntervalMs: 500 };

  it('runs every Cortex target from the rendered config, ingesters at their rendered replica count, all ready', async () => {
    expect([...new Set(plane.cortex.map((p) => p.target))].sort()).toEqual([...TARGETS].sort());
    const rendered = plane.rendered.cortexWorkloads.find((w) => w.target === 'ingester')!.replicas;
    expect(plane.processes('ingester')).toHaveLength(rendered);
    for (const p of plane.cortex) expect(await localStatus(p.httpPort, '/ready'), p.instanceId).toBe(200);
    // The ingesters found each other over memberlist: the distributor's ring holds all of them, ACTIVE.
    const ring = await (await fetch(`${plane.url('distributor')}/ingester/ring`, { headers: { Accept: 'application/json' } })).json() as { shards: Array<{ id: string; state: string }> };
    expect(ring.shards.filter((s) => s.state === 'ACTIVE').map((s) => s.id).sort()).toEqual(plane.processes('ingester').map((p) => p.instanceId).sort());
  });

  it('passes Lookout’s verify probe through the gateway for every tenant: remote write, PromQL, 403 on another tenant’s host, 401 without a token', async () => {
    const targets = plane.tenants.map((t) => ({ tenant: t.tenant, host: t.host, token: t.token }));
    expect(targets.map((t) => t.tenant)).toEqual(['production', 'staging', 'system']);
    const results = await verifyAll(targets, {
      runId: `dp-${randomBytes(4).toString('hex')}`,
      connection: { address: '127.0.0.1', port: plane.gateway.port, ca: plane.gateway.ca },
      timing,
      stores: 'metrics',
    });
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(verifyCheckCount(targets.length, { stores: 'metrics' }));
    for (const t of targets) {
      const of = (api: string) => results.find((r) => r.tenant === t.tenant && r.api === api)!;
      expect(of('promql').detail).toMatch(/→ 200, value .* read back$/);
      expect(of('cross-tenant').detail).toMatch(/refused this tenant's token with 403$/);
      expect(of('no-token').detail).toMatch(/answered 401 without a token and with an unknown one$/);
      expect(of('data-isolation').detail).toBe("the PromQL answers held only this tenant's probe data");
    }
  });

  it('each tenant’s retention is in Cortex’s runtime config at the value in the config file', async () => {
    const days = (d: unknown) => {
      let total = 0;
      for (const [, n, unit] of String(d).matchAll(/(\d+)(y|w|d|h|ms|m|s)/g)) total += Number(n) * ({ y: 365, w: 7, d: 1, h: 1 / 24, m: 1 / 1440, s: 1 / 86400, ms: 0 }[unit!] ?? 0);
      return total;
    };
    const overrides = await runtimeOverrides('compactor');
    const expected = { system: exampleConfig.system.retention.metricsDays, ...Object.fromEntries(exampleConfig.tenants.map((t) => [t.name, t.retention.metricsDays])) };
    expect(Object.fromEntries(Object.entries(overrides).map(([t, o]) => [t, days(o.compactor_blocks_retention_period)]))).toEqual(expected);
  });

  it('a push above the tenant’s ingestion burst gets 429 from Cortex, through the gateway', async () => {
    const staging = exampleConfig.tenants.find((t) => t.name === 'staging')!;
    const burst = staging.limits.burstSamples ?? 2 * staging.limits.samplesPerSecond;
    const now = Date.now();
    const samples = Array.from({ length: burst + 1 }, (_, i) => ({ value: i, timestampMs: now - (burst - i) }));
    const res = await push(tenant('staging'), [{ labels: { __name__: 'lookout_test_burst', run: randomBytes(4).toString('hex') }, samples }]);
    expect(res.status, res.body.toString()).toBe(429);
    expect(res.body.toString()).toMatch(/ingestion rate limit \(\d+\) exceeded while adding \d+ samples/);
    // The production tenant, with a higher limit, takes the same push.
    const run = randomBytes(4).toString('hex');
    expect((await push(tenant('production'), [{ labels: { __name__: 'lookout_test_burst', run }, samples }])).status).toBe(200);
    Object.assign(burstWritten, { run, atMs: now, samples: samples.length });
  });

  it('a changed series limit reaches Cortex through the runtime config, without a restart, and is enforced', async () => {
    const before = pids();
    const renderDir = join(work, 'render-lowered');
    const doc = YAML.parseDocument(readFileSync(EXAMPLE, 'utf8'));
    const stagingIndex = exampleConfig.tenants.findIndex((t) => t.name === 'staging');
    const LIMIT = 5;
    doc.setIn(['tenants', stagingIndex, 'limits', 'activeSeries'], LIMIT);
    const configFile = join(work, 'lowered.yaml');
    writeFileSync(configFile, doc.toString());
    await renderPlan({ provider: 'aws', instance: exampleConfig.name, configFile, dir: renderDir });
    const lowered = readFileSync(join(renderDir, `${exampleConfig.name}-platform/files/lookout/cortex-runtime/runtime.yaml`), 'utf8');
    // The runtime ConfigMap changes in exactly that one value.
    const original = YAML.parse(plane.rendered.runtimeConfig) as { overrides: Record<string, Record<string, unknown>> };
    const changed = YAML.parse(lowered) as typeof original;
    expect(changed).toEqual({ overrides: { ...original.overrides, staging: { ...original.overrides.staging, max_global_series_per_user: LIMIT } } });

    plane.writeRuntimeConfig(lowered);
    for (const target of ['distributor', 'ingester']) {
      await waitFor(async () => (await runtimeOverrides(target)).staging?.max_global_series_per_user === LIMIT, { interval: 500, timeout: 60_000 });
    }
    const fresh = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'lookout_test_series', tag, i: String(i) }, samples: [{ value: i, timestampMs: Date.now() }] }));
    const rejected = await push(tenant('staging'), fresh(2 * LIMIT, 'lowered'));
    expect(rejected.status, rejected.body.toString()).toBe(400);
    expect(rejected.body.toString()).toMatch(/per-user series limit of \d+ exceeded/);

    // Raised back to the config's value: the same push goes through.
    plane.writeRuntimeConfig(plane.rendered.runtimeConfig);
    const configured = exampleConfig.tenants[stagingIndex]!.limits.activeSeries;
    for (const target of ['distributor', 'ingester']) {
      await waitFor(async () => (await runtimeOverrides(target)).staging?.max_global_series_per_user === configured, { interval: 500, timeout: 60_000 });
    }
    const accepted = await push(tenant('staging'), fresh(2 * LIMIT, 'raised'));
    expect(accepted.status, accepted.body.toString()).toBe(200);
    expect(pids()).toEqual(before);
  }, 180_000);

  describe('rules and alerting', () => {
    let hook: Server;
    let hookCalls = 0;
    beforeAll(async () => {
      hook = createServer((req, res) => {
        hookCalls++;
        req.resume();
        res.end();
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => hook.close(() => resolve())));

    it('the system alerting upload reaches the real ruler and the multi-tenant Alertmanager', async () => {
      const system = tenant('system');
      const client = plane.client();
      let groups: string[];
      try {
        groups = await uploadSystemAlerting({ client, host: system.host, token: system.token, rules: renderAlertRules(), alertmanagerConfig: renderAlertmanagerConfig(), retry: { retries: 5, minTimeout: 500, maxTimeout: 2_000 } });
      } finally {
        client.close();
      }
      expect(groups.length).toBeGreaterThan(0);
      const stored = YAML.parse((await viaGateway(system, 'GET', '/api/v1/rules/lookout')).body.toString()) as Record<string, Array<{ name: string }>>;
      expect(stored.lookout!.map((g) => g.name).sort()).toEqual(groups);
      const am = await viaGateway(system, 'GET', '/api/v1/alerts');
      expect(am.status).toBe(200);
      expect((YAML.parse(am.body.toString()) as { alertmanager_config: string }).alertmanager_config).toBe(renderAlertmanagerConfig());
      // Stored, and running: the Alertmanager loads it at its next poll, unless an alert for the
      // tenant came first and replaced it with the fallback (see the tenant rule below).
      const [alertmanager] = plane.processes('alertmanager');
      await waitFor(async () => (await scrape(alertmanager!))('cortex_alertmanager_config_hash', { user: 'system' }) === configHashMetric(renderAlertmanagerConfig()), { interval: 1_000, timeout: 90_000 });
      // The ruler loads the groups from the bucket and evaluates them.
      await waitFor(
        async () => {
          const res = await viaGateway(system, 'GET', '/prometheus/api/v1/rules');
          const loaded = (JSON.parse(res.body.toString()) as { data?: { groups: Array<{ name: string }> } }).data?.groups.map((g) => g.name) ?? [];
          return groups.every((g) => loaded.includes(g));
        },
        { interval: 2_000, timeout: 150_000 },
      );
    }, 240_000);

    it('a tenant rule fires into that tenant’s Alertmanager only', async () => {
      const staging = tenant('staging');
      const alertname = `LookoutTest${randomBytes(3).toString('hex')}`;
      const amConfig = YAML.stringify({
        route: { receiver: 'internal', group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
        receivers: [{ name: 'internal', webhook_configs: [{ url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, send_resolved: false }] }],
      });
      expect((await viaGateway(staging, 'POST', '/api/v1/alerts', YAML.stringify({ alertmanager_config: amConfig, template_files: {} }), { 'Content-Type': 'application/yaml' })).status).toBe(201);
      // Cortex's Alertmanager loads a stored config at its next poll (15 s). A request for the tenant
      // before then (the ruler's first alert, a read of its alerts) starts it from the fallback config
      // and stores an empty config over the uploaded one (multitenant.go, alertmanagerFromFallbackConfig):
      // so the rule goes in once the Alertmanager runs the uploaded config, as its config hash shows.
      const [am] = plane.processes('alertmanager');
      await waitFor(async () => (await scrape(am!))('cortex_alertmanager_config_hash', { user: 'staging' }) === configHashMetric(amConfig), { interval: 1_000, timeout: 90_000 });
      const group = YAML.stringify({ name: 'lookout-test', interval: '5s', rules: [{ alert: alertname, expr: 'vector(1)', labels: { severity: 'test' } }] });
      expect((await viaGateway(staging, 'POST', '/api/v1/rules/test', group, { 'Content-Type': 'application/yaml' })).status).toBe(202);

      const alertsOf = async (t: DataPlaneTenant) => {
        const res = await viaGateway(t, 'GET', '/alertmanager/api/v2/alerts');
        return res.status === 200 ? (JSON.parse(res.body.toString()) as Array<{ labels: Record<string, string> }>).map((a) => a.labels.alertname) : [];
      };
      await waitFor(async () => (await alertsOf(staging)).includes(alertname), { interval: 2_000, timeout: 180_000 });
      for (const other of ['production', 'system']) expect(await alertsOf(tenant(other)), other).not.toContain(alertname);
    }, 360_000);

    it('the webhook to an internal address is never delivered: the receivers firewall refuses every attempt', async () => {
      // The alert of the test before reaches the notify stage: the webhook is attempted …
      const [am] = plane.processes('alertmanager');
      const webhook = { user: 'staging', integration: 'webhook' };
      await waitFor(async () => (await scrape(am!))('cortex_alertmanager_notification_requests_total', webhook) > 0, { interval: 1_000, timeout: 90_000 });
      // … and given up once its retries time out (Alertmanager's 10 s minimum), each attempt failed.
      await waitFor(async () => (await scrape(am!))('cortex_alertmanager_notifications_failed_total', webhook) > 0, { interval: 1_000, timeout: 90_000 });
      const metric = await scrape(am!);
      expect(metric('cortex_alertmanager_notification_requests_failed_total', webhook)).toBe(metric('cortex_alertmanager_notification_requests_total', webhook));
      // Refused by Cortex's firewall dialer before connecting (pkg/util/net/firewall_dialer.go).
      const port = (hook.address() as AddressInfo).port;
      expect(am!.running!.output()).toMatch(new RegExp(`dial tcp 127\\.0\\.0\\.1:${port}: blocked address`));
      expect(hookCalls).toBe(0);
      // The listener itself answers: nothing reached it only because nothing was let through.
      expect((await fetch(`http://127.0.0.1:${port}/hook`, { method: 'POST', body: '{}' })).status).toBe(200);
      expect(hookCalls).toBe(1);
    }, 240_000);
  });

  it('ingesters ship blocks to S3 under each tenant’s own prefix', async () => {
    for (const p of plane.processes('ingester')) expect(await localStatus(p.httpPort, '/ingester/flush'), p.instanceId).toBeLessThan(300);
    const tenants = plane.tenants.map((t) => t.tenant);
    const metaOf = (all: string[], t: string) => all.filter((k) => new RegExp(`^${t}/[0-9A-Z]{26}/meta\\.json$`).test(k));
    await waitFor(async () => {
      const all = await blockKeys();
      return tenants.every((t) => metaOf(all, t).length > 0);
    }, { interval: 1_000, timeout: 120_000 });
    const all = await blockKeys();
    // Every object is under a tenant's prefix: nothing of one tenant is stored beside another's.
    expect(all.filter((k) => !tenants.includes(k.split('/')[0]!))).toEqual([]);
    const meta = JSON.parse(readFileSync(join(plane.s3.dataDir, plane.buckets.blocks, metaOf(all, 'staging')[0]!), 'utf8')) as { thanos: { labels: Record<string, string> } };
    expect(meta.thanos.labels).toMatchObject({ __org_id__: 'staging' });
  });

  it('samples written before every ingester is killed with SIGKILL are queryable after they restart (the WAL)', async () => {
    const production = tenant('production');
    const nonce = randomBytes(6).toString('hex');
    const value = Math.floor(Math.random() * 1e9);
    expect((await push(production, [{ labels: { __name__: 'lookout_test_wal', nonce }, samples: [{ value, timestampMs: Date.now() }] }])).status).toBe(200);
    const read = async () => (await instantQuery(production, `lookout_test_wal{nonce="${nonce}"}`)).map((r) => Number(r.value[1]));
    // Queryable before the crash.
    await waitFor(async () => (await read()).includes(value), { interval: 500, timeout: 30_000 });

    const ingesters = plane.processes('ingester');
    await Promise.all(ingesters.map((p) => plane.stop(p, 'kill')));
    await Promise.all(ingesters.map((p) => plane.start(p)));
    await waitFor(async () => {
      try {
        return (await read()).includes(value);
      } catch {
        return false;
      }
    }, { interval: 1_000, timeout: 90_000 });
    expect(await read()).toEqual([value]);
  }, 240_000);

  it('with the ingesters stopped, verify fails naming each tenant, the API and what came back', async () => {
    await Promise.all(plane.processes('ingester').map((p) => plane.stop(p, 'graceful')));
    const err = await verifyAll(
      plane.tenants.map((t) => ({ tenant: t.tenant, host: t.host, token: t.token })),
      { runId: `dp-broken-${randomBytes(3).toString('hex')}`, connection: { address: '127.0.0.1', port: plane.gateway.port, ca: plane.gateway.ca }, timing: { ...timing, writeRetries: 1, readDeadlineMs: 5_000 }, stores: 'metrics' },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FailureError);
    const message = (err as FailureError).message;
    for (const t of plane.tenants) {
      expect(message).toMatch(new RegExp(`tenant ${t.tenant}, remote-write: FAILED — POST https://${t.host.replace(/\./g, '\\.')}/api/v1/push → 5\\d\\d \\(expected 2xx\\): \\S`));
    }
    // The gateway's own checks do not depend on the store and still pass.
    expect(message).not.toMatch(/cross-tenant: FAILED|no-token: FAILED/);
  }, 120_000);

  it('when the ingesters come back with empty volumes, the flushed samples are read from S3 through the store-gateway', async () => {
    expect(burstWritten.samples).toBeGreaterThan(0);
    // Stopped by the test before; now as if their volumes were lost: no WAL, no local blocks.
    const ingesters = plane.processes('ingester');
    for (const p of ingesters) plane.replaceVolume(p);
    await Promise.all(ingesters.map((p) => plane.start(p)));

    // The compactor writes the bucket index, the store-gateway loads the blocks it lists, and the
    // querier re-reads it (each on the sync intervals of rewrite.ts's SHORTENED_INTERVALS).
    const query = `count_over_time(lookout_test_burst{run="${burstWritten.run}"}[5m])`;
    const path = `/prometheus/api/v1/query?${new URLSearchParams({ query, time: (burstWritten.atMs / 1000 + 1).toFixed(3) })}`;
    let last = '';
    await waitFor(
      async () => {
        const res = await viaGateway(tenant('production'), 'GET', path);
        last = `${res.status} ${res.body.toString().slice(0, 300)}`;
        const result = res.status === 200 ? (JSON.parse(res.body.toString()) as { data: { result: Array<{ value: [number, string] }> } }).data.result : [];
        return result.length === 1 && Number(result[0]!.value[1]) === burstWritten.samples;
      },
      // The querier looks at its cached bucket indexes once a minute (hard-coded, ±20 %).
      { interval: 2_000, timeout: 240_000 },
    ).catch((err: unknown) => {
      throw new Error(`the flushed samples did not come back (${(err as Error).message}); last answer: ${last}`);
    });
    // Not from the ingesters: none of them holds a series of this tenant.
    for (const p of ingesters) expect((await scrape(p))('cortex_ingester_memory_series_created_total', { user: 'production' }), p.instanceId).toBe(0);
    expect((await scrape(plane.processes('store-gateway')[0]!))('cortex_bucket_store_blocks_loaded')).toBeGreaterThan(0);
  }, 360_000);

  /**
   * Issue 11: a tenant removed and added again under the same name sees nothing of its
   * predecessor, on real Cortex behind the real gateway. Runs last, on the same data plane: the
   * ingesters the test above stopped are started again first. The tenant's gateway files are
   * written as its tenant stack writes them (the gateway's renderer) and nginx reloads them as
   * the sidecar does (SIGHUP); the ids come from the real registry; `--delete-data` is the
   * command's own deletion (src/tenants/delete-data.ts) against versitygw.
   */
  describe('a re-added tenant on real Cortex', () => {
    beforeAll(async () => {
      await Promise.all(plane.processes('ingester').filter((p) => !p.running).map((p) => plane.start(p)));
    }, 240_000);

    it('write as X (id X), remove X, add X again (id X.2): queries show nothing from before; X’s blocks stay under its prefix until --delete-data removes them', async () => {
      const [{ renderTenantEntry, renderTokenMapEntries, tenantFileName, tokensFileName }, { allocateTenantIds, retireTenantId }, { newToken }, { deleteTenantData, s3PrefixObjects, tenantDataLocations }] =
        await Promise.all([import('@lookout/gateway'), import('../../src/tenants/tenant-ids.js'), import('@lookout/tenant/tokens'), import('../../src/tenants/delete-data.js')]);
      const name = 'readd';
      const host = `${name}.${plane.domain}`;
      const dir = plane.gatewayTenantsDir;
      const files = [tenantFileName(name), tokensFileName(name)];
      /** As the tenant stack writes its gateway entry, then the reload sidecar's SIGHUP. */
      const install = (token: string, orgId: string) => {
        writeFileSync(join(dir, tenantFileName(name)), renderTenantEntry(name));
        writeFileSync(join(dir, tokensFileName(name)), renderTokenMapEntries(name, [token], { orgId }), { mode: 0o600 });
        plane.gatewayProcess()!.child.kill('SIGHUP');
      };
      const uninstall = () => {
        for (const f of files) rmSync(join(dir, f), { force: true });
        plane.gatewayProcess()!.child.kill('SIGHUP');
      };
      const as = (token: string): DataPlaneTenant => ({ tenant: name, host, token });
      const statusOf = async (token: string) => (await viaGateway(as(token), 'GET', `/prometheus/api/v1/query?${new URLSearchParams({ query: 'vector(1)' })}`)).status;
      /** The query straight at Cortex's query-frontend, as the tenant id the gateway would send. */
      const directQuery = async (orgId: string, query: string) => {
        const res = await fetch(`${plane.url('query-frontend')}/prometheus/api/v1/query?${new URLSearchParams({ query })}`, { headers: { 'X-Scope-OrgID': orgId } });
        expect(res.status, `${query} as ${orgId}`).toBe(200);
        return ((await res.json()) as { data: { result: Array<{ value: [number, string] }> } }).data.result.map((r) => Number(r.value[1]));
      };

      // First life: id X.
      let registry = allocateTenantIds({}, [name], new Date());
      expect(registry[name]!.id).toBe(name);
      const first = newToken(name);
      install(first, registry[name]!.id);
      await waitFor(async () => (await statusOf(first)) === 200, { interval: 200, timeout: 30_000 });
      const nonce = randomBytes(6).toString('hex');
      const value = Math.floor(Math.random() * 1e9);
      expect((await push(as(first), [{ labels: { __name__: 'lookout_test_readd', nonce }, samples: [{ value, timestampMs: Date.now() }] }])).status).toBe(200);
      const series = `lookout_test_readd{nonce="${nonce}"}`;
      await waitFor(async () => (await instantQuery(as(first), series)).length === 1, { interval: 500, timeout: 60_000 });

      // Removed: its entry leaves the gateway, its id is retired.
      uninstall();
      await waitFor(async () => (await statusOf(first)) !== 200, { interval: 200, timeout: 30_000 });
      registry = retireTenantId(registry, name, new Date());

      // Second life: a new id, a new token; the old token stays refused.
      registry = allocateTenantIds(registry, [name], new Date());
      const secondId = registry[name]!.id;
      expect(secondId).toBe(`${name}.2`);
      const second = newToken(name);
      install(second, secondId);
      await waitFor(async () => (await statusOf(second)) === 200, { interval: 200, timeout: 30_000 });
      expect(await statusOf(first)).toBe(401);
      expect(await instantQuery(as(second), series)).toEqual([]);
      expect(await instantQuery(as(second), 'count({__name__=~".+"})')).toEqual([]);
      // The route works: what the second life writes, it reads, under its own id.
      const fresh = Math.floor(Math.random() * 1e9);
      expect((await push(as(second), [{ labels: { __name__: 'lookout_test_readd', nonce, life: '2' }, samples: [{ value: fresh, timestampMs: Date.now() }] }])).status).toBe(200);
      await waitFor(async () => (await instantQuery(as(second), series)).length === 1, { interval: 500, timeout: 60_000 });
      expect((await instantQuery(as(second), series)).map((r) => Number(r.value[1]))).toEqual([fresh]);
      expect(await directQuery(secondId, series)).toEqual([fresh]);
      // The first life's data still exists, under its own id only.
      expect(await directQuery(name, series)).toEqual([value]);

      // In the bucket: flushed blocks under each id's own prefix.
      for (const p of plane.processes('ingester')) expect(await localStatus(p.httpPort, '/ingester/flush'), p.instanceId).toBeLessThan(300);
      const under = (all: string[], id: string) => all.filter((k) => k.startsWith(`${id}/`));
      await waitFor(async () => {
        const all = await blockKeys();
        return under(all, name).some((k) => k.endsWith('/meta.json')) && under(all, secondId).some((k) => k.endsWith('/meta.json'));
      }, { interval: 1_000, timeout: 120_000 });
      const others = (await blockKeys()).filter((k) => !k.startsWith(`${name}/`));

      // --delete-data of the first life (its locations in the buckets this plane has; Loki's is not run here).
      const locations = tenantDataLocations(name, { metrics: plane.buckets.blocks, rules: plane.buckets.rules, logs: 'not-run-here' }).filter((l) => l.bucket !== 'not-run-here');
      const reports = await deleteTenantData(await s3PrefixObjects(plane.s3.client), locations);
      const deletedBlocks = reports.find((r) => r.what === 'metric blocks')!;
      expect(deletedBlocks.deletedObjects).toBeGreaterThan(0);
      const after = await blockKeys();
      expect(under(after, name)).toEqual([]);
      // The second life's blocks and every other tenant's are still there.
      expect(after.filter((k) => !k.startsWith(`${name}/`)).sort()).toEqual(expect.arrayContaining(others));
      expect(under(after, secondId).length).toBeGreaterThan(0);
    }, 420_000);
  });
});
