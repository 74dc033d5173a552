/**
 * Writes `plan --render` files into a directory: a new or empty one, or one an earlier render
 * wrote (its marker file lists what it wrote). Those earlier files are replaced, so objects
 * that left the plan leave the directory too; anything else in it (a `.git`, notes) is kept.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import type { RenderedFile } from './render-files.js';

export const RENDER_MARKER = '.lookout-render.json';

export interface RenderMarker {
  renderedBy: 'lookout plan --render';
  instance: string;
  provider: string;
  bundle: string;
  files: string[];
}

function previousMarker(dir: string): RenderMarker | undefined {
  const path = join(dir, RENDER_MARKER);
  if (!existsSync(path)) return undefined;
  try {
    const marker = JSON.parse(readFileSync(path, 'utf8')) as RenderMarker;
    return Array.isArray(marker.files) ? marker : undefined;
  } catch {
    return undefined;
  }
}

/** Removes `path` and then each parent up to `root` that is left empty. */
function removeWithEmptyParents(root: string, path: string): void {
  rmSync(path, { force: true });
  for (let d = dirname(path); d !== root && d.startsWith(root + sep); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty
    }
  }
}

export function writeRenderedFiles(dirArg: string, files: readonly RenderedFile[], meta: Omit<RenderMarker, 'renderedBy' | 'files'>): void {
  const dir = resolve(dirArg);
  if (existsSync(dir)) {
    if (!lstatSync(dir).isDirectory()) {
      throw new UsageError(`--render ${dirArg}: not a directory`, { hint: 'Give a new or empty directory.' });
    }
    const marker = previousMarker(dir);
    if (marker) {
      for (const f of marker.files) {
        const path = resolve(dir, f);
        // A marker is data from disk: never let it point outside the directory.
        if (path.startsWith(dir + sep)) removeWithEmptyParents(dir, path);
      }
    } else if (readdirSync(dir).length > 0) {
      throw new UsageError(`--render ${dirArg}: the directory is not empty, and no earlier \`lookout plan --render\` wrote it`, {
        hint: 'Give a new or empty directory, or one an earlier render wrote (its files are then replaced).',
      });
    }
  }
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const path = join(dir, ...f.path.split('/'));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content, { mode: 0o644 });
  }
  const marker: RenderMarker = { renderedBy: 'lookout plan --render', ...meta, files: files.map((f) => f.path) };
  writeFileSync(join(dir, RENDER_MARKER), JSON.stringify(marker, null, 2) + '\n', { mode: 0o644 });
}
