/**
 * Reads a file named by the user (the config, a CA bundle) without ever hanging or reading
 * without bound: it is opened non-blocking (opening a FIFO would otherwise wait for a writer
 * forever), refused unless it is a regular file, refused when larger than the limit, and
 * decoded as strict UTF-8.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export class FileReadProblem extends Error {
  constructor(
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(problem, options);
  }
}

function describeOpenError(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

function describeKind(stats: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (stats.isDirectory()) return 'it is a directory, not a file';
  if (stats.isFIFO()) return 'it is a named pipe (FIFO), not a regular file';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'it is a device, not a regular file';
  if (stats.isSocket()) return 'it is a socket, not a regular file';
  return 'it is not a regular file';
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

/** The text of `path`; throws FileReadProblem saying what is wrong with it. */
export async function readBoundedTextFile(path: string, maxBytes: number): Promise<string> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new FileReadProblem(describeOpenError(err), { cause: err });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new FileReadProblem(describeKind(stats));
    if (stats.size > maxBytes) {
      throw new FileReadProblem(`it is ${formatBytes(stats.size)}, and at most ${formatBytes(maxBytes)} is accepted`);
    }
    // Read one byte past the limit: a file that grew since stat() is refused too.
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new FileReadProblem(`it is larger than ${formatBytes(maxBytes)}, the most that is accepted`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch {
      throw new FileReadProblem('it is not UTF-8 text');
    }
  } catch (err) {
    if (err instanceof FileReadProblem) throw err;
    throw new FileReadProblem(describeOpenError(err), { cause: err });
  } finally {
    await handle.close();
  }
}
