/**
 * One run per instance. The lock names its holder: the command line, and the process as
 * `holder.ts` identifies it (host, PID, boot id, PID namespace, process start time).
 *
 * A lock is taken over only when its holder is provably dead: it ran under this machine's
 * current boot and in this PID namespace, and its PID is gone or now belongs to a later
 * process. Any other lock (a live one, one from another machine, another container or an
 * earlier boot, or one that does not say where it comes from) is reported with its holder and
 * what to do, and never broken. A shared backend adds one more rule, a lease (see
 * src/state/object-lock.ts); the local file lock has none.
 *
 * The holder also records the locks its child processes take elsewhere (Pulumi's stack locks),
 * with the identity of the process holding each, so that a later run can prove them stale too;
 * a run that takes over a dead holder's lock inherits these records. See src/pulumi/locks.ts.
 *
 * The file lock is created exclusively and complete (a flushed temporary file is hard-linked
 * into place, so nobody ever reads a half-written lock). Two processes that find the same
 * stale lock must not both take it over, so a takeover first creates an exclusive marker named
 * after the stale lock's token, re-reads the lock to check it is still the stale one, and only
 * then replaces it.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import { FailureError, errorMessage } from '../errors.js';
import { fsyncDirectory, writeFileAtomic, writeFlushedTemp } from '../fs-atomic.js';
import type { Reporter } from '../progress/events.js';
import { isThisProcess, judgeProcess, localHostProbe, type HostProbe, type ProcessIdentity, type Verdict } from './holder.js';

export { isPidAlive } from './holder.js';

/** A ProcessIdentity, as locks record it. */
const identityFields = {
  hostname: z.string(),
  pid: z.number().int(),
  bootId: z.string().optional(),
  machineId: z.string().optional(),
  pidNamespace: z.string().optional(),
  processStart: z.string().optional(),
};

/** A lock that a child process of the holder took elsewhere (a Pulumi stack lock), and who holds it. */
const childLockSchema = z.object({
  /** Where that lock is, as its store names it (a key relative to the backend root). */
  key: z.string().min(1),
  /** The process holding it: a descendant of the lock holder, seen in /proc. */
  process: z.object(identityFields),
  recordedAt: z.string(),
});
export type ChildLockRecord = z.infer<typeof childLockSchema>;

/** Records kept per lock; the oldest are dropped beyond this. */
const CHILD_LOCK_LIMIT = 64;

