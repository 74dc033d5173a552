#!/usr/bin/env node
// `npm run release -- <version>`: releases every publishable package at one new version.
//
//   1. Refuses unless the working tree is clean, the version is new and valid, and every
//      package is at the same current version (they are released together).
//   2. Bumps every package to <version>, and every dependency between them, in one go.
//   3. Builds from clean, runs each package's tests in dependency order, and checks each
//      tarball (scripts/packages-lib.mjs). If any of that fails, nothing is published and the
//      bump is undone.
//   4. Commits "Release <version>", tags v<version>, and publishes in dependency order, so a
//      user installing mid-release never gets a package whose dependencies are not out yet.
//
// Publishing goes to the registry npm is configured with (or --registry <url>). If a publish
// fails, run the same command again: on the tagged release commit it carries on, skipping the
// packages that are already published.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { packedFiles, publishablePackages, publishPackage, releaseOrder, tarballProblems } from './packages-lib.mjs';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Not released, for a reason the message gives; the repository is as it was. */
class Refusal extends Error {}
class UsageError extends Error {}

function parseArgs(argv) {
  const args = { version: undefined, registry: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--registry') {
      args.registry = argv[++i];
      if (!args.registry) throw new UsageError('--registry needs a URL');
    }
    else if (argv[i].startsWith('--registry=')) args.registry = argv[i].slice('--registry='.length);
    else if (!args.version && !argv[i].startsWith('-')) args.version = argv[i];
    else throw new UsageError(`unexpected argument ${JSON.stringify(argv[i])}. Usage: npm run release -- <version> [--registry <url>]`);
  }
  if (!args.version) throw new UsageError('which version? Usage: npm run release -- <version> [--registry <url>]');
  if (!SEMVER.test(args.version)) throw new UsageError(`${JSON.stringify(args.version)} is not a semantic version (like 1.4.0 or 2.0.0-rc.1)`);
  return args;
}

/** Negative, zero or positive as a is older than, the same as, or newer than b (semver precedence). */
function compareVersions(a, b) {
  const [coreA, preA] = a.split(/-(.*)/s);
  const [coreB, preB] = b.split(/-(.*)/s);
  const na = coreA.split('.').map(Number);
  const nb = coreB.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (na[i] !== nb[i]) return na[i] - nb[i];
  if (!preA || !preB) return (preA ? -1 : 0) + (preB ? 1 : 0);
  const pa = preA.split('.');
  const pb = preB.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const [x, y] = [pa[i], pb[i]];
    const numeric = /^\d+$/.test(x) && /^\d+$/.test(y);
    if (x !== y) return numeric ? Number(x) - Number(y) : /^\d+$/.test(x) ? -1 : /^\d+$/.test(y) ? 1 : x < y ? -1 : 1;
  }
  return 0;
}

const git = (root, ...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

function tagCommit(root, tag) {
  try {
    return git(root, 'rev-parse', '--verify', '--quiet', `refs/tags/${tag}^{commit}`);
  } catch {
    return undefined;
  }
}

/** Sets every package's version and the ranges between them; returns the files written. */
function bump(packages, version) {
  const names = new Set(packages.map((p) => p.name));
  const written = [];
  for (const pkg of packages) {
    const path = join(pkg.dir, 'package.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    manifest.version = version;
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies', 'devDependencies']) {
      for (const dep of Object.keys(manifest[field] ?? {})) {
        // An exact pin stays exact (the CLI runs the components it was tested with); any other
        // range becomes a caret on the new version.
        if (names.has(dep)) manifest[field][dep] = /^\d/.test(manifest[field][dep]) ? version : `^${version}`;
      }
    }
    writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
    written.push(path);
  }
  return written;
}

/** Runs a command with its output shown; returns its exit status. */
function shown(root, command, args, env) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  return result.status ?? 1;
}

function isPublished(root, pkg, version, env) {
  const result = spawnSync('npm', ['view', `${pkg.name}@${version}`, 'version', '--json'], { cwd: root, env, encoding: 'utf8' });
  if (result.status === 0) return result.stdout.trim() !== '';
  if (/E404/.test(result.stderr)) return false;
  throw new Error(`could not ask the registry whether ${pkg.name}@${version} is published:\n${result.stderr}`);
}

