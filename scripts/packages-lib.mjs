// The publishable packages of this repository and what makes one complete. Shared by the
// release script (scripts/release.mjs), which refuses to publish an incomplete tarball, and by
// the package tests (test/packages/), so both judge a tarball by the same rules.
//
// Packages are found the way npm finds them (`npm query .workspace`), never from a list, so a
// new workspace package is released and checked like the others.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix } from 'node:path';

/** npm with output captured; stderr is kept for the error message. */
export function npm(args, options = {}) {
  return execFileSync('npm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024, ...options });
}

function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/**
 * The packages that get published: the root package (the CLI) and every workspace package
 * that is not private. `location` is the path from the root ('' for the root).
 */
export function publishablePackages(root) {
  const rootManifest = readManifest(root);
  // npm query reads the installed tree: in a checkout that was never installed it finds none.
  const workspaces = JSON.parse(npm(['query', '.workspace'], { cwd: root }));
  if ((rootManifest.workspaces ?? []).length > 0 && workspaces.length === 0) {
    throw new Error(`npm finds no workspace package in ${root}, which declares workspaces: run \`npm ci\` first`);
  }
  const all = [
    { name: rootManifest.name, version: rootManifest.version, dir: root, location: '', manifest: rootManifest },
    ...workspaces.map((w) => ({ name: w.name, version: w.version, dir: w.path, location: w.location, manifest: readManifest(w.path) })),
  ];
  return all.filter((p) => !p.manifest.private);
}

const RUNTIME_DEPENDENCY_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** The names of the given packages that `pkg` needs at run time. */
export function internalDependencies(pkg, names) {
  const found = new Set();
  for (const field of RUNTIME_DEPENDENCY_FIELDS) for (const dep of Object.keys(pkg.manifest[field] ?? {})) if (names.has(dep)) found.add(dep);
  return [...found];
}

/**
 * Dependency order: every package after the packages it needs at run time, so that a user who
 * installs while a release is being published never gets a version whose dependencies are not
 * there yet. Ties keep the order given. A cycle is an error naming its members.
 */
export function releaseOrder(packages) {
  const names = new Set(packages.map((p) => p.name));
  const pending = new Map(packages.map((p) => [p.name, new Set(internalDependencies(p, names))]));
  const order = [];
  while (pending.size > 0) {
    const ready = packages.filter((p) => pending.has(p.name) && pending.get(p.name).size === 0);
    if (ready.length === 0) throw new Error(`the packages depend on each other in a cycle: ${[...pending.keys()].join(', ')}`);
    for (const p of ready) {
      order.push(p);
      pending.delete(p.name);
      for (const deps of pending.values()) deps.delete(p.name);
    }
  }
  return order;
}

/**
 * What `npm pack` would put in each package's tarball, by package name (scripts are not run:
 * build first).
 */
export function packedFiles(root) {
  const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts', '--workspaces', '--include-workspace-root'], { cwd: root }));
  return new Map(listing.map((entry) => [entry.name, entry.files.map((f) => f.path)]));
}

/** The module specifiers a JavaScript or declaration file imports, statically or dynamically. */
export function importedSpecifiers(code) {
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*(['"])([^'"\n]+)\1/gm, // import … from 'x', export … from 'x'
    /^\s*import\s*(['"])([^'"\n]+)\1/gm, // import 'x'
    /\b(?:import|require)\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g, // import('x'), require('x')
  ];
  return [...new Set(patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((m) => m[2])))];
}

/** Every path a package.json field points at: main, types, bin and each `exports` target. */
export function entryPoints(manifest) {
  const targets = [];
  const walk = (value, where) => {
    if (typeof value === 'string') targets.push({ field: where, target: value });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${where}[${JSON.stringify(k)}]`);
  };
  for (const field of ['main', 'types', 'typings', 'module']) if (manifest[field]) walk(manifest[field], field);
  if (typeof manifest.bin === 'string') walk(manifest.bin, 'bin');
  else if (manifest.bin) walk(manifest.bin, 'bin');
  if (manifest.exports) walk(manifest.exports, 'exports');
  return targets;
}

const DEV_ONLY = [
  [/(^|\/)(test|tests|__tests__|fixtures)\//, 'a test file'],
  [/\.(test|spec)\.[cm]?[jt]sx?$/, 'a test file'],
  [/\.tsbuildinfo$/, 'a TypeScript build cache'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a TypeScript project file'],
  [/(^|\/)\.[^/]+/, 'a dot file'],
  [/(^|\/)vitest\.config\./, 'a test runner config'],
];

/**
 * Why a package's tarball is not complete, or [] when it is: a LICENSE identical to the
 * root's, a README, a repository field locating the package, no export or source map that
 * points outside the tarball, no development-only file, internal dependencies on exactly
 * the versions released together. `files` are the tarball's paths, as `npm pack` lists them.
 */
export function tarballProblems(pkg, files, context) {
  const problems = [];
  const shipped = new Set(files);
  const manifest = pkg.manifest;
  const onDisk = (path) => readFileSync(join(pkg.dir, path), 'utf8');
  const onDiskExists = (path) => existsSync(join(pkg.dir, path));

  if (!shipped.has('LICENSE')) problems.push('LICENSE is not in the tarball');
  else if (onDisk('LICENSE') !== readFileSync(join(context.root, 'LICENSE'), 'utf8')) problems.push('LICENSE differs from the repository LICENSE');
  if (!files.some((f) => /^readme(\.md)?$/i.test(f))) problems.push('README.md is not in the tarball');

  const rootManifest = readManifest(context.root);
  if (manifest.license !== rootManifest.license) problems.push(`license is ${JSON.stringify(manifest.license)}, the repository's is ${JSON.stringify(rootManifest.license)}`);
  const repository = manifest.repository;
  if (!repository || typeof repository !== 'object' || typeof repository.url !== 'string') {
    problems.push('repository is missing (an object with type, url and, for a workspace package, directory)');
  } else if ((repository.directory ?? '') !== pkg.location) {
    problems.push(`repository.directory is ${JSON.stringify(repository.directory)}, the package is at ${JSON.stringify(pkg.location)}`);
  }
  if (pkg.name.startsWith('@') && manifest.publishConfig?.access !== 'public') {
    problems.push('publishConfig.access is not "public": a scoped package would be published restricted');
  }
  if (!manifest.engines?.node) problems.push('engines.node is missing');

  for (const { field, target } of entryPoints(manifest)) {
    const path = posix.normalize(target);
    if (path.includes('*')) {
      const pattern = new RegExp(`^${path.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.+')}$`);
      if (!files.some((f) => pattern.test(f))) problems.push(`${field} → ${target} matches no file in the tarball`);
    } else if (!shipped.has(path)) {
      problems.push(`${field} → ${target} is not in the tarball`);
    }
  }

  for (const file of files) {
    if (/\.[cm]?js$/.test(file)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(onDisk(file))?.[1];
      if (url && !url.startsWith('data:')) {
        const map = posix.join(posix.dirname(file), url);
        if (!shipped.has(map)) problems.push(`${file}: its source map ${map} is not in the tarball`);
      }
    }
    if (file.endsWith('.map')) {
      const map = JSON.parse(onDisk(file));
      for (const source of map.sources ?? []) {
        const path = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
        if (!shipped.has(path)) {
          // tsc never deletes the output of a source that was moved or removed.
          const stale = !onDiskExists(path);
          problems.push(`${file}: its source ${path} is not in the tarball${stale ? ' (it no longer exists: a stale build output, which `npm run clean` removes)' : ''}`);
        }
      }
    }
    for (const [pattern, what] of DEV_ONLY) if (pattern.test(file)) problems.push(`${file} is ${what}, not for users`);
    // Compiled declarations (next to their .js) are for library users; a package without
    // `types` (the CLI) has none. Hand-written ones among the sources are sources.
    const compiled = /\.d\.([cm]?)ts$/.exec(file);
    if (compiled && !manifest.types && !manifest.typings && shipped.has(file.replace(/\.d\.[cm]?ts$/, `.${compiled[1]}js`))) {
      problems.push(`${file}: compiled type declarations in a package that declares no types`);
    }
  }

  // What the shipped code imports must be declared, or a user's install lacks it (a
  // devDependency, or a package the repository happens to have hoisted).
  const declared = new Set([manifest.name, ...RUNTIME_DEPENDENCY_FIELDS.flatMap((f) => Object.keys(manifest[f] ?? {}))]);
  for (const file of files.filter((f) => /\.(d\.)?[cm]?[jt]s$/.test(f) && !f.startsWith('src/'))) {
    for (const specifier of importedSpecifiers(onDisk(file))) {
      if (/^(\.|\/|node:)/.test(specifier) || builtinModules.includes(specifier.split('/')[0])) continue;
      const name = specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
      if (!declared.has(name)) problems.push(`${file} imports ${name}, which is not among its dependencies or peerDependencies`);
    }
  }

  const released = new Map(context.packages.map((p) => [p.name, p.version]));
  for (const field of RUNTIME_DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      const version = released.get(dep);
      if (version !== undefined && range !== version && range !== `^${version}`) {
        problems.push(`${field}.${dep} is ${JSON.stringify(range)}, but ${dep} is released as ${version} with it`);
      }
    }
  }
  return problems;
}

/**
 * `npm publish` of one package, from the repository root, to the registry npm is configured
 * with (`env` may point it elsewhere). Lifecycle scripts are not run: the release builds once,
 * cleanly, before it tests and checks what it publishes. A prerelease goes to the `next` tag.
 */
export async function publishPackage(root, pkg, { env = process.env } = {}) {
  const args = ['publish', '--ignore-scripts'];
  if (pkg.location) args.push('--workspace', pkg.location);
  if (pkg.manifest.version.includes('-')) args.push('--tag', 'next');
  await new Promise((resolve, reject) => {
    execFile('npm', args, { cwd: root, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`npm ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr || stdout}`));
      else resolve(stdout);
    });
  });
}
