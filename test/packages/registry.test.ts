/**
 * The packages as a user gets them. Every publishable package (found as npm finds workspace
 * packages, so a new one is covered without a list) is published at its version to a real npm
 * registry on loopback, in dependency order. Then, in a fresh consumer project each:
 *
 * - a component package is installed with the `npm install` command of its README, and the
 *   program of its README's `## Example` section is type-checked against the installed
 *   declarations and run under Pulumi mocks with the consumer's own SDK, once as a CommonJS
 *   program (Pulumi's TypeScript template) and once as an ES module;
 * - the CLI is installed globally with the commands of the repository README, which plan the
 *   example config it ships; `npx` finds it, and its plan is the repository's own.
 *
 * Nothing leaves the machine: see test/support/npm-registry.ts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { publishablePackages, publishPackage, releaseOrder } from '../../scripts/packages-lib.mjs';
import type { MockedResource } from '../../src/plan/mock-runtime.js';
import { validateKubernetesObjects } from '../support/kubernetes.js';
import { startLoopbackRegistry, type LoopbackRegistry } from '../support/npm-registry.js';
import { installCommand, readmeExample, shellBlockStartingWith } from './readme.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const fromDir = (dir: string) => createRequire(join(dir, 'package.json'));
const harness = fileURLToPath(new URL('run-example.mjs', import.meta.url));
const packages = publishablePackages(root);
const components = packages.filter((p) => p.location !== '');
const cli = packages.find((p) => p.location === '')!;

let registry: LoopbackRegistry;

/**
 * Consumers ask for each packument once per run: the registry changes only by the publishes,
 * which are all done before the first consumer installs.
 */
const consumerEnv = (): NodeJS.ProcessEnv => ({ ...registry.env, npm_config_prefer_offline: 'true' });