async function release(root, { version, registry }) {
  const env = { ...process.env, ...(registry ? { npm_config_registry: registry } : {}) };
  const log = (line) => console.log(`release: ${line}`);

  if (git(root, 'status', '--porcelain') !== '') {
    throw new Refusal('the working tree has uncommitted changes: commit or stash them first (a release publishes exactly one commit)');
  }
  let packages = publishablePackages(root);
  const versions = new Set(packages.map((p) => p.version));
  if (versions.size !== 1) {
    throw new Refusal(`the packages are not at one version, so they cannot be released together: ${packages.map((p) => `${p.name}@${p.version}`).join(', ')}`);
  }
  const [current] = versions;
  const tag = `v${version}`;
  const resuming = current === version && tagCommit(root, tag) === git(root, 'rev-parse', 'HEAD');
  if (!resuming) {
    if (compareVersions(version, current) <= 0) throw new Refusal(`${version} is not newer than the current version, ${current}`);
    if (tagCommit(root, tag)) throw new Refusal(`the tag ${tag} already exists`);
  }
  const order = releaseOrder(packages).map((p) => p.name);
  log(`${resuming ? 'carrying on with' : 'releasing'} ${version}, in this order: ${order.join(', ')}`);

  // Until the release commit exists, any failure leaves the repository as it was.
  let written = [];
  try {
    if (!resuming) {
      written = bump(packages, version);
      if (existsSync(join(root, 'package-lock.json'))) {
        // The lockfile records the workspace packages' versions. Offline: a release never
        // re-resolves third-party dependencies behind the tests' back.
        execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
        written.push(join(root, 'package-lock.json'));
      }
      packages = publishablePackages(root);
    }
    const byName = new Map(packages.map((p) => [p.name, p]));
    const ordered = order.map((name) => byName.get(name));

    const rootScripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};
    for (const script of ['clean', 'build']) {
      if (rootScripts[script] && shown(root, 'npm', ['run', script], env) !== 0) throw new Refusal(`npm run ${script} failed`);
    }
    for (const pkg of ordered) {
      if (!pkg.manifest.scripts?.test) throw new Refusal(`${pkg.name} has no test script: a package is released only when its tests pass`);
      const args = ['test', ...(pkg.location ? ['--workspace', pkg.location] : [])];
      log(`testing ${pkg.name} (npm ${args.join(' ')})`);
      const status = shown(root, 'npm', args, env);
      if (status !== 0) throw new Refusal(`the tests of ${pkg.name} failed (npm ${args.join(' ')} exited with ${status})`);
    }
    const files = packedFiles(root);
    const problems = ordered.flatMap((pkg) => tarballProblems(pkg, files.get(pkg.name) ?? [], { root, packages }).map((p) => `${pkg.name}: ${p}`));
    if (problems.length > 0) throw new Refusal(`its tarballs are not complete:\n  ${problems.join('\n  ')}`);

    if (!resuming) {
      git(root, 'add', '--', ...written);
      git(root, 'commit', '--quiet', '-m', `Release ${version}`);
      git(root, 'tag', '-a', tag, '-m', `Release ${version}`);
      written = [];
      log(`committed and tagged ${tag}`);
    }

    const published = [];
    for (const pkg of ordered) {
      if (isPublished(root, pkg, version, env)) {
        log(`${pkg.name}@${version} is already published`);
        continue;
      }
      try {
        await publishPackage(root, pkg, { env });
      } catch (err) {
        const rest = ordered.slice(ordered.indexOf(pkg)).map((p) => p.name);
        throw new Error(
          `${err.message}\n${published.length ? `Published: ${published.join(', ')}. ` : ''}Not published: ${rest.join(', ')}.\n` +
            `Fix the cause, then run \`npm run release -- ${version}\` again: it carries on from there.`,
        );
      }
      published.push(pkg.name);
      log(`published ${pkg.name}@${version}`);
    }
    log(`done: ${order.map((name) => `${name}@${version}`).join(', ')}`);
  } catch (err) {
    if (written.length === 0) throw err;
    git(root, 'checkout', '--', ...written);
    throw new Refusal(`${err.message.trimEnd()}\nNothing was published, and the version bump was undone`);
  }
}

try {
  const args = parseArgs(process.argv.slice(2));
  await release(process.cwd(), args).catch((err) => {
    if (err instanceof Refusal) err.message = `refusing to release ${args.version}: ${err.message}.`;
    throw err;
  });
} catch (err) {
  console.error(`release: ${err.message}`);
  process.exit(err instanceof UsageError ? 2 : 1);
}
