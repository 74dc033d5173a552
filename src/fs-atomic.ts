/**
 * Crash-safe file writes. A reader (or a process started after a crash or power loss) sees
 * either the old content or the new content of a file, never a mix or an empty file: the new
 * content goes to a temporary file in the same directory, is flushed to disk, and is renamed
 * over the target, and the directory is flushed so the rename itself survives a crash.
 *
 * Used for the journal, the lock, instance records, kubeconfigs and anything holding secrets,
 * so the default mode is owner-only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FailureError, errorMessage } from './errors.js';

export interface WriteFileAtomicOptions {
  /** Permission bits of the written file. Default 0o600: only the owner can read it. */
  mode?: number;
}

/**
 * A name for a temporary sibling of `path`. It starts with a dot and ends with `.tmp` so a
 * leftover from a killed process is recognisable, and carries the PID and random bytes so
 * concurrent writers never share one.
 */
export function tempSiblingPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Flushes a directory's entries (a rename or link in it) to disk. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Some platforms and file systems cannot open or fsync a directory; the rename has still
    // happened, it is only less durable there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a complete file that has been flushed to disk, with exactly `mode` (not reduced by
 * the umask), at a temporary path next to `path`; returns that path. The caller moves it into
 * place (rename, or link for an exclusive create) and removes it on failure.
 */
export async function writeFlushedTemp(path: string, data: string | Uint8Array, mode: number): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = tempSiblingPath(path);
  const handle = await open(temp, 'wx', mode);
  try {
    // The umask may have removed bits from the mode given to open; set it exactly.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  return temp;
}

/**
 * Replaces `path` with `data` atomically and durably. Creates the parent directory (0o700)
 * when missing. On failure the target is unchanged and no temporary file is left behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  const temp = await writeFlushedTemp(path, data, mode);
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDirectory(dirname(path));
}

/** `writeFileAtomic` of a value as pretty-printed JSON with a trailing newline. */
export async function writeJsonAtomic(path: string, value: unknown, options: WriteFileAtomicOptions = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', options);
}

/**
 * The parsed JSON content of `path`, or undefined when the file does not exist. The value is
 * not validated: callers that care check its shape (and its format version) themselves.
 */
export async function readJsonIfExists<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FailureError(`could not read ${path}: ${errorMessage(err)}`, {
      cause: err,
      hint: 'Check that the file and its directory belong to you and are readable.',
    });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new FailureError(`${path} is not valid JSON (${errorMessage(err)})`, {
      cause: err,
      hint: 'The file was damaged or edited by hand. Repair it, or move it aside if you know it is not needed.',
    });
  }
}
