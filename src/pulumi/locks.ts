/**
 * Pulumi's own stack locks in self-managed backends. Each run of the engine writes
 * `.pulumi/locks/organization/<project>/<stack>/<uuid>.json` holding `{pid, username,
 * hostname, timestamp}` and deletes it when it ends (pkg/backend/diy/lock.go in
 * pulumi/pulumi). A run that was killed leaves its lock behind, and every later run fails.
 *
 * When may Lookout remove such a lock? Only when the engine process that wrote it is provably
 * dead, and the file alone can never prove that: a PID and a host name say nothing about
 * which machine, boot or PID namespace the process ran in (two containers or two VMs can share
 * a host name, and a process in another PID namespace is invisible to `kill(pid, 0)`), and a
 * Pulumi engine may well outlive the Lookout run that started it (SIGKILL of lookout leaves its
 * child running). So the proof has to be recorded while the engine runs:
 *
 *   1. Once an engine started by Lookout has taken its lock (at its first event), Lookout lists
 *      the stack's lock files and finds the one whose PID is a descendant of this process in
 *      /proc. It records that lock's key with the engine's identity (boot id, PID namespace,
 *      PID, process start time; src/engine/holder.ts) in its own instance lock.
 *   2. A run that takes over the instance lock of a provably dead Lookout run inherits those
 *      records; a lease takeover inherits them too, since each record is judged on its own.
 *   3. A Pulumi lock is stale if, and only if, this process holds the instance lock (so no other
 *      Lookout run may start an engine on the stack), a record names exactly that lock key and
 *      PID, and the recorded engine process is provably dead: same boot and PID namespace as us,
 *      and its PID gone or reused by a later process.
 *
 * The key is a UUID that only that engine process writes, so the record cannot be matched by a
 * lock of anyone else. The records of a stack are dropped once its locks are gone.
 *
 * Step 1 leaves a window: an engine killed after it took its lock and before its first event
 * reached Lookout left no record (a SIGKILL of the whole process tree during a step, likelier
 * with several tenant stacks running at once). So before it starts an engine, Lookout also
 * records that it is starting one on the stack: a record keyed by the stack's lock directory
 * (a trailing `/`, where a lock's key ends in `.json`) naming this Lookout process. A lock with
 * no record of its own is then stale if, and only if, such a record of a provably dead Lookout
 * run exists for its stack, the lock was written from this host name after that record, and
 * its PID is gone from our PID namespace. (A PID still running there is reported as the
 * engine still running: it may be that engine, outliving its Lookout.) What is assumed: no
 * process of another PID namespace with our host name locked that very stack in those seconds,
 * which the engine we started would have been refused for (Pulumi lets one lock at a time).
 *
 * Without a record (an engine on another machine or in another container, one Lookout did not
 * start) or with a live or uncheckable process, the lock is reported with its holder and the
 * command that removes it, and never broken.
 */
import { z } from 'zod';
import { FailureError, LookoutError, errorMessage } from '../errors.js';
import type { Reporter } from '../progress/events.js';
import { lockDirKey, type DiyStore } from './diy-store.js';
import { explainStoreError } from './store-errors.js';
import { isDescendant, judgeProcess, localHostProbe, type HostProbe } from '../engine/holder.js';
import { heldInstanceLock, type ChildLockLedger, type ChildLockRecord } from '../engine/lock.js';

export const pulumiLockSchema = z.object({
  pid: z.number().int().positive(),
  username: z.string(),
  hostname: z.string(),
  timestamp: z.string(),
});
export type PulumiLock = z.infer<typeof pulumiLockSchema>;

/**
 * `stale`: its engine is provably dead, so Lookout removes it. `running`: its engine (one that
 * Lookout started) still runs on this machine. `unproven`: nothing proves its holder ended.
 */
export type LockClass = 'stale' | 'running' | 'unproven';

export interface LockEnvironment {
  /** How this process sees its machine. */
  probe: HostProbe;
  /**
   * The instance lock this process holds for `instance`, where Pulumi locks are recorded;
   * undefined when it holds none, and then no Pulumi lock is ever removed or recorded.
   */
  ledger(instance: string): ChildLockLedger | undefined;
}

export function localLockEnvironment(): LockEnvironment {
  return { probe: localHostProbe, ledger: heldInstanceLock };
}

export interface Classified {
  class: LockClass;
  /** Why, in words: which process, and what is known of it. */
  reason: string;
}

/** The key of the record that an engine is starting on the stack: its lock directory, with a trailing `/`. */
export function startingEngineKey(ref: StackRef): string {
  return `${lockDirKey(ref.project, ref.stack)}/`;
}

/** Locks written by up to a second of clock difference before the record count as after it. */
const RECORD_CLOCK_SLACK_MS = 1_000;

/**
 * A lock without a record of its own, judged by the record that a Lookout run was starting an
 * engine on its stack (see the top of this file); undefined when that proves nothing.
 */
