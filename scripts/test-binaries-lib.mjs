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
