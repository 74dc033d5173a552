/**
 * A real npm registry on loopback for the package tests: Verdaccio (a devDependency, pinned at
 * 6.8.0, the last release that supports Node.js 20), with no uplink, so it can never reach
 * another registry.
 *
 * What consumers install besides our packages (@pulumi/pulumi and everything under it) is
 * pre-seeded into its storage from the local npm cache: every package the lockfile installs
 * outside development, at the exact version and bytes the lockfile pins (checked against its
 * integrity). `npm ci` has put each of those tarballs in the cache, so nothing is downloaded
 * while the tests run. Clients get an environment that knows only this registry, a fresh
 * cache, and a dead proxy for anything that is not loopback: a request that tried to leave the
 * machine would fail the test instead of quietly succeeding.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort, startProcess } from './processes.js';

const require = createRequire(import.meta.url);

export interface LoopbackRegistry {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** For npm and npx: this registry only, publishing allowed, a fresh cache, nothing else reachable. */
  env: NodeJS.ProcessEnv;
  /** Scratch space that is removed with the registry. */
  dir: string;
  stop(): Promise<void>;
}

interface LockEntry {
  name?: string;
  version: string;
  integrity: string;
  dev?: boolean;
  link?: boolean;
  [field: string]: unknown;
}

/**
 * The process environment without what `npm test` adds to it: npm's settings, and the
 * repository's node_modules/.bin directories on PATH.
 */
export function environmentWithoutNpmSettings(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NPM_CONFIG_)/i.test(key)));
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !/[\\/]node_modules[\\/]\.bin$/.test(dir))
    .join(delimiter);
  return env;
}

function npmCacheDir(): string {
  return execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', env: environmentWithoutNpmSettings() }).trim();
}

/** A tarball from npm's content-addressed cache (cacache's `content-v2` layout), checked against its integrity. */
function cachedTarball(cache: string, spec: string, integrity: string): Buffer {
  const [algorithm = '', digest = ''] = integrity.split(/-(.*)/s);
  const hex = Buffer.from(digest, 'base64').toString('hex');
  const path = join(cache, '_cacache', 'content-v2', algorithm, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
  if (!existsSync(path)) {
    throw new Error(`${spec} is not in the npm cache (${cache}). Run \`npm ci\` first: the package tests never download packages.`);
  }
  const bytes = readFileSync(path);
  if (createHash(algorithm).update(bytes).digest('base64') !== digest) throw new Error(`${spec} in the npm cache does not match its integrity`);
  return bytes;
}

function compareVersions(a: string, b: string): number {
  const parse = (v: string) => v.split(/[-+]/)[0]!.split('.').map(Number);
  const [pa, pb] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return a.includes('-') === b.includes('-') ? a.localeCompare(b) : a.includes('-') ? -1 : 1;
}

/** The fields of a lockfile entry that npm's resolver reads from a registry manifest. */
const MANIFEST_FIELDS = ['dependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bin', 'engines', 'os', 'cpu', 'libc', 'license', 'hasInstallScript', 'deprecated'];

/**
 * Writes Verdaccio's local storage (`<storage>/<name>/package.json` and the tarballs) for every
 * non-development package in the lockfile. Writing the storage directly takes a second where
 * publishing each of ~400 packages through the API takes ten.
 */
function seedStorage(storage: string, lockfile: string, url: string): number {
  const cache = npmCacheDir();
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockEntry> };
  const byName = new Map<string, Map<string, LockEntry>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (!path.includes('node_modules/') || entry.link || entry.dev) continue;
    // An alias (`"string-width-cjs": "npm:string-width@^4"`) is stored under the real name.
    const name = entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const versions = byName.get(name) ?? new Map<string, LockEntry>();
    versions.set(entry.version, entry);
    byName.set(name, versions);
  }
  const now = new Date().toISOString();
  for (const [name, versions] of byName) {
    const dir = join(storage, name);
    mkdirSync(dir, { recursive: true });
    const packument = {
      name,
      _id: name,
      versions: {} as Record<string, unknown>,
      time: { created: now, modified: now } as Record<string, string>,
      users: {},
      'dist-tags': { latest: [...versions.keys()].sort(compareVersions).at(-1)! },
      _uplinks: {},
      _distfiles: {},
      _attachments: {} as Record<string, { shasum: string; version: string }>,
      _rev: '1-0000000000000000',
      readme: '',
    };
    for (const [version, entry] of versions) {
      const file = `${name.split('/').pop()}-${version}.tgz`;
      const bytes = cachedTarball(cache, `${name}@${version}`, entry.integrity);
      writeFileSync(join(dir, file), bytes);
      const shasum = createHash('sha1').update(bytes).digest('hex');
      const fields = Object.fromEntries(MANIFEST_FIELDS.filter((f) => entry[f] !== undefined).map((f) => [f, entry[f]]));
      packument.versions[version] = {
        name,
        version,
        _id: `${name}@${version}`,
        ...fields,
        dist: { integrity: entry.integrity, shasum, tarball: `${url}${name}/-/${file}` },
      };
      packument.time[version] = now;
      packument._attachments[file] = { shasum, version };
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify(packument));
  }
  return byName.size;
}