function classifyByStartingRecord(key: string, lock: PulumiLock, records: readonly ChildLockRecord[], probe: HostProbe): Classified | undefined {
  const dir = key.slice(0, key.lastIndexOf('/') + 1);
  const lockedAt = Date.parse(lock.timestamp);
  if (probe.self().hostname.toLowerCase() !== lock.hostname.toLowerCase() || Number.isNaN(lockedAt)) return undefined;
  const starter = records.find(
    (r) => r.key === dir && Date.parse(r.recordedAt) - RECORD_CLOCK_SLACK_MS <= lockedAt && judgeProcess(r.process, probe).kind === 'dead',
  );
  if (!starter) return undefined;
  if (probe.inspect(lock.pid).state === 'gone') {
    return {
      class: 'stale',
      reason: `it was taken after an earlier lookout run on this machine (process ${starter.process.pid}, since ended) started an engine on this stack, and process ${lock.pid} no longer exists`,
    };
  }
  return { class: 'running', reason: `process ${lock.pid}, likely the engine an earlier lookout run on this machine started, is still running` };
}

/** Judges the lock at `key` by what Lookout recorded of the engine that wrote it. */
export function classifyPulumiLock(key: string, lock: PulumiLock, records: readonly ChildLockRecord[], probe: HostProbe): Classified {
  const record = records.find((r) => r.key === key && r.process.pid === lock.pid);
  if (!record) {
    const byStarter = classifyByStartingRecord(key, lock, records, probe);
    if (byStarter) return byStarter;
    const here = probe.self().hostname.toLowerCase() === lock.hostname.toLowerCase();
    return {
      class: 'unproven',
      reason: here
        ? 'no lookout run recorded starting that engine on this machine, so nothing proves it has ended (a process in another container, or on another machine with this name, may hold it)'
        : 'held from another machine',
    };
  }
  const verdict = judgeProcess(record.process, probe);
  switch (verdict.kind) {
    case 'dead':
      return { class: 'stale', reason: `its engine was started by an earlier lookout run on this machine, and ${verdict.reason}` };
    case 'running':
      return { class: 'running', reason: `its engine (process ${lock.pid}), started by an earlier lookout run on this machine, is still running` };
    default:
      return { class: 'unproven', reason: verdict.reason };
  }
}

export interface FoundLock {
  location: string;
  removeCommand: string;
  /** Undefined when the lock file could not be parsed; `problem` says why. */
  lock?: PulumiLock;
  problem?: string;
  class?: LockClass;
  reason?: string;
}

export interface StackRef {
  project: string;
  stack: string;
}

/** Lists and classifies the locks of one stack. Locks that vanish while being read are skipped. */
export async function findPulumiLocks(
  store: DiyStore,
  ref: StackRef,
  probe: HostProbe,
  records: readonly ChildLockRecord[] = [],
): Promise<Array<FoundLock & { key: string }>> {
  const found: Array<FoundLock & { key: string }> = [];
  for (const key of await lockKeys(store, ref)) {
    const base = { key, location: store.location(key), removeCommand: store.removeCommand(key) };
    let text: string;
    try {
      text = await store.read(key);
    } catch (err) {
      if (isGone(err)) continue;
      throw err;
    }
    const parsed = parseLock(text);
    found.push(parsed.lock ? { ...base, lock: parsed.lock, ...classifyPulumiLock(key, parsed.lock, records, probe) } : { ...base, problem: parsed.problem });
  }
  return found;
}

async function lockKeys(store: DiyStore, ref: StackRef): Promise<string[]> {
  return (await store.list(lockDirKey(ref.project, ref.stack))).filter((k) => k.endsWith('.json'));
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
  /** The instance whose lock this process holds: its records prove Pulumi locks stale. */
  instance: string;
  ref: StackRef;
  env: LockEnvironment;
  reporter: Reporter;
  step?: string;
}

/**
 * Removes the provably stale locks of a stack (see the top of this file) and refuses to go on
 * if any other lock remains. Backends Lookout cannot read (GCS) are skipped here; a lock there
 * surfaces as the engine's "currently locked" error, which `lockedErrorFromEngine` turns into
 * the same report.
 */
export async function clearStalePulumiLocks(o: ClearLocksOptions): Promise<FoundLock[]> {
  const { cleared, remaining } = await removeStaleLocks(o);
  if (remaining.length > 0) throw lockedError(o.ref, remaining);
  return cleared;
}

/**
 * After an engine operation: removes the lock an engine of ours left when it crashed, and
 * forgets the records of locks that are gone. Never throws; the next operation reports
 * whatever is left.
 */
export async function settlePulumiLocks(o: ClearLocksOptions): Promise<void> {
  await removeStaleLocks(o).catch(() => undefined);
}

