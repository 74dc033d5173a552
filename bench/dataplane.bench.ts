/**
 * The data plane benchmark's entry, run by bench/run.mjs through vitest (for the TypeScript
 * harness in test/support/dataplane): starts the data plane from the rendered examples/aws.yaml,
 * measures, and writes the figures as JSON to $LOOKOUT_BENCH_DATAPLANE_OUT. Asserts nothing
 * about performance; it fails only if the data plane cannot run.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import YAML from 'yaml';
import { cortexForBundle } from '../test/support/dataplane/cortex-binary.js';
import { measureDataPlane } from '../test/support/dataplane/measure.js';
import { startDataPlane } from '../test/support/dataplane/plane.js';
import { renderPlan } from '../test/support/dataplane/rendered.js';
import { findExecutable } from '../test/support/processes.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const example = join(root, 'examples/aws.yaml');
const config = YAML.parse(readFileSync(example, 'utf8')) as { name: string; bundle: string; dns: { domain: string } };

it('measures the data plane', async () => {
  const out = process.env.LOOKOUT_BENCH_DATAPLANE_OUT;
  if (!out) throw new Error('LOOKOUT_BENCH_DATAPLANE_OUT is not set (run it with `npm run bench -- dataplane`)');
  const { binaries, version, imageTag, override } = cortexForBundle(config.bundle, { withStore: true, allowOverride: true });
  const nginx = findExecutable('nginx');
  if (binaries.missing || !nginx) {
    writeFileSync(out, JSON.stringify({ skipped: binaries.missing ?? 'nginx not installed (apt-get install nginx-light)' }));
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'lookout-bench-dataplane-'));
  // Started as root, nginx runs its workers as `nobody`, who must pass through to its temp directory.
  if (process.getuid?.() === 0) chmodSync(work, 0o711);
  const renderDir = join(work, 'render');
  try {
    await renderPlan({ provider: 'aws', instance: config.name, configFile: example, dir: renderDir });
    const plane = await startDataPlane({ renderDir, cortex: binaries.paths.cortex!, nginx, workDir: join(work, 'run'), domain: config.dns.domain });
    try {
      const tenant = plane.tenants.find((t) => t.tenant === 'production')!;
      const figures = await measureDataPlane(plane, tenant, { workers: 8, pushSeconds: 10, queries: 50 });
      writeFileSync(out, JSON.stringify({ cortex: override ? `${version} (LOOKOUT_TEST_CORTEX; the bundle deploys ${imageTag})` : `${version} (for ${imageTag})`, ...figures }));
    } finally {
      await plane.shutdown();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
