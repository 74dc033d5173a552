/**
 * The monthly upgrade on the real data plane: the previous bundle's Cortex writes, the newest
 * bundle's Cortex reads. Both planes are started from `lookout plan --render` of
 * examples/aws.yaml (system + two tenants) at each bundle, changed only by
 * test/support/dataplane/rewrite.ts, one after the other on the SAME buckets (versitygw's
 * directory) and the same StatefulSet volumes (WAL, TSDB blocks, ring tokens), as a rolling
 * update keeps them. One start per version.
 *
 * Loki is AGPL and is not built here, so the verify probe runs its metrics checks.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { availableBundles } from '../../src/bundle/manifest.js';
import { verifyCheckCount, type VerifyOptions } from '../../src/verify/probe.js';
import { cortexForBundle } from '../support/dataplane/cortex-binary.js';
import { startDataPlane, type DataPlane, type DataPlaneTenant } from '../support/dataplane/plane.js';
import { renderPlan } from '../support/dataplane/rendered.js';
import { flushIngesters, instantQuery, push, tenantBlockMetas, verifyPlane } from '../support/dataplane/tenant-requests.js';
import { findExecutable, waitFor } from '../support/processes.js';
import { suiteTitle, type Binaries } from '../support/test-binaries.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(root, 'examples/aws.yaml');
const example = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as { name: string; dns: { domain: string } };
// The upgrade users run next: from the previous bundle to the newest one.
const [FROM, TO] = availableBundles().slice(-2) as [string, string];
const from = cortexForBundle(FROM, { withStore: true });
const to = cortexForBundle(TO);
const NGINX = findExecutable('nginx');
const missing = [from.binaries.missing, to.binaries.missing, NGINX ? undefined : 'nginx not installed (apt-get install nginx-light)'].filter(Boolean).join('; ');
const binaries: Binaries = { paths: { ...from.binaries.paths }, ...(missing ? { missing } : {}) };
const title = suiteTitle(
  `the data plane upgraded from bundle ${FROM} (Cortex ${from.version} for ${from.imageTag}) to ${TO} (Cortex ${to.version} for ${to.imageTag}) on the same buckets and volumes, behind the nginx gateway`,
  binaries,
);

/** Which tenants write before the upgrade. */
const WRITERS = ['production', 'staging'];

/** Labels each writer's samples, so a query finds this run's and nothing else. */
const NONCES: Record<string, string> = Object.fromEntries(WRITERS.map((t) => [t, randomBytes(6).toString('hex')]));

interface Written {
  tenant: string;
  /** `block`: shipped to the bucket before the upgrade; `wal`: only in the ingesters' WAL when they stopped. */
  phase: 'block' | 'wal';
  value: number;
}