async function removeStaleLocks(o: ClearLocksOptions): Promise<{ cleared: FoundLock[]; remaining: FoundLock[] }> {
  if (!o.store.canAccess) return { cleared: [], remaining: [] };
  const ledger = o.env.ledger(o.instance);
  const records = ledger?.childLocks() ?? [];
  let locks: Array<FoundLock & { key: string }>;
  try {
    locks = await findPulumiLocks(o.store, o.ref, o.env.probe, records);
  } catch (err) {
    throw storeError(err, o.store, 'list the Pulumi locks of');
  }
  const cleared: Array<FoundLock & { key: string }> = [];
  const remaining: FoundLock[] = [];
  for (const found of locks) {
    if (found.class !== 'stale' || !ledger) {
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
        `Removed a stale Pulumi lock of stack ${o.ref.project}/${o.ref.stack} (${l.username}@${l.hostname}, pid ${l.pid}, ` +
        `since ${l.timestamp}): ${found.reason}. (${found.location})`,
      ...(o.step ? { step: o.step } : {}),
    });
  }
  if (ledger) {
    const dir = startingEngineKey(o.ref);
    const present = new Set(locks.filter((l) => !cleared.includes(l)).map((l) => l.key));
    // A record that an engine was starting stays while any lock of the stack is left to judge.
    const gone = records.filter((r) => r.key.startsWith(dir) && (r.key === dir ? present.size === 0 : !present.has(r.key))).map((r) => r.key);
    if (gone.length > 0) await ledger.forgetChildLocks(gone);
  }
  return { cleared, remaining };
}

/**
 * Records in the instance lock that this process is about to start an engine on the stack
 * (see the top of this file). Call it, and wait for it, before the engine starts. Does nothing
 * without an instance lock or on backends Lookout cannot list; never throws.
 */
export async function recordEngineStarting(o: Omit<ClearLocksOptions, 'reporter' | 'step'>): Promise<void> {
  const ledger = o.env.ledger(o.instance);
  if (!ledger || !o.store.canAccess) return;
  try {
    await ledger.recordChildLock(startingEngineKey(o.ref), o.env.probe.self());
  } catch {
    // Best effort: without it, a lock left in the window before the first event is reported instead of removed.
  }
}

/**
 * Records in the instance lock the locks that engines started by this process hold on the
 * stack now (step 1 at the top of this file). Call it once the engine has taken its lock.
 * Does nothing without an instance lock, on backends Lookout cannot list, or where /proc
 * cannot tell a child process; never throws (a missing record only means a leftover lock
 * will be reported instead of removed).
 */
export async function recordEngineLocks(o: Omit<ClearLocksOptions, 'reporter' | 'step'>): Promise<void> {
  const ledger = o.env.ledger(o.instance);
  if (!ledger || !o.store.canAccess) return;
  try {
    const known = new Set(ledger.childLocks().map((r) => r.key));
    for (const key of await lockKeys(o.store, o.ref)) {
      if (known.has(key)) continue;
      const { lock } = parseLock(await o.store.read(key));
      if (!lock || !isDescendant(lock.pid, o.env.probe)) continue;
      const engine = o.env.probe.inspect(lock.pid);
      if (engine.state !== 'running' || engine.start === undefined) continue;
      const self = o.env.probe.self();
      await ledger.recordChildLock(key, { ...self, pid: lock.pid, processStart: engine.start });
    }
  } catch {
    // Best effort, see above.
  }
}

function storeError(err: unknown, store: DiyStore, what: string): LookoutError {
  const explained = explainStoreError(err, store.kind, `Lookout's attempt to ${what} the stack in the state bucket`);
  if (explained) return explained;
  return new FailureError(`Could not ${what} the stack: ${errorMessage(err)}`, { cause: err });
}

function describe(found: FoundLock): string {
  const l = found.lock;
  if (!l) return `${found.location}: ${found.problem ?? 'unreadable lock'}`;
  const who = `${l.username}@${l.hostname}, pid ${l.pid}, since ${l.timestamp}`;
  if (found.reason === 'held from another machine') return `${found.location}: held from another machine (${who})`;
  return `${found.location}: held by ${who}; ${found.reason ?? 'nothing proves its holder has ended'}`;
}

/** The report for locks Lookout will not (or cannot) remove itself. */
export function lockedError(ref: StackRef, locks: readonly FoundLock[]): FailureError {
  const commands = locks.map((l) => `  ${l.removeCommand}`).join('\n');
  const running = locks.filter((l) => l.class === 'running' && l.lock).map((l) => l.lock!.pid);
  const stop = running.length > 0 ? ` (or stop it: \`kill ${running.join(' ')}\`)` : '';
  const hint =
    `If another \`lookout\` or \`pulumi\` run is working on this instance, wait for it to finish${stop} and run the command ` +
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

/**
 * Turns the engine's "currently locked" failure into the same report `clearStalePulumiLocks`
 * gives. The engine names locks by URL, not by key, so none is matched with a record here: the
 * lock appeared after Lookout cleared the stack, and is reported, not removed.
 */
export function lockedErrorFromEngine(text: string, ref: StackRef, probe: HostProbe = localHostProbe): FailureError {
  const locks: FoundLock[] = parseLockedError(text).map(({ location, lock }) => ({
    location: location.startsWith('file://') ? location.slice('file://'.length) : location,
    removeCommand: removeCommandForUrl(location),
    lock,
    ...classifyPulumiLock(location, lock, [], probe),
  }));
  if (locks.length === 0) {
    return new FailureError(`Pulumi stack ${ref.project}/${ref.stack} is locked by another run.`, {
      hint: 'Wait for the other run to finish, then run the command again.',
    });
  }
  return lockedError(ref, locks);
}
