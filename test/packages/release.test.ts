/**
 * The release script (scripts/release.mjs), run for real against a registry on loopback, on a
 * small workspace made for the purpose: its packages' tests take no time, and its directory
 * order differs from its dependency order, so the publish order proves the sorting. The
 * repository's own packages are checked for the order property without publishing them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalDependencies, publishablePackages, releaseOrder } from '../../scripts/packages-lib.mjs';
import { environmentWithoutNpmSettings, startLoopbackRegistry, type LoopbackRegistry } from '../support/npm-registry.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const releaseScript = join(root, 'scripts', 'release.mjs');

describe('release order', () => {
  it('puts every package of this repository after the packages it needs', () => {
    const packages = publishablePackages(root);
    const order = releaseOrder(packages).map((p) => p.name);
    expect(order).toHaveLength(packages.length);
    const names = new Set(order);
    for (const pkg of packages) {
      for (const dep of internalDependencies(pkg, names)) expect(order.indexOf(dep), `${dep} before ${pkg.name}`).toBeLessThan(order.indexOf(pkg.name));
    }
  });

  it('refuses a dependency cycle, naming its members', () => {
    const pkg = (name: string, dep: string) => ({ name, version: '1.0.0', dir: '', location: name, manifest: { name, version: '1.0.0', dependencies: { [dep]: '^1.0.0' } } });
    expect(() => releaseOrder([pkg('a', 'b'), pkg('b', 'a')])).toThrow(/cycle: a, b/);
  });
});

/** A workspace: packages/alpha needs zeta, packages/mid needs alpha (as a peer), the root needs all three. */
function makeWorkspace(options: { failingTests?: string; withoutLicense?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-release-'));
  const common = (name: string, location: string) => ({
    name,
    version: '0.1.0',
    license: 'Apache-2.0',
    repository: { type: 'git', url: 'git+https://example.com/fixture.git', ...(location ? { directory: location } : {}) },
    type: 'module',
    main: './index.js',
    exports: { '.': './index.js' },
    files: ['index.js'],
    engines: { node: '>=20.19' },
    publishConfig: { access: 'public' },
    scripts: {
      test: options.failingTests === name ? `node -e "console.error('${name} is broken'); process.exit(3)"` : 'node -e "process.exit(0)"',
    },
  });
  const write = (location: string, manifest: Record<string, unknown>) => {
    const at = join(dir, location);
    mkdirSync(at, { recursive: true });
    writeFileSync(join(at, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(at, 'index.js'), `export const name = ${JSON.stringify(manifest.name)};\n`);
    writeFileSync(join(at, 'README.md'), `# ${String(manifest.name)}\n`);
    if (options.withoutLicense !== manifest.name) cpSync(join(root, 'LICENSE'), join(at, 'LICENSE'));
  };
  write('', { ...common('@fx/app', ''), workspaces: ['packages/*'], dependencies: { '@fx/alpha': '0.1.0', '@fx/mid': '0.1.0', '@fx/zeta': '0.1.0' } });
  write('packages/alpha', { ...common('@fx/alpha', 'packages/alpha'), dependencies: { '@fx/zeta': '^0.1.0' } });
  write('packages/mid', { ...common('@fx/mid', 'packages/mid'), peerDependencies: { '@fx/alpha': '^0.1.0' } });
  write('packages/zeta', common('@fx/zeta', 'packages/zeta'));
  if (options.withoutLicense !== '@fx/app') cpSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  const env = environmentWithoutNpmSettings();
  // Installed, as a release always is (offline: the packages need nothing from a registry).
  execFileSync('npm', ['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, env, stdio: 'pipe' });
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\n');
  execFileSync('git', ['init', '--quiet', '--initial-branch=main'], { cwd: dir });
  execFileSync('git', ['add', '.'], { cwd: dir });
  execFileSync('git', ['commit', '--quiet', '-m', 'fixture'], { cwd: dir, env: gitIdentity(env) });
  return dir;
}

const gitIdentity = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...env,
  GIT_AUTHOR_NAME: 'Release Test',
  GIT_AUTHOR_EMAIL: 'release-test@example.com',
  GIT_COMMITTER_NAME: 'Release Test',
  GIT_COMMITTER_EMAIL: 'release-test@example.com',
});

describe('npm run release', () => {
  let registry: LoopbackRegistry;
  const workspaces: string[] = [];
  beforeAll(async () => {
    registry = await startLoopbackRegistry();
  });
  afterAll(async () => {
    for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
    await registry?.stop();
  });

  const release = (dir: string, version: string) =>
    spawnSync(process.execPath, [releaseScript, version], { cwd: dir, env: gitIdentity(registry.env), encoding: 'utf8' });
  const workspace = (options: Parameters<typeof makeWorkspace>[0] = {}) => {
    const dir = makeWorkspace(options);
    workspaces.push(dir);
    return dir;
  };
  const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
  const packument = async (name: string) => {
    const response = await fetch(`${registry.url}${name.replace('/', '%2f')}`);
    return response.status === 404 ? undefined : ((await response.json()) as { time: Record<string, string>; versions: Record<string, any> });
  };
  const names = ['@fx/zeta', '@fx/alpha', '@fx/mid', '@fx/app'];

  it('bumps every package once and publishes them in dependency order', async () => {
    const dir = workspace();
    const run = release(dir, '1.0.0');
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const publishedLines = run.stdout.split('\n').filter((l) => l.startsWith('release: published '));
    expect(publishedLines).toEqual(names.map((n) => `release: published ${n}@1.0.0`));

    // The registry's own publish times agree with the order.
    const times = await Promise.all(names.map(async (n) => Date.parse((await packument(n))!.time['1.0.0']!)));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    const manifests = await Promise.all(names.map(async (n) => (await packument(n))!.versions['1.0.0']));
    const [, alpha, mid, app] = manifests;
    expect(alpha.dependencies).toEqual({ '@fx/zeta': '^1.0.0' });
    expect(mid.peerDependencies).toEqual({ '@fx/alpha': '^1.0.0' });
    expect(app.dependencies).toEqual({ '@fx/alpha': '1.0.0', '@fx/mid': '1.0.0', '@fx/zeta': '1.0.0' });

    expect(git(dir, 'log', '-1', '--format=%s')).toBe('Release 1.0.0');
    expect(git(dir, 'rev-parse', 'v1.0.0^{commit}')).toBe(git(dir, 'rev-parse', 'HEAD'));
    expect(git(dir, 'status', '--porcelain')).toBe('');
    const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    expect(['', 'packages/alpha', 'packages/mid', 'packages/zeta'].map((p) => lock.packages[p]!.version)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);

    // Run again on the release commit: it carries on, and finds nothing left to publish.
    const again = release(dir, '1.0.0');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('release: @fx/app@1.0.0 is already published');
    expect(again.stdout).not.toContain('release: published');
  });

  it('refuses to publish anything when a package’s tests fail, and undoes the bump', async () => {
    const dir = workspace({ failingTests: '@fx/mid' });
    const head = git(dir, 'rev-parse', 'HEAD');
    const run = release(dir, '2.0.0');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('refusing to release 2.0.0: the tests of @fx/mid failed');
    expect(run.stderr).toContain('Nothing was published');
    expect(run.stderr).toContain('@fx/mid is broken'); // the failing test's own output is shown
    for (const name of names) expect((await packument(name))?.versions['2.0.0'], name).toBeUndefined();
    expect(git(dir, 'status', '--porcelain')).toBe('');
    expect(git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(git(dir, 'tag', '--list')).toBe('');
  });

  it('refuses an incomplete tarball, naming the package and what is missing', async () => {
    const dir = workspace({ withoutLicense: '@fx/zeta' });
    const run = release(dir, '3.0.0');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('@fx/zeta: LICENSE is not in the tarball');
    for (const name of names) expect((await packument(name))?.versions['3.0.0'], name).toBeUndefined();
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});
