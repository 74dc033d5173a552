/**
 * Pulumi's own stack locks in self-managed backends. Each run of the engine writes
 * `.pulumi/locks/organization/<project>/<stack>/<uuid>.json` holding `{pid, username,
 * hostname, timestamp}` and deletes it when it ends (pkg/backend/diy/lock.go in
 * pulumi/pulumi). A run that was killed leaves its lock behind, and every later run fails.
 *
 * This runs only while Lookout holds its own instance lock, so no other Lookout run on this
 * machine is working on the stack: a lock from this host whose process is gone is from a
 * dead run and is removed (and the removal is logged). Any other lock is reported with its
 * holder and what to do, and is never broken.
 */
import { hostname as osHostname } from 'node:os';
import { z } from 'zod';
import { FailureError, LookoutError, errorMessage } from '../errors.js';
import type { Reporter } from '../progress/events.js';
import { explainAwsError } from '../providers/aws/errors.js';
import { lockDirKey, type DiyStore } from './diy-store.js';
import { isPidAlive } from '../engine/lock.js';

export const pulumiLockSchema = z.object({
  pid: z.number().int().positive(),
  username: z.string(),
  hostname: z.string(),
  timestamp: z.string(),
});
export type PulumiLock = z.infer<typeof pulumiLockSchema>;

export type LockClass = 'stale-local' | 'live-local' | 'other-host';

export interface LockEnvironment {
  hostname: string;
  isPidAlive(pid: number): boolean;
}

export function classifyPulumiLock(lock: PulumiLock, env: LockEnvironment): LockClass {
  // Host names are case-insensitive; Go's os.Hostname and Node's os.hostname read the same value.
  if (lock.hostname.toLowerCase() !== env.hostname.toLowerCase()) return 'other-host';
  return env.isPidAlive(lock.pid) ? 'live-local' : 'stale-local';
}

/**
 * Whether a process exists. Signal 0 checks without delivering anything: ESRCH means no
 * such process; EPERM means it exists but belongs to someone else, so it counts as alive.
 */
export { isPidAlive };

export function localLockEnvironment(): LockEnvironment {
  return { hostname: osHostname(), isPidAlive };
}

export interface FoundLock {
  location: string;
  removeCommand: string;
  /** Undefined when the lock file could not be parsed; `problem` says why. */
  lock?: PulumiLock;
  problem?: string;
  class?: LockClass;
}

export interface StackRef {
  project: string;
  stack: string;
}

/** Lists and classifies the locks of one stack. Locks that vanish while being read are skipped. */
export async function findPulumiLocks(store: DiyStore, ref: StackRef, env: LockEnvironment): Promise<Array<FoundLock & { key: string }>> {
  const keys = (await store.list(lockDirKey(ref.project, ref.stack))).filter((k) => k.endsWith('.json'));
  const found: Array<FoundLock & { key: string }> = [];
  for (const key of keys) {
    const base = { key, location: store.location(key), removeCommand: store.removeCommand(key) };
    let text: string;
    try {
      text = await store.read(key);
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    const parsed = parseLock(text);
    found.push(parsed.lock ? { ...base, lock: parsed.lock, class: classifyPulumiLock(parsed.lock, env) } : { ...base, problem: parsed.problem });
  }
  return found;
}

function parseLock(text: string): { lock?: PulumiLock; problem?: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: 'the lock file is not valid JSON' };
  }
  const result = pulumiLockSchema.safeParse(json);
  return result.success ? { lock: result.data } : { problem: 'the lock file does not have the pid, username, hostname and timestamp Pulumi writes' };
}

function isGone(err: unknown): boolean {
  const e = err as { code?: string; name?: string } | undefined;
  return e?.code === 'ENOENT' || e?.name === 'NoSuchKey' || e?.name === 'NotFound';
}

export interface ClearLocksOptions {
  store: DiyStore;
  ref: StackRef;
  env: LockEnvironment;
  reporter: Reporter;
  step?: string;
}

/**
 * Removes the stale local locks of a stack and refuses to go on if any other lock remains.
 * Backends Lookout cannot read (GCS) are skipped here; a lock there surfaces as the engine's
 * "currently locked" error, which `lockedErrorFromEngine` turns into the same report.
 */
