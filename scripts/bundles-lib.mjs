// The bundle chain as the release procedure sees it (docs/releasing.md): which bundles exist,
// whether they chain, and the skeleton of the next one. Plain JavaScript over the JSON files, so
// it runs before anything is built.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = /^(\d{4})\.(\d{1,2})\.(\d+)$/;

/** Compares calendar bundle versions (`2026.11.0`) numerically. */
export function compareVersions(a, b) {
  const [pa, pb] = [a.split('.').map(Number), b.split('.').map(Number)];
  return pa[0] - pb[0] || pa[1] - pb[1] || pa[2] - pb[2];
}

/** The month after `version`'s: 2026.12.0 → 2027.1.0. */
export function nextVersion(version) {
  const m = VERSION.exec(version);
  if (!m) throw new Error(`${JSON.stringify(version)} is not a bundle version`);
  const [year, month] = [Number(m[1]), Number(m[2])];
  return month === 12 ? `${year + 1}.1.0` : `${year}.${month + 1}.0`;
}

/** Every `bundles/<version>.json`, oldest first. */
export function readBundles(dir) {
  return readdirSync(dir)
    .filter((f) => /^\d{4}\.\d{1,2}\.\d+\.json$/.test(f))
    .map((f) => ({ file: f, manifest: JSON.parse(readFileSync(join(dir, f), 'utf8')) }))
    .sort((a, b) => compareVersions(a.file.slice(0, -5), b.file.slice(0, -5)));
}

/**
 * What breaks the chain: a file whose version is not its name, a `previous` that is not the
 * bundle before it (the first has none), or a migration id used twice (an id names one
 * migration, run once, in the bundle that brings it). Empty when the bundles chain.
 */
export function chainProblems(bundles) {
  const problems = [];
  const seen = new Map();
  bundles.forEach(({ file, manifest }, i) => {
    const expected = i === 0 ? null : bundles[i - 1].manifest.version;
    if (manifest.version !== file.slice(0, -5)) problems.push(`${file}: declares version ${manifest.version}`);
    if ((manifest.previous ?? null) !== expected) {
      problems.push(`${file}: previous is ${JSON.stringify(manifest.previous ?? null)}, but the bundle before it is ${JSON.stringify(expected)}`);
    }
    if (!Array.isArray(manifest.migrations)) problems.push(`${file}: migrations must be a list`);
    for (const m of manifest.migrations ?? []) {
      if (!m?.id || !m?.description) problems.push(`${file}: every migration needs an id and a description`);
      else if (seen.has(m.id)) problems.push(`${file}: migration ${m.id} is already in ${seen.get(m.id)}`);
      else seen.set(m.id, file);
    }
  });
  return problems;
}

/**
 * The next bundle, for a person to edit: the newest one's pins and sizing, `previous` set,
 * no migrations, and no upstream notes (each component's `upstream` must be written again
 * from what was verified this month).
 */
export function nextBundle(newest, version, released) {
  const components = Object.fromEntries(
    Object.entries(newest.components).map(([name, { upstream: _stale, ...rest }]) => [name, rest]),
  );
  return {
    version,
    released,
    previous: newest.version,
    notes: 'TODO: what this bundle changes, for the upgrade preview. See docs/releasing.md.',
    components,
    sizing: newest.sizing,
    migrations: [],
  };
}

/** Writes `bundles/<version>.json`; refuses a broken chain, an existing file or an older version. */
export function createNextBundle(dir, { version, released }) {
  const bundles = readBundles(dir);
  const problems = chainProblems(bundles);
  if (problems.length) throw new Error(`the shipped bundles do not chain; fix them first:\n  ${problems.join('\n  ')}`);
  const newest = bundles.at(-1)?.manifest;
  if (!newest) throw new Error(`no bundle in ${dir} to start from`);
  const target = version ?? nextVersion(newest.version);
  if (!VERSION.test(target)) throw new Error(`${JSON.stringify(target)} is not a bundle version such as 2027.1.0`);
  if (compareVersions(target, newest.version) <= 0) throw new Error(`${target} is not newer than the newest bundle, ${newest.version}`);
  const path = join(dir, `${target}.json`);
  if (existsSync(path)) throw new Error(`${path} exists already`);
  const next = nextBundle(newest, target, released);
  const after = chainProblems([...bundles, { file: `${target}.json`, manifest: next }]);
  if (after.length) throw new Error(`the new bundle would not chain:\n  ${after.join('\n  ')}`);
  writeFileSync(path, `${JSON.stringify(next, null, 2)}\n`);
  return { path, version: target, previous: newest.version };
}
