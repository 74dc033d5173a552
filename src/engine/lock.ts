/**
 * One run per instance. The lock is a small JSON file naming its holder (command line, PID,
 * host, start time). It is created exclusively and complete (a flushed temporary file is
 * hard-linked into place, so nobody ever reads a half-written lock).
 *
 * A lock left by a process of this host that no longer exists is stale and is taken over,
 * and the takeover is logged. Two processes that find the same stale lock must not both take
 * it over, so a takeover first creates an exclusive marker named after the stale lock's token,
 * re-reads the lock to check it is still the stale one, and only then replaces it. Any other
 * lock (live, or from another host, which we cannot check) is reported and never broken.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { basename, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { FailureError, errorMessage } from '../errors.js';
import { fsyncDirectory, writeFileAtomic, writeFlushedTemp } from '../fs-atomic.js';
import type { Reporter } from '../progress/events.js';

const lockInfoSchema = z.looseObject({
  holder: z.string(),
  command: z.string(),
  instance: z.string(),
  pid: z.number().int(),
  hostname: z.string(),
  startedAt: z.string(),
  /** Unique per acquisition: tells our lock from a later one with the same PID. */
  token: z.string().min(1),
});
export type LockInfo = z.infer<typeof lockInfoSchema>;

export interface AcquireLockOptions {
  command: string;
  instance: string;
  reporter: Reporter;
  /** The command line shown to whoever finds the lock. Default: this process's arguments. */
  holder?: string;
  /** How long to wait for another process that is taking over the same stale lock. */
  takeoverTimeoutMs?: number;
}

export interface InstanceLock {
  readonly path: string;
  readonly info: LockInfo;
  /** Removes the lock if it is still ours; does nothing the second time. */
  release(): Promise<void>;
}

/**
 * Tokens of locks this process holds or is taking over. A lock with our own PID but a token
 * not in here was left by an earlier process that had the same PID (PIDs are reused, notably
 * in containers), so it is stale even though `kill(pid, 0)` succeeds.
 */
const ownTokens = new Set<string>();

/**
 * Whether a process exists. Signal 0 checks without delivering anything: ESRCH means no such
 * process; EPERM means it exists but belongs to another user, so it counts as alive.
 */
export function isPidAlive(pid: number): boolean {
  // kill(0) or a negative PID would address a process group: never call that dead.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

type HolderState = 'live' | 'stale' | 'other-host';

function holderState(info: LockInfo): HolderState {
  // Host names are case-insensitive.
  if (info.hostname.toLowerCase() !== osHostname().toLowerCase()) return 'other-host';
  if (info.pid === process.pid) return ownTokens.has(info.token) ? 'live' : 'stale';
  return isPidAlive(info.pid) ? 'live' : 'stale';
}

/** `lookout create aws prod -c x`: how this process was started, for the lock's holder field. */
export function currentCommandLine(): string {
  const program = process.argv[1] ? basename(process.argv[1]) : basename(process.execPath);
  const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg));
  return [program, ...process.argv.slice(2)].map(quote).join(' ');
}

/** "`lookout create aws prod` (PID 123 on host-a, started 2024-05-01T10:00:00.000Z)" */
export function describeLockHolder(info: LockInfo): string {
  return `\`${info.holder}\` (PID ${info.pid} on ${info.hostname}, started ${info.startedAt})`;
}

interface ReadLock {
  text: string;
  info: LockInfo;
}

