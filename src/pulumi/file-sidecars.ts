/**
 * Repair of the metadata sidecars in a file backend written before Lookout switched them off
 * (see `engineBackendUrl` in ./backend.ts for why they break a stack after a kill).
 *
 * gocloud's fileblob reads `<object>.attrs` on every read of `<object>` and decodes it as JSON,
 * so one empty or torn sidecar makes the object unreadable: the stack cannot even be selected.
 * A sidecar holds only a content type and an MD5 that Pulumi never reads, and fileblob treats a
 * missing sidecar as "no attributes", so removing a broken one loses nothing. Sidecars that
 * parse are left alone.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const SIDECAR = '.attrs';

function parsesAsObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * Removes the sidecars under `<stateDir>/.pulumi` that do not hold a JSON object, and returns
 * their paths. A directory that does not exist yet holds none.
 */
export async function removeBrokenSidecars(stateDir: string): Promise<string[]> {
  const root = join(stateDir, '.pulumi');
  let entries: string[];
  try {
    entries = await readdir(root, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const rel of entries.filter((e) => e.endsWith(SIDECAR)).sort()) {
    const path = join(root, rel);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') continue;
      throw err;
    }
    if (parsesAsObject(text)) continue;
    await rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}
