/**
 * The real engines that some suites run: programs built from pinned Go modules by
 * `npm run test:binaries` (test/binaries.json) into a cache outside the repository. A suite
 * asks for what it needs; when something is missing it gets a reason that names the binary
 * and the command that builds it, puts it in its title, and skips. Nothing is ever built or
 * downloaded at test time.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
// The builder and the suites share one layout (plain JS, so the builder runs without a compile step).
import { binDir, entryKey, loadPinned } from '../../scripts/test-binaries-lib.mjs';

interface PinnedEntry {
  name: string;
  module: string;
  version: string;
  packages: Record<string, string>;
}

export interface BinaryRequest {
  /** The entry's `name` in test/binaries.json. */
  name: string;
  /** Which program of the entry (defaults to one named like the entry). */
  binary?: string;
  /** A specific version, when the list pins more than one (the first listed otherwise). */
  version?: string;
}

export interface Binaries {
  /** Absolute paths by request key (`binary` or `name`), when everything was found. */
  paths: Record<string, string>;
  /** Why the suite cannot run, naming what is missing and the command that builds it; undefined when all are present. */
  missing?: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Looks up every requested binary in the cache; never builds anything. */
export function testBinaries(requests: ReadonlyArray<BinaryRequest | string>): Binaries {
  const pinned = loadPinned() as PinnedEntry[];
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  const toBuild = new Set<string>();
  for (const r of requests.map((x) => (typeof x === 'string' ? { name: x } : x))) {
    const entry = pinned.find((e) => e.name === r.name && (r.version === undefined || e.version === r.version));
    if (!entry) throw new Error(`test/binaries.json lists no ${r.name}${r.version ? `@${r.version}` : ''}`);
    const binary = r.binary ?? r.name;
    if (!(binary in entry.packages)) throw new Error(`test/binaries.json: ${entryKey(entry)} builds no program named ${binary}`);
    const path = join(binDir(entry), binary);
    if (isExecutable(path)) paths[binary] = path;
    else {
      missing.push(`${binary} (${entryKey(entry)})`);
      toBuild.add(r.version ? entryKey(entry) : entry.name);
    }
  }
  if (!missing.length) return { paths };
  return { paths, missing: `not built: ${missing.join(', ')}; build with \`npm run test:binaries -- ${[...toBuild].join(' ')}\`` };
}

/** A suite title that says, when the suite skips, exactly why and how to fix it. */
export function suiteTitle(title: string, binaries: Binaries): string {
  if (!binaries.missing) return title;
  const full = `${title} (skipped: ${binaries.missing})`;
  console.warn(`SKIPPED: ${full}`);
  return full;
}