// Loose: a newer lookout may add fields, and an older one must still read who holds the lock.
const lockInfoSchema = z.looseObject({
  ...identityFields,
  holder: z.string(),
  command: z.string(),
  instance: z.string(),
  startedAt: z.string(),
  /** Unique per acquisition: tells our lock from a later one with the same PID. */
  token: z.string().min(1),
  /** Shared backends: how long the lock stays valid without renewal, and when it was last renewed. */
  leaseMs: z.number().int().positive().optional(),
  renewedAt: z.string().optional(),
  renewals: z.number().int().nonnegative().optional(),
  childLocks: z.array(childLockSchema).optional(),
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
  /** Stops a wait (for example for an expired lease) on Ctrl-C. */
  signal?: AbortSignal;
  /** How this process sees its machine; tests pass fakes. */
  probe?: HostProbe;
}

/** Locks taken elsewhere by this run's child processes, recorded in the instance lock. */
export interface ChildLockLedger {
  /** The records of this holder and those inherited from the dead holders it took over from. */
  childLocks(): readonly ChildLockRecord[];
  recordChildLock(key: string, holder: ProcessIdentity): Promise<void>;
  forgetChildLocks(keys: readonly string[]): Promise<void>;
}

export interface InstanceLock extends ChildLockLedger {
  /** Where the lock is: a path or a bucket URL. */
  readonly location: string;
  readonly info: LockInfo;
  /**
   * Aborted, with a FailureError saying why, when this run no longer holds the lock (it was
   * removed or taken over, or a lease could not be renewed in time). Never aborts for a file lock.
   */
  readonly lost: AbortSignal;
  /** Removes the lock if it is still ours; does nothing the second time. */
  release(): Promise<void>;
}

/**
 * Tokens of locks this process holds or is taking over. A lock that names this very process
 * but a token not in here was left by an earlier acquisition of this process that it no longer
 * holds, so it is stale.
 */
const ownTokens = new Set<string>();

/** The instance locks this process holds, by instance: what Pulumi lock clearing may rely on. */
const held = new Map<string, InstanceLock>();

/** The lock of `instance` this process holds right now, if any. */
export function heldInstanceLock(instance: string): InstanceLock | undefined {
  return held.get(instance);
}

/** Registers a freshly acquired lock; `forget` undoes it on release. */
export function registerHeldLock(lock: InstanceLock): { forget(): void } {
  ownTokens.add(lock.info.token);
  held.set(lock.info.instance, lock);
  return {
    forget() {
      if (held.get(lock.info.instance) === lock) held.delete(lock.info.instance);
      ownTokens.delete(lock.info.token);
    },
  };
}

/** Marks a token as ours while an acquisition is under way; returns the undo. */
export function claimToken(token: string): () => void {
  ownTokens.add(token);
  return () => ownTokens.delete(token);
}

/**
 * Whether the holder of `info` is provably dead, running, or beyond our sight. A lock this
 * process holds is running; one naming this process with a token it does not hold is dead.
 */
export function assessLockHolder(info: LockInfo, probe: HostProbe = localHostProbe): Verdict {
  if (ownTokens.has(info.token)) return { kind: 'running', reason: 'this process holds it' };
  const verdict = judgeProcess(info, probe);
  if (verdict.kind === 'running' && isThisProcess(info, probe)) {
    return { kind: 'dead', reason: 'it was taken earlier by this process, which no longer holds it' };
  }
  return verdict;
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

/** The lock content this process writes for a new acquisition. */
export function newLockInfo(options: AcquireLockOptions, extra: Partial<LockInfo> = {}): LockInfo {
  const self = (options.probe ?? localHostProbe).self();
  return {
    holder: options.holder ?? currentCommandLine(),
    command: options.command,
    instance: options.instance,
    ...self,
    startedAt: new Date().toISOString(),
    token: randomUUID(),
    ...extra,
  };
}

export function serializeLock(info: LockInfo): string {
  return JSON.stringify(info, null, 2) + '\n';
}

/** The lock in `text`; throws a FailureError naming `location` when it is not a lookout lock. */
export function parseLock(text: string, location: string, removeHint: string): LockInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = lockInfoSchema.safeParse(json);
  if (!parsed.success) {
    throw new FailureError(`the lock ${location} is not a lookout lock, so its holder cannot be checked`, {
      hint: `If no lookout run is working on this instance, ${removeHint} and run again.`,
    });
  }
  return parsed.data;
}

/** Adds records, keeping one per key (the newest) and at most CHILD_LOCK_LIMIT. */
export function mergeChildLocks(existing: readonly ChildLockRecord[], added: readonly ChildLockRecord[]): ChildLockRecord[] {
  const byKey = new Map<string, ChildLockRecord>();
  for (const r of [...existing, ...added]) {
    byKey.delete(r.key);
    byKey.set(r.key, r);
  }
  return [...byKey.values()].slice(-CHILD_LOCK_LIMIT);
}

function childLockRecord(key: string, holder: ProcessIdentity): ChildLockRecord {
  return { key, process: { ...holder }, recordedAt: new Date().toISOString() };
}

/**
 * What every held lock does with its child-lock records: keeps them in `info` and writes each
 * change where the lock is, one write at a time (`persist`).
 */
export abstract class RecordingLock implements ChildLockLedger {
  abstract readonly info: LockInfo;
  private queue: Promise<void> = Promise.resolve();

  /** Applies `change` to `info` and writes the lock, if it is still ours. */
  protected abstract persist(change: () => void): Promise<void>;

  /** Runs `task` after every write queued before it. */
  protected serialized(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task);
    this.queue = next.catch(() => {});
    return next;
  }

  /** Resolves once every queued write has ended. */
  protected settled(): Promise<void> {
    return this.queue;
  }

  childLocks(): readonly ChildLockRecord[] {
    return this.info.childLocks ?? [];
  }

  recordChildLock(key: string, holder: ProcessIdentity): Promise<void> {
    return this.persist(() => {
      this.info.childLocks = mergeChildLocks(this.childLocks(), [childLockRecord(key, holder)]);
    });
  }

  forgetChildLocks(keys: readonly string[]): Promise<void> {
    if (!this.childLocks().some((r) => keys.includes(r.key))) return Promise.resolve();
    return this.persist(() => {
      this.info.childLocks = this.childLocks().filter((r) => !keys.includes(r.key));
    });
  }
}

/**
 * The error for a lock that is not ours to take. `why` says why it cannot be taken over
 * (the verdict's reason, or the lease's state); `remove` is how to remove it by hand.
 */
export function lockedError(
  o: { instance: string; info: LockInfo; verdict: Verdict; location: string; remove: string; why?: string },
): FailureError {
  const message =
    `instance "${o.instance}" is locked by another lookout run: ${describeLockHolder(o.info)}` +
    (o.verdict.kind === 'unknown' ? `; ${o.verdict.reason}` : '');
  const hint =
    o.verdict.kind === 'running'
      ? `Wait for that run to finish (or stop it with Ctrl-C, or \`kill ${o.info.pid}\`). If it is really dead, ${o.remove} and run again.`
      : `Wait for that run to finish. Lookout takes over a lock only when it can prove that its holder has ended${o.why ? `, ${o.why}` : ''}. ` +
        `If the run on ${o.info.hostname} is really over (for example that machine or container is gone, or the run was killed), ${o.remove} and run again.`;
  return new FailureError(message, { hint });
}

