/**
 * The real Cortex loads the config Lookout generates, for every target it runs under, for every
 * example config and every shipped bundle (with the Cortex built for that bundle's image).
 *
 * Cortex has no "check the config" flag; `-modules` is the closest: Cortex reads the file with
 * yaml.UnmarshalStrict (a misspelt or misplaced key stops it), applies the flags, validates the
 * whole config and builds the module graph for `-target`, then lists the modules and exits
 * without opening a port. The running data plane (dataplane.test.ts) starts every target for real.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { availableBundles } from '../../src/bundle/manifest.js';
import { cortexForBundle } from '../support/dataplane/cortex-binary.js';
import { readRenderedPlatform, renderPlan, type RenderedPlatform } from '../support/dataplane/rendered.js';
import { localizeArgs, rewriteCortexConfig, type CortexPlaneAddresses } from '../support/dataplane/rewrite.js';
import { suiteTitle } from '../support/test-binaries.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

/** Every target the bundle runs Cortex under. */
const TARGETS = ['distributor', 'ingester', 'querier', 'query-frontend', 'store-gateway', 'compactor', 'ruler', 'alertmanager', 'overrides-exporter'];

const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => {
    const parsed = YAML.parse(readFileSync(join(root, 'examples', f), 'utf8')) as { provider?: string; name?: string };
    return { example: f, provider: parsed.provider ?? 'aws', name: parsed.name ?? 'demo' };
  });

async function cortex(binary: string, args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(binary, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

for (const bundle of availableBundles()) {
  const { imageTag, version, binaries } = cortexForBundle(bundle);
  const title = suiteTitle(`bundle ${bundle}: Cortex ${version} (for ${imageTag}) loads the generated config for every target`, binaries);

  describe.skipIf(binaries.missing !== undefined)(title, () => {
    let tmp: string;
    const rendered = new Map<string, RenderedPlatform>();
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'lookout-cortex-config-'));
      for (const e of examples) {
        // The example as written, on this bundle.
        const doc = YAML.parseDocument(readFileSync(join(root, 'examples', e.example), 'utf8'));
        doc.set('bundle', bundle);
        const configFile = join(tmp, `${e.name}.yaml`);
        writeFileSync(configFile, doc.toString());
        const dir = join(tmp, `render-${e.name}`);
        await renderPlan({ provider: e.provider, instance: e.name, configFile, dir });
        rendered.set(e.example, readRenderedPlatform(dir));
      }
    }, 120_000);

    const plane = (dir: string): CortexPlaneAddresses => ({
      configDir: join(dir, 'etc'),
      runtimeConfigDir: join(dir, 'etc-runtime'),
      s3Endpoint: '127.0.0.1:9',
      gossipMembers: ['127.0.0.1:7946'],
      services: ({ port }) => `127.0.0.1:${port}`,
    });

    it.each(examples)('renders a workload for every target in $example, each with the bundle’s Cortex', ({ example }) => {
      const platform = rendered.get(example)!;
      expect(platform.cortexWorkloads.map((w) => w.target).sort()).toEqual([...TARGETS].sort());
      expect(platform.cortexVersion).toBe(imageTag);
    });

    it.each(examples)('every target of $example loads its config strictly and builds its modules', async ({ example }) => {
      const platform = rendered.get(example)!;
      const dir = join(tmp, `check-${example}`);
      for (const w of platform.cortexWorkloads) {
        const configFile = join(dir, `${w.target}.yaml`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(configFile, rewriteCortexConfig(platform.cortexConfig, plane(dir), { instanceId: `${w.name}-0`, httpPort: 8080, grpcPort: 9095, gossipPort: 7946, dataDir: join(dir, w.target) }));
        const result = await cortex(binaries.paths.cortex!, [...localizeArgs(w.args, configFile), '-modules']);
        expect(result.code, `${w.target}: ${result.output}`).toBe(0);
        // The module list names the target it would run.
        expect(result.output.split('\n').map((l) => l.split(' ')[0]), w.target).toContain(w.target);
      }
    });

    it('is strict: one unknown key in the same config stops Cortex, naming the key', async () => {
      const platform = rendered.get(examples[0]!.example)!;
      const dir = join(tmp, 'strict');
      mkdirSync(dir, { recursive: true });
      const configFile = join(dir, 'bad.yaml');
      const good = rewriteCortexConfig(platform.cortexConfig, plane(dir), { instanceId: 'x', httpPort: 8080, grpcPort: 9095, gossipPort: 7946, dataDir: dir });
      writeFileSync(configFile, good.replace(/^ingester:\n/m, 'ingester:\n  max_transfer_retriez: 1\n'));
      const result = await cortex(binaries.paths.cortex!, ['-target=ingester', `-config.file=${configFile}`, '-modules']);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/max_transfer_retriez/);
    });
  });
}