/** The lock at `path`; undefined when there is none. Throws when it exists but is not a lock. */
async function readLockFile(path: string): Promise<ReadLock | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FailureError(`could not read the lock file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = lockInfoSchema.safeParse(json);
  if (!parsed.success) {
    throw new FailureError(`the lock file ${path} is not a lookout lock, so its holder cannot be checked`, {
      hint: `If no lookout run is working on this instance, delete ${path} and run again.`,
    });
  }
  return { text, info: parsed.data };
}

/** The current lock holder, for `status`; undefined when the instance is not locked. */
export async function readInstanceLock(path: string): Promise<LockInfo | undefined> {
  return (await readLockFile(path))?.info;
}

/** Creates `path` with `content` only if it does not exist; false when it does. */
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = await writeFlushedTemp(path, content, 0o600);
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncDirectory(dirname(path));
  return true;
}

function lockedError(lockPath: string, instance: string, info: LockInfo, state: HolderState): FailureError {
  const message = `instance "${instance}" is locked by another lookout run: ${describeLockHolder(info)}`;
  const hint =
    state === 'other-host'
      ? `Wait for that run to finish. If the run on ${info.hostname} is really dead (for example that machine is gone), delete the lock file at ${lockPath} and run again.`
      : `Wait for that run to finish (or stop it with Ctrl-C, or \`kill ${info.pid}\`). If it is really dead, delete the lock file at ${lockPath} and run again.`;
  return new FailureError(message, { hint });
}

type TakeoverOutcome = 'won' | 'changed' | 'busy';

/**
 * Replaces the stale lock `stale` with ours unless another process is doing the same.
 * The marker `<lock>.takeover-<token of what is being taken over>` is created exclusively, so of
 * all processes that read the same stale lock exactly one gets it. A marker whose creator died
 * mid-takeover is itself stale, and is taken over the same way, one level down.
 */
async function takeOver(lockPath: string, stale: ReadLock, content: string): Promise<TakeoverOutcome> {
  const deadMarkers: string[] = [];
  let key = stale.info.token;
  let mine: string | undefined;
  while (mine === undefined) {
    const marker = `${lockPath}.takeover-${key.replace(/[^\w-]/g, '_')}`;
    if (await createExclusive(marker, content)) {
      mine = marker;
      break;
    }
    const other = await readLockFile(marker);
    if (!other) return 'changed';
    if (holderState(other.info) !== 'stale') return 'busy';
    deadMarkers.push(marker);
    key = other.info.token;
  }
  try {
    const now = await readLockFile(lockPath);
    if (now?.text !== stale.text) return 'changed';
    await writeFileAtomic(lockPath, content, { mode: 0o600 });
    // The stale lock is gone, so nobody can use these markers any more.
    for (const marker of deadMarkers) await rm(marker, { force: true });
    return 'won';
  } finally {
    await rm(mine, { force: true });
  }
}

/**
 * Takes the lock of one instance, or throws a FailureError naming who holds it. A stale lock of
 * this host is taken over with a warning. Release the returned lock in a `finally`.
 */
export async function acquireInstanceLock(lockPath: string, options: AcquireLockOptions): Promise<InstanceLock> {
  const info: LockInfo = {
    holder: options.holder ?? currentCommandLine(),
    command: options.command,
    instance: options.instance,
    pid: process.pid,
    hostname: osHostname(),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  const content = JSON.stringify(info, null, 2) + '\n';
  const deadline = Date.now() + (options.takeoverTimeoutMs ?? 10_000);
  ownTokens.add(info.token);
  try {
    for (;;) {
      if (await createExclusive(lockPath, content)) break;
      const existing = await readLockFile(lockPath);
      if (!existing) continue; // released between our attempt and the read
      const state = holderState(existing.info);
      if (state !== 'stale') throw lockedError(lockPath, options.instance, existing.info, state);
      const outcome = await takeOver(lockPath, existing, content);
      if (outcome === 'won') {
        options.reporter.emit({
          type: 'log',
          level: 'warn',
          message: `Took over the stale lock of instance "${options.instance}" held by ${describeLockHolder(existing.info)}: that process no longer exists.`,
        });
        break;
      }
      if (outcome === 'busy') {
        if (Date.now() > deadline) {
          throw new FailureError(`another process is taking over the stale lock of instance "${options.instance}" and has not finished`, {
            hint: `Run again in a moment. If it stays like this, delete ${lockPath} and the ${lockPath}.takeover-* files once no lookout run is active.`,
          });
        }
        // Another process is between its marker and its replacement (milliseconds); look again.
        await delay(20);
      }
    }
  } catch (err) {
    ownTokens.delete(info.token);
    throw err;
  }

  let released = false;
  return {
    path: lockPath,
    info,
    async release() {
      if (released) return;
      released = true;
      try {
        const current = await readLockFile(lockPath).catch(() => undefined);
        if (current?.info.token === info.token) {
          await rm(lockPath, { force: true });
          await fsyncDirectory(dirname(lockPath));
        } else {
          options.reporter.emit({
            type: 'log',
            level: 'warn',
            message: current
              ? `The lock of instance "${options.instance}" is now held by ${describeLockHolder(current.info)}, not by this run; left it in place.`
              : `The lock of instance "${options.instance}" at ${lockPath} was removed by someone else while this run held it.`,
          });
        }
      } finally {
        // Only now: until the file is gone, our PID with this token must still count as live.
        ownTokens.delete(info.token);
      }
    },
  };
}