function verdaccioBin(): string {
  let manifest: string;
  try {
    manifest = require.resolve('verdaccio/package.json');
  } catch {
    throw new Error('verdaccio is not installed: it is a devDependency of the repository, run `npm ci`');
  }
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: string | Record<string, string> };
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin.verdaccio!);
}

/** Starts the registry, seeded from `lockfile` when given, with a user whose token can publish. */
export async function startLoopbackRegistry(options: { seedFrom?: string } = {}): Promise<LoopbackRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-registry-'));
  const [port, deadProxyPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}/`;
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  if (options.seedFrom) seedStorage(storage, options.seedFrom, url);
  const config = join(dir, 'verdaccio.yaml');
  writeFileSync(
    config,
    [
      `storage: ${JSON.stringify(storage)}`,
      'auth:',
      `  htpasswd: { file: ${JSON.stringify(join(dir, 'htpasswd'))}, max_users: 10 }`,
      // JWT API tokens are checked by signature; the default legacy tokens cost a bcrypt
      // verification (a quarter of a second) on every request.
      'security: { api: { jwt: { sign: { expiresIn: 2h } } } }',
      'uplinks: {}',
      // Clients (the tests' fetch) keep connections; a server that closed them while idle
      // would fail the next request on a reused socket.
      'server: { keepAliveTimeout: 3600 }',
      'packages:',
      "  '**': { access: $all, publish: $authenticated, unpublish: $authenticated }",
      'web: { enable: false }',
      'log: { type: stdout, format: pretty, level: warn }',
      'max_body_size: 100mb',
      '',
    ].join('\n'),
  );
  const server = await startProcess(
    process.execPath,
    [verdaccioBin(), '--config', config, '--listen', `127.0.0.1:${port}`],
    async () => (await fetch(`${url}-/ping`).catch(() => undefined))?.ok === true,
    { what: 'verdaccio', env: environmentWithoutNpmSettings() },
  );
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const response = await fetch(`${url}-/user/org.couchdb.user:lookout-test`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lookout-test', password: 'loopback-only-test-user' }),
    });
    const { token } = (await response.json()) as { token?: string };
    if (!response.ok || !token) throw new Error(`verdaccio refused to create the test user: ${response.status}\n${server.output()}`);
    const userconfig = join(dir, 'npmrc');
    writeFileSync(userconfig, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'global-npmrc'), '');
    const deadProxy = `http://127.0.0.1:${deadProxyPort}/`;
    const env: NodeJS.ProcessEnv = {
      ...environmentWithoutNpmSettings(),
      npm_config_userconfig: userconfig,
      npm_config_globalconfig: join(dir, 'global-npmrc'),
      npm_config_registry: url,
      npm_config_cache: join(dir, 'npm-cache'),
      npm_config_proxy: deadProxy,
      npm_config_https_proxy: deadProxy,
      npm_config_noproxy: '127.0.0.1',
      HTTP_PROXY: deadProxy,
      HTTPS_PROXY: deadProxy,
      NO_PROXY: '127.0.0.1',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    };
    return { url, env, dir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
