// Where the pinned test binaries live. Shared by the builder (scripts/test-binaries.mjs) and
// the test suites (test/support/test-binaries.ts), so both agree on one layout:
//   <cache>/<name>-<version>/{<binary>…, build.json}   and   <cache>/manifest.json
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PINNED_FILE = fileURLToPath(new URL('../test/binaries.json', import.meta.url));

/** `LOOKOUT_TEST_BIN_DIR`, else `$XDG_CACHE_HOME/lookout/test-bin`, else `~/.cache/lookout/test-bin`. */
export function cacheRoot() {
  if (process.env.LOOKOUT_TEST_BIN_DIR) return process.env.LOOKOUT_TEST_BIN_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'lookout', 'test-bin');
}

export function loadPinned() {
  return JSON.parse(readFileSync(PINNED_FILE, 'utf8')).binaries;
}

export function entryKey(entry) {
  return `${entry.name}@${entry.version}`;
}

export function binDir(entry) {
  return join(cacheRoot(), `${entry.name}-${entry.version}`);
}

/** Changes whenever what the entry builds would change, so a stale build is rebuilt. */
export function recipeHash(entry) {
  const { why: _why, ...recipe } = entry;
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

export function manifestPath() {
  return join(cacheRoot(), 'manifest.json');
}

export function readManifest() {
  if (!existsSync(manifestPath())) return { builds: {} };
  try {
    return JSON.parse(readFileSync(manifestPath(), 'utf8'));
  } catch {
    return { builds: {} };
  }
}

/** The upstream go.mod's replace directives, as [from, to] pairs of `path[ version]`. */
export function upstreamReplaces(goModText) {
  const lines = [];
  const text = goModText.replace(/\/\/[^\n]*/g, '');
  for (const m of text.matchAll(/^replace\s*\(([\s\S]*?)^\)/gm)) lines.push(...m[1].split('\n'));
  for (const m of text.matchAll(/^replace\s+([^(\n][^\n]*)$/gm)) lines.push(m[1]);
  return lines
    .map((l) => l.trim())
    .filter((l) => l.includes('=>'))
    .map((l) => l.split('=>').map((s) => s.trim()));
}

/** The versions the upstream go.mod requires, by module path. */
export function upstreamRequires(goModText) {
  const text = goModText.replace(/\/\/[^\n]*/g, '');
  const lines = [];
  for (const m of text.matchAll(/^require\s*\(([\s\S]*?)^\)/gm)) lines.push(...m[1].split('\n'));
  for (const m of text.matchAll(/^require\s+([^(\n][^\n]*)$/gm)) lines.push(m[1]);
  const out = {};
  for (const line of lines) {
    const [path, version] = line.trim().split(/\s+/);
    if (path && version) out[path] = version;
  }
  return out;
}

export function wrapperGoMod(entry, upstreamGoMod, sourceDir) {
  const goVersion = /^go\s+(\S+)/m.exec(upstreamGoMod)?.[1] ?? '1.24';
  const out = [`module lookout.test/${entry.name}`, '', `go ${goVersion}`, '', `require ${entry.module} ${entry.version}`, ''];
  const requires = upstreamRequires(upstreamGoMod);
  for (const [from, to] of upstreamReplaces(upstreamGoMod)) {
    const fromPath = from.split(/\s+/)[0];
    if (to.startsWith('.') || to.startsWith('/')) {
      // A directory of the upstream repository: that module at the entry's sibling version.
      // A path that names no real module (etcd's FORBIDDEN_DEPENDENCY guard) is left out.
      // The version upstream requires is the released sibling (etcd's client/v2 is v2.305.x
      // beside v3.5.x); a v0.0.0 placeholder (Kubernetes' staging modules) takes `siblings`.
      if (to.includes('FORBIDDEN')) continue;
      const required = requires[fromPath];
      const version = required && required !== 'v0.0.0' ? required : entry.siblings;
      if (!version) throw new Error(`${entryKey(entry)}: upstream replaces ${fromPath} with ${to}; give the entry a "siblings" version`);
      out.push(`replace ${fromPath} => ${fromPath} ${version}`);
    } else {
      out.push(`replace ${from} => ${to}`);
    }
  }
  if (sourceDir) out.push(`replace ${entry.module} => ${sourceDir}`);
  return out.join('\n') + '\n';
}
