/**
 * The data plane on the `gcs` backend: Cortex (the bundle's release) in the microservices
 * layout, the nginx gateway, and fake-gcs-server as Google Cloud Storage, all started from
 * `lookout plan --render` of examples/gcp.yaml (system + two tenants). The rendered gcs storage
 * blocks run as rendered; STORAGE_EMULATOR_HOST in the Cortex processes' environment points
 * Google's storage client at the emulator (Cortex's gcs config has no endpoint field), and
 * GCE_METADATA_HOST at a loopback stub of the metadata server that Workload Identity provides on
 * GKE, for the credentials the client insists on (test/support/gcs-server.ts). One data plane
 * for the file.
 *
 * Loki is AGPL and is not built here, so the verify probe runs its metrics checks.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { verifyCheckCount, type VerifyOptions } from '../../src/verify/probe.js';
import { cortexForBundle } from '../support/dataplane/cortex-binary.js';
import { startDataPlane, type DataPlane } from '../support/dataplane/plane.js';
import { parseCortexYaml } from '../support/dataplane/rewrite.js';
import { renderPlan } from '../support/dataplane/rendered.js';
import { flushIngesters, tenantBlockMetas, verifyPlane } from '../support/dataplane/tenant-requests.js';
import { gcsServerBinaries } from '../support/gcs-server.js';
import { findExecutable, waitFor } from '../support/processes.js';
import { suiteTitle, type Binaries } from '../support/test-binaries.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE = join(root, 'examples/gcp.yaml');
const example = YAML.parse(readFileSync(EXAMPLE, 'utf8')) as { name: string; bundle: string; dns: { domain: string } };
const cortex = cortexForBundle(example.bundle);
const gcs = gcsServerBinaries();
const NGINX = findExecutable('nginx');
const missing = [cortex.binaries.missing, gcs.missing, NGINX ? undefined : 'nginx not installed (apt-get install nginx-light)'].filter(Boolean).join('; ');
const binaries: Binaries = { paths: { ...cortex.binaries.paths, ...gcs.paths }, ...(missing ? { missing } : {}) };
const title = suiteTitle(
  `the data plane on gcs: Cortex ${cortex.version} (for bundle ${example.bundle}'s ${cortex.imageTag}), fake-gcs-server and the nginx gateway from the rendered examples/gcp.yaml`,
  binaries,
);

describe.skipIf(binaries.missing !== undefined)(title, () => {
  let work: string;
  let plane: DataPlane;
  const timing: VerifyOptions['timing'] = { requestTimeoutMs: 15_000, writeRetries: 3, retryDelayMs: 500, readDeadlineMs: 60_000, pollIntervalMs: 500 };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lookout-dataplane-gcs-'));
    // Started as root, nginx runs its workers as `nobody`, who must pass through to its temp directory.
    if (process.getuid?.() === 0) chmodSync(work, 0o711);
    const renderDir = join(work, 'render');
    await renderPlan({ provider: 'gcp', instance: example.name, configFile: EXAMPLE, dir: renderDir });
    plane = await startDataPlane({ renderDir, cortex: binaries.paths.cortex!, nginx: NGINX!, workDir: join(work, 'run'), domain: example.dns.domain });
    console.log(`data plane on gcs ready in ${(plane.startupMs / 1000).toFixed(1)} s (${plane.cortex.length} Cortex processes)`);
  }, 360_000);

  afterAll(async () => {
    await plane?.shutdown();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('runs every store on the rendered gcs buckets, in the emulator', () => {
    const config = parseCortexYaml(plane.rendered.cortexConfig) as Record<string, { backend: string; gcs?: { bucket_name: string } }>;
    for (const key of ['blocks_storage', 'ruler_storage', 'alertmanager_storage']) expect(config[key]!.backend, key).toBe('gcs');
    expect(plane.store.backend).toBe('gcs');
    expect(plane.buckets).toEqual({ blocks: config.blocks_storage!.gcs!.bucket_name, rules: config.ruler_storage!.gcs!.bucket_name });
  });

  it('passes Lookout’s verify probe through the gateway for every tenant (metrics)', async () => {
    const results = await verifyPlane(plane, timing);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(verifyCheckCount(plane.tenants.length, { stores: 'metrics' }));
    expect(results.filter((r) => r.api === 'promql').map((r) => r.tenant).sort()).toEqual(['production', 'staging', 'system']);
  }, 180_000);

  it('ingesters ship the probe’s samples as blocks into the gcs bucket, under each tenant’s own prefix', async () => {
    const tenants = plane.tenants.map((t) => t.tenant);
    await flushIngesters(plane);
    await waitFor(async () => (await Promise.all(tenants.map((t) => tenantBlockMetas(plane, t)))).every((metas) => metas.length > 0), { interval: 1_000, timeout: 120_000 });
    // Every object is under a tenant's prefix: nothing of one tenant is stored beside another's.
    const keys = await plane.store.listKeys(plane.buckets.blocks);
    expect(keys.filter((k) => !tenants.includes(k.split('/')[0]!))).toEqual([]);
    // Cortex authenticated as a pod under Workload Identity does: with a token from the metadata server.
    expect(plane.gcs!.tokensIssued()).toBeGreaterThan(0);
    for (const t of tenants) {
      const meta = JSON.parse((await plane.store.read(plane.buckets.blocks, (await tenantBlockMetas(plane, t))[0]!)).toString()) as { thanos: { labels: Record<string, string> } };
      expect(meta.thanos.labels, t).toMatchObject({ __org_id__: t });
    }
  }, 180_000);
});