export async function clearStalePulumiLocks(o: ClearLocksOptions): Promise<FoundLock[]> {
  if (!o.store.canAccess) return [];
  let locks: Array<FoundLock & { key: string }>;
  try {
    locks = await findPulumiLocks(o.store, o.ref, o.env);
  } catch (err) {
    throw storeError(err, o.store, 'list the Pulumi locks of');
  }
  const cleared: FoundLock[] = [];
  const remaining: FoundLock[] = [];
  for (const found of locks) {
    if (found.class !== 'stale-local') {
      remaining.push(found);
      continue;
    }
    try {
      await o.store.remove(found.key);
    } catch (err) {
      if (!isGone(err)) throw storeError(err, o.store, 'remove a stale Pulumi lock of');
    }
    cleared.push(found);
    const l = found.lock!;
    o.reporter.emit({
      type: 'log',
      level: 'warn',
      message:
        `Removed a stale Pulumi lock of stack ${o.ref.project}/${o.ref.stack}: it was left by process ${l.pid} on ` +
        `this machine (${l.username}@${l.hostname}, started ${l.timestamp}), which is no longer running. (${found.location})`,
      ...(o.step ? { step: o.step } : {}),
    });
  }
  if (remaining.length > 0) throw lockedError(o.ref, remaining);
  return cleared;
}

function storeError(err: unknown, store: DiyStore, what: string): LookoutError {
  if (err instanceof LookoutError) return err;
  if (store.kind === 's3') return explainAwsError(err, `Lookout's attempt to ${what} the stack in the state bucket`);
  return new FailureError(`Could not ${what} the stack: ${errorMessage(err)}`, { cause: err });
}

function describe(found: FoundLock): string {
  const l = found.lock;
  if (!l) return `${found.location}: ${found.problem ?? 'unreadable lock'}`;
  const who = `${l.username}@${l.hostname}, pid ${l.pid}, since ${l.timestamp}`;
  switch (found.class) {
    case 'live-local':
      return `${found.location}: held by a process that is still running on this machine (${who})`;
    case 'stale-local':
      return `${found.location}: left by a process of this machine that is no longer running (${who})`;
    default:
      return `${found.location}: held from another machine (${who})`;
  }
}

/** The report for locks Lookout will not (or cannot) remove itself. */
export function lockedError(ref: StackRef, locks: readonly FoundLock[]): FailureError {
  const onlyStale = locks.every((l) => l.class === 'stale-local');
  const commands = locks.map((l) => `  ${l.removeCommand}`).join('\n');
  const hint = onlyStale
    ? 'These locks are from runs on this machine that have ended. Lookout removes such locks itself where it can ' +
      `reach the state (file and S3 backends); here, remove them, then run the command again:\n${commands}`
    : 'If another `lookout` or `pulumi` run is working on this instance, wait for it to finish and run the command ' +
      'again. If you are sure none is (for example the machine it ran on was switched off or the run was killed), ' +
      `remove the lock${locks.length === 1 ? '' : 's'} and run the command again:\n${commands}`;
  return new FailureError(
    `Pulumi stack ${ref.project}/${ref.stack} is locked by ${locks.length === 1 ? 'another run' : `${locks.length} other runs`}, ` +
      `so Lookout did not change it:\n${locks.map((l) => `  - ${describe(l)}`).join('\n')}`,
    { hint },
  );
}

const LOCKED_MARKER = 'the stack is currently locked by';
const LOCK_LINE = /^\s*(\S+): created by (.*)@([^@\s]+) \(pid (\d+)\) at (\S+)\s*$/;

export function isLockedEngineError(text: string): boolean {
  return text.includes(LOCKED_MARKER);
}

/** The locks listed in the engine's "the stack is currently locked" error text. */
export function parseLockedError(text: string): Array<{ location: string; lock: PulumiLock }> {
  const seen = new Set<string>();
  const locks: Array<{ location: string; lock: PulumiLock }> = [];
  for (const line of text.split('\n')) {
    const m = LOCK_LINE.exec(line);
    if (!m || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    locks.push({
      location: m[1]!,
      lock: { username: m[2]!, hostname: m[3]!, pid: Number(m[4]), timestamp: m[5]! },
    });
  }
  return locks;
}

function removeCommandForUrl(url: string): string {
  const quoted = `'${url.replace(/'/g, `'\\''`)}'`;
  if (url.startsWith('gs://')) return `gcloud storage rm ${quoted}`;
  if (url.startsWith('s3://')) return `aws s3 rm ${quoted.replace(/\?[^']*/, '')}`;
  if (url.startsWith('file://')) return `rm '${url.slice('file://'.length).replace(/'/g, `'\\''`)}'`;
  return `pulumi cancel   # the lock is at ${url}`;
}

/** Turns the engine's "currently locked" failure into the same report `clearStalePulumiLocks` gives. */
export function lockedErrorFromEngine(text: string, ref: StackRef, env: LockEnvironment): FailureError {
  const locks: FoundLock[] = parseLockedError(text).map(({ location, lock }) => ({
    location: location.startsWith('file://') ? location.slice('file://'.length) : location,
    removeCommand: removeCommandForUrl(location),
    lock,
    class: classifyPulumiLock(lock, env),
  }));
  if (locks.length === 0) {
    return new FailureError(`Pulumi stack ${ref.project}/${ref.stack} is locked by another run.`, {
      hint: 'Wait for the other run to finish, then run the command again.',
    });
  }
  return lockedError(ref, locks);
}