describe.skipIf(binaries.missing !== undefined)(title, () => {
  let work: string;
  const renders: Record<string, string> = {};
  let plane: DataPlane | undefined;
  const written: Written[] = [];
  /** The block IDs each tenant had in the bucket when the old version stopped. */
  const shipped: Record<string, string[]> = {};

  const timing: VerifyOptions['timing'] = { requestTimeoutMs: 15_000, writeRetries: 3, retryDelayMs: 500, readDeadlineMs: 60_000, pollIntervalMs: 500 };
  const tenant = (p: DataPlane, name: string): DataPlaneTenant => p.tenants.find((t) => t.tenant === name)!;
  const start = (bundle: string, cortex: string) =>
    startDataPlane({ renderDir: renders[bundle]!, cortex, nginx: NGINX!, workDir: join(work, 'run'), storeDir: join(work, 'store'), domain: example.dns.domain });
  /** What tenant `as` reads of the series labelled with `nonce`, by phase. */
  const readBack = async (p: DataPlane, as: string, nonce: string) =>
    (await instantQuery(p, tenant(p, as), `lookout_test_upgrade{nonce="${nonce}"}`)).map((r) => ({ phase: r.metric.phase, value: Number(r.value[1]) })).sort((a, b) => String(a.phase).localeCompare(String(b.phase)));
  /** What a writer wrote, as readBack shows it. */
  const writtenBy = (name: string) => written.filter((w) => w.tenant === name).map((w) => ({ phase: w.phase, value: w.value })).sort((a, b) => a.phase.localeCompare(b.phase));
  /** Waits until a writer reads back what it wrote; past the deadline, fails showing what it read instead. */
  const expectReadsOwn = async (p: DataPlane, name: string, timeout: number) => {
    const readsOwn = async () => JSON.stringify(await readBack(p, name, NONCES[name]!).catch(() => undefined)) === JSON.stringify(writtenBy(name));
    await waitFor(readsOwn, { interval: 1_000, timeout }).catch(() => undefined);
    expect(await readBack(p, name, NONCES[name]!), name).toEqual(writtenBy(name));
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lookout-dataplane-upgrade-'));
    // Started as root, nginx runs its workers as `nobody`, who must pass through to its temp directory.
    if (process.getuid?.() === 0) chmodSync(work, 0o711);
    for (const bundle of [FROM, TO]) {
      // The user's config file, at that bundle: what `upgrade --to` changes.
      const doc = YAML.parseDocument(readFileSync(EXAMPLE, 'utf8'));
      doc.set('bundle', bundle);
      const configFile = join(work, `lookout-${bundle}.yaml`);
      writeFileSync(configFile, doc.toString());
      renders[bundle] = join(work, `render-${bundle}`);
      await renderPlan({ provider: 'aws', instance: example.name, configFile, dir: renders[bundle] });
    }
  }, 120_000);

  const buildInfo = (version: string) => new RegExp(`cortex_build_info\\{[^}]*version="${version.slice(1).replace(/\./g, '\\.')}"`);

  afterAll(async () => {
    await plane?.shutdown();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it(`at ${FROM}, two tenants write through the gateway: one set shipped as blocks under each tenant’s prefix, one left in the WAL; then everything stops`, async () => {
    plane = await start(FROM, from.binaries.paths.cortex!);
    const old = plane;
    console.log(`${FROM} (Cortex ${from.version}) ready in ${(old.startupMs / 1000).toFixed(1)} s`);
    expect(old.rendered.cortexVersion).toBe(from.imageTag);
    // The processes are the old build (cortex_build_info carries the version it was built as).
    expect(await (await fetch(`${old.url('ingester')}/metrics`)).text()).toMatch(buildInfo(from.version));
    const write = async (phase: Written['phase']) => {
      for (const name of WRITERS) {
        const value = Math.floor(Math.random() * 1e9);
        const res = await push(old, tenant(old, name), [{ labels: { __name__: 'lookout_test_upgrade', nonce: NONCES[name]!, phase }, samples: [{ value, timestampMs: Date.now() }] }]);
        expect(res.status, res.body.toString()).toBe(200);
        written.push({ tenant: name, phase, value });
      }
      for (const name of WRITERS) await expectReadsOwn(old, name, 30_000);
    };

    await write('block');
    await flushIngesters(old);
    await waitFor(async () => (await Promise.all(WRITERS.map((t) => tenantBlockMetas(old, t)))).every((metas) => metas.length > 0), { interval: 1_000, timeout: 120_000 });
    await write('wal');
    for (const t of WRITERS) shipped[t] = (await tenantBlockMetas(old, t)).map((k) => k.split('/')[1]!);

    // Stopped as Kubernetes stops pods in a rolling update (SIGTERM), then the store and the gateway.
    await Promise.all(old.cortex.map((p) => old.stop(p, 'graceful')));
    await old.shutdown();
    plane = undefined;
  }, 600_000);

  it(`at ${TO}, on the same buckets and volumes, every sample written before reads back through the gateway, to its own tenant only`, async () => {
    expect(written).toHaveLength(2 * WRITERS.length);
    const startedAt = Date.now();
    plane = await start(TO, to.binaries.paths.cortex!);
    const upgraded = plane;
    console.log(`${TO} (Cortex ${to.version}) ready in ${(upgraded.startupMs / 1000).toFixed(1)} s on the data of ${FROM}`);
    expect(upgraded.rendered.cortexVersion).toBe(to.imageTag);
    // The processes are the new build: Cortex reports its version in cortex_build_info.
    const metrics = await (await fetch(`${upgraded.url('ingester')}/metrics`)).text();
    expect(metrics).toMatch(buildInfo(to.version));

    for (const name of WRITERS) {
      // The ingesters replay their WAL and rejoin the ring while the first queries come in.
      await expectReadsOwn(upgraded, name, 90_000);
      // Another tenant asking for the same series gets nothing.
      for (const other of upgraded.tenants.filter((t) => t.tenant !== name)) expect(await readBack(upgraded, other.tenant, NONCES[name]!), other.tenant).toEqual([]);
    }

    // The new compactor read the old version's blocks: its start-up cleanup rewrote each tenant's bucket index with them.
    for (const t of WRITERS) {
      const index = JSON.parse(gunzipSync(await upgraded.store.read(upgraded.buckets.blocks, `${t}/bucket-index.json.gz`)).toString()) as { blocks: Array<{ block_id: string }>; updated_at: number };
      expect(index.updated_at * 1000, t).toBeGreaterThanOrEqual(Math.floor(startedAt / 1000) * 1000);
      expect(index.blocks.map((b) => b.block_id), t).toEqual(expect.arrayContaining(shipped[t]!));
    }
  }, 600_000);

  it(`at ${TO}, Lookout’s verify probe passes for every tenant (metrics)`, async () => {
    const upgraded = plane!;
    const results = await verifyPlane(upgraded, timing);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(verifyCheckCount(upgraded.tenants.length, { stores: 'metrics' }));
    expect(results.filter((r) => r.api === 'promql').map((r) => r.tenant).sort()).toEqual(['production', 'staging', 'system']);
  }, 180_000);
});