// ---------------------------------------------------------------------------------------------
// The file lock: the local backend under ~/.lookout/<name>/.

interface ReadLock {
  text: string;
  info: LockInfo;
}

const removeFileHint = (path: string) => `delete the lock file at ${path}`;

/** The lock at `path`; undefined when there is none. Throws when it exists but is not a lock. */
async function readLockFile(path: string): Promise<ReadLock | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FailureError(`could not read the lock file ${path}: ${errorMessage(err)}`, { cause: err });
  }
  return { text, info: parseLock(text, `file ${path}`, removeFileHint(path)) };
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

type TakeoverOutcome = 'won' | 'changed' | 'busy';

/**
 * Replaces the stale lock `stale` with ours unless another process is doing the same.
 * The marker `<lock>.takeover-<token of what is being taken over>` is created exclusively, so of
 * all processes that read the same stale lock exactly one gets it. A marker whose creator died
 * mid-takeover is itself stale, and is taken over the same way, one level down.
 */
async function takeOver(lockPath: string, stale: ReadLock, content: string, probe: HostProbe): Promise<TakeoverOutcome> {
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
    if (assessLockHolder(other.info, probe).kind !== 'dead') return 'busy';
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

/** The warning logged when a dead holder's lock is taken over. */
export function takeoverMessage(instance: string, previous: LockInfo, why: string): string {
  return `Took over the stale lock of instance "${instance}" held by ${describeLockHolder(previous)}: ${why}.`;
}

/**
 * Takes the file lock of one instance, or throws a FailureError naming who holds it. A lock
 * whose holder is provably dead is taken over with a warning. Release the returned lock in a
 * `finally`.
 */
export async function acquireInstanceLock(lockPath: string, options: AcquireLockOptions): Promise<InstanceLock> {
  const probe = options.probe ?? localHostProbe;
  const info = newLockInfo(options);
  let content = serializeLock(info);
  const deadline = Date.now() + (options.takeoverTimeoutMs ?? 10_000);
  const unclaim = claimToken(info.token);
  try {
    for (;;) {
      if (await createExclusive(lockPath, content)) break;
      const existing = await readLockFile(lockPath);
      if (!existing) continue; // released between our attempt and the read
      const verdict = assessLockHolder(existing.info, probe);
      if (verdict.kind !== 'dead') {
        throw lockedError({ instance: options.instance, info: existing.info, verdict, location: lockPath, remove: removeFileHint(lockPath) });
      }
      // Its records stay valid: each names the process that holds that lock.
      info.childLocks = mergeChildLocks(existing.info.childLocks ?? [], []);
      content = serializeLock(info);
      const outcome = await takeOver(lockPath, existing, content, probe);
      if (outcome === 'won') {
        options.reporter.emit({ type: 'log', level: 'warn', message: takeoverMessage(options.instance, existing.info, verdict.reason) });
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
    unclaim();
    throw err;
  }
  return new FileLock(lockPath, info, options);
}

class FileLock extends RecordingLock implements InstanceLock {
  /** A file lock never expires: this signal never aborts. */
  readonly lost: AbortSignal = new AbortController().signal;
  private released = false;
  private readonly registration: { forget(): void };

  constructor(
    readonly location: string,
    readonly info: LockInfo,
    private readonly options: AcquireLockOptions,
  ) {
    super();
    this.registration = registerHeldLock(this);
  }

  protected persist(change: () => void): Promise<void> {
    return this.serialized(async () => {
      if (this.released) return;
      const current = await readLockFile(this.location);
      if (current?.info.token !== this.info.token) return;
      change();
      await writeFileAtomic(this.location, serializeLock(this.info), { mode: 0o600 });
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    await this.settled();
    this.released = true;
    const { instance, reporter } = this.options;
    try {
      const current = await readLockFile(this.location).catch(() => undefined);
      if (current?.info.token === this.info.token) {
        await rm(this.location, { force: true });
        await fsyncDirectory(dirname(this.location));
      } else {
        reporter.emit({
          type: 'log',
          level: 'warn',
          message: current
            ? `The lock of instance "${instance}" is now held by ${describeLockHolder(current.info)}, not by this run; left it in place.`
            : `The lock of instance "${instance}" at ${this.location} was removed by someone else while this run held it.`,
        });
      }
    } finally {
      // Only now: until the file is gone, our PID with this token must still count as live.
      this.registration.forget();
    }
  }
}