/** Runs a command; resolves with its stdout, rejects with everything it printed. */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, env: options.env ?? consumerEnv(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} in ${options.cwd} failed (${err.code ?? err.signal}):\n${stderr}\n${stdout}`));
      else resolve(stdout);
    });
  });
}

/**
 * Two consumers at a time: each is an npm install, a type-check and two Pulumi runs, and CI
 * has two cores.
 */
const slots = (() => {
  let free = 2;
  const waiting: Array<() => void> = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free--;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
})();

/**
 * Runs `work` in a fresh consumer project, then removes the project. Removing tens of
 * thousands of installed files takes a while, so it happens after the slot is given back.
 */
async function inFreshConsumer<T>(name: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(registry.dir, `consumer-${name.replace(/\W+/g, '-')}-`));
  try {
    return await slots(async () => {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-consumer', version: '1.0.0', private: true }));
      return work(dir);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface ExampleRun {
  resources: MockedResource[];
  outputs: Record<string, unknown>;
  exportedComponents: string[];
  instantiatedComponents: string[];
}

beforeAll(async () => {
  registry = await startLoopbackRegistry({ seedFrom: join(root, 'package-lock.json') });
  for (const pkg of releaseOrder(packages)) await publishPackage(root, pkg, { env: registry.env });
}, 120_000);

afterAll(async () => {
  await registry?.stop();
}, 120_000);

describe.concurrent('published packages, installed as their READMEs say', () => {
  it('reach nothing but the registry on loopback', async ({ expect }) => {
    // Not in the lockfile, so not seeded; and the registry has no uplink to fetch it from.
    await expect(run('npm', ['view', 'left-pad', 'version'], { cwd: registry.dir })).rejects.toThrow(/E404/);
    // Any other registry sits behind a dead proxy: asking it fails at once instead of going out.
    const elsewhere = ['view', 'left-pad', 'version', '--registry=https://registry.npmjs.org/', '--fetch-retries=0'];
    await expect(run('npm', elsewhere, { cwd: registry.dir })).rejects.toThrow(/ECONNREFUSED/);
  });

  // First: it installs the most (the AWS SDK and provider), so it should not be the last to start.
  it(`${cli.name}: installs as the README says, runs with npx, and plans offline with the published components`, async ({ expect }) => {
    const commands = shellBlockStartingWith(readFileSync(join(root, 'README.md'), 'utf8'), `npm install -g ${cli.name}\n`);
    await inFreshConsumer(cli.name, async (dir) => {
      // A global install into a prefix of the test's own, its bin directory on PATH.
      const prefix = join(dir, 'global');
      const env = { ...consumerEnv(), npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}${delimiter}${consumerEnv().PATH}` };
      const readmeRun = await run('bash', ['-euo', 'pipefail', '-c', commands], { cwd: dir, env });
      expect(readmeRun).toContain('Plan for aws instance "prod"');

      const help = await run('npx', ['lookout', '--help'], { cwd: dir, env });
      expect(help).toMatch(/^Usage: lookout /m);
      expect((await run('npx', [cli.name, '--version'], { cwd: dir, env })).trim()).toBe(cli.version);

      // The same plan as the repository's own CLI makes of the same config.
      const stacksPlanned = async (command: string, cwd: string, config: string) =>
        (JSON.parse((await run(command, ['plan', 'aws', 'prod', '-c', config, '--json'], { cwd, env })).trim().split('\n').at(-1)!) as { plan: { stacks: unknown[] } }).plan
          .stacks;
      const installed = await stacksPlanned('lookout', dir, 'lookout.yaml');
      expect(JSON.stringify(installed)).toContain('lookout:k8s:MetricsStore');
      expect(installed).toEqual(await stacksPlanned(join(root, 'bin', 'lookout'), root, join(root, 'examples', 'aws.yaml')));
      // The components came from the registry, at exactly the CLI's dependency versions.
      const cliDir = join(prefix, 'lib', 'node_modules', cli.name);
      for (const component of components) {
        const manifest = JSON.parse(readFileSync(fromDir(cliDir).resolve(`${component.name}/package.json`), 'utf8')) as { version: string };
        expect(manifest.version, component.name).toBe(cli.manifest.dependencies?.[component.name]);
      }
    });
  }, 300_000);

  for (const pkg of components) {
    const name = pkg.name;
    it(`${name}: its README example type-checks and runs as CommonJS and as an ES module`, async ({ expect }) => {
      const readme = readFileSync(join(pkg.dir, 'README.md'), 'utf8');
      const example = readmeExample(readme);
      const runs = await inFreshConsumer(name, async (consumer) => {
        await run('npm', installCommand(readme), { cwd: consumer });
        const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
        expect(installed.version).toBe(pkg.version);

        const systems = { commonjs: 'cjs', module: 'esm' } as const;
        for (const [type, dir] of Object.entries(systems)) {
          mkdirSync(join(consumer, dir));
          writeFileSync(join(consumer, dir, 'package.json'), JSON.stringify({ type }));
          writeFileSync(join(consumer, dir, 'index.ts'), example.program);
        }
        // The compiler options of Pulumi's TypeScript templates (a package without "type" is
        // CommonJS under nodenext), with both programs in one compilation: each file's module
        // system comes from the package.json beside it. Declarations are not checked again
        // (skipLibCheck): ours are generated from checked sources, and what they import is
        // checked against the dependencies by the tarball rules.
        writeFileSync(
          join(consumer, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              strict: true,
              target: 'es2020',
              module: 'nodenext',
              moduleResolution: 'nodenext',
              experimentalDecorators: true,
              noFallthroughCasesInSwitch: true,
              noImplicitReturns: true,
              forceConsistentCasingInFileNames: true,
              skipLibCheck: true,
            },
            files: ['cjs/index.ts', 'esm/index.ts'],
          }),
        );
        await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer });

        const config = JSON.stringify({ config: example.config, secretKeys: example.secretKeys });
        const result: Record<string, ExampleRun> = {};
        for (const [type, dir] of Object.entries(systems)) {
          result[type] = JSON.parse(await run(process.execPath, [harness, type, `${dir}/index.js`, name, config], { cwd: consumer })) as ExampleRun;
        }
        return result as Record<keyof typeof systems, ExampleRun>;
      });

      const { commonjs, module } = runs;
      expect(commonjs.resources.length).toBeGreaterThan(0);
      if (commonjs.exportedComponents.length > 0) expect(commonjs.instantiatedComponents.length, 'the example builds a component of the package').toBeGreaterThan(0);
      expect(validateKubernetesObjects(commonjs.resources)).toEqual([]);
      // Loaded either way, the program builds the same resources with the same inputs.
      const byKey = (r: ExampleRun) => [...r.resources].sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));
      expect(byKey(module)).toEqual(byKey(commonjs));
      expect(module.outputs).toEqual(commonjs.outputs);
      expect(module.instantiatedComponents.sort()).toEqual(commonjs.instantiatedComponents.sort());
    }, 300_000);
  }
});
