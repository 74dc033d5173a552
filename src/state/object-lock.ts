/**
 * The instance lock in a shared backend: one object next to the Pulumi state, written only with
 * conditional requests, so that of two machines trying at once exactly one gets it.
 *
 *   acquire   create with If-None-Match: *          (fails if any lock exists)
 *   renew     replace with If-Match: <our version>  (fails if it was taken over or removed)
 *   take over replace with If-Match: <version read> (fails if it changed since it was read)
 *   release   delete with If-Match: <our version>   (never deletes someone else's lock)
 *
 * A holder that is provably dead (same boot and PID namespace as us, PID gone or reused; see
 * src/engine/holder.ts) is taken over at once. A holder on another machine can never be
 * proven dead, so without more a lock would live for ever once its machine is gone. Hence a
 * lease: the holder renews its lock every `leaseMs / 6`, and a lock that has not been renewed
 * for `leaseMs` is taken over. Why this is safe without trusting anyone's clock:
 *
 *   - The contender decides "expired" only by watching: it reads the lock (version V), waits
 *     `leaseMs` on its own monotonic clock, and replaces the lock on condition that it is
 *     still V. The holder's clock and the wall clocks of both machines play no part (the
 *     `renewedAt` time in the lock only decides whether waiting is worth it at all).
 *   - The holder stops trusting its lock `leaseMs / 4` before the lease would run out, counted
 *     from the moment it *sent* its last successful renewal: it then aborts the run (steps are
 *     stopped, Pulumi is cancelled). That renewal reached the store before the contender's
 *     read saw V, so the contender's takeover comes at least `leaseMs` after the send, and
 *     the holder has given up a quarter lease before. The holder measures elapsed time on
 *     both its monotonic and its wall clock and takes the larger, so a machine that was
 *     suspended (the monotonic clock stands still) gives up too.
 *   - What a paused holder might still do after waking up, before it notices, is fenced:
 *     its journal and record writes are conditional on the versions it last saw, so they
 *     fail once a successor wrote; a renewal fails and aborts the run; and Pulumi's own lock
 *     on a stack is never broken unless its process is provably dead (src/pulumi/locks.ts),
 *     so two engines never update one stack.
 *
 * The cost: taking over the lock of a machine that died mid-run takes one lease (two minutes)
 * of waiting, shown as a message; removing the lock object by hand (the hint says how) is
 * the way to skip it when you know that machine is gone.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { FailureError, InterruptedError } from '../errors.js';
import { localHostProbe, type Verdict } from '../engine/holder.js';
import {
  RecordingLock,
  assessLockHolder,
  claimToken,
  describeLockHolder,
  lockedError,
  mergeChildLocks,
  newLockInfo,
  parseLock,
  registerHeldLock,
  serializeLock,
  takeoverMessage,
  type AcquireLockOptions,
  type InstanceLock,
  type LockInfo,
} from '../engine/lock.js';
import type { ConditionalObjects, VersionedObject } from '../pulumi/diy-store.js';
import { formatDuration } from '../progress/reporters.js';

/** Two minutes: long enough for a network hiccup, short enough to wait out once. */
export const DEFAULT_LEASE_MS = 120_000;

export interface ObjectLockOptions extends AcquireLockOptions {
  /** How long the lock stays valid without a renewal. */
  leaseMs?: number;
}

/** Where the lock object is, for messages. */
export interface ObjectLockPlace {
  key: string;
  location: string;
  removeCommand: string;
}

/** Attempts before giving up on a lock that keeps changing under us (each one is a real change). */
const MAX_ATTEMPTS = 20;

const renewInterval = (leaseMs: number) => Math.max(50, Math.floor(leaseMs / 6));
const trustedFor = (leaseMs: number) => leaseMs - Math.floor(leaseMs / 4);

interface Instant {
  mono: number;
  wall: number;
}
const instant = (): Instant => ({ mono: performance.now(), wall: Date.now() });
/** Elapsed since `since`: the larger of the monotonic and the wall clock (a suspend stops the former). */
const elapsedSince = (since: Instant): number => Math.max(performance.now() - since.mono, Date.now() - since.wall);

/**
 * Watches the lock for `leaseMs` on this process's monotonic clock: `unchanged` if it stayed at
 * `version` all along, otherwise what it became (undefined: it was removed).
 */
async function watch(
  objects: ConditionalObjects,
  key: string,
  version: string,
  leaseMs: number,
  signal?: AbortSignal,
): Promise<'unchanged' | VersionedObject | undefined> {
  const start = performance.now();
  const step = renewInterval(leaseMs);
  for (;;) {
    const left = leaseMs - (performance.now() - start);
    if (left <= 0) return 'unchanged';
    try {
      await delay(Math.min(step, left), undefined, signal ? { signal } : {});
    } catch {
      throw new InterruptedError('Interrupted while waiting for the lock of the instance; nothing was done.', {
        hint: 'Run the same command again to resume.',
      });
    }
    const now = await objects.get(key);
    if (now?.version !== version) return now;
  }
}

/**
 * For a holder that cannot be judged from here: throws unless its lease has run out, which is
 * seen by watching the lock stay the same for a whole lease. Returns why it may be taken over,
 * or undefined when it was released or taken by someone else meanwhile.
 */
async function waitOutLease(
  objects: ConditionalObjects,
  place: ObjectLockPlace,
  existing: VersionedObject,
  previous: LockInfo,
  verdict: Verdict,
  options: ObjectLockOptions,
): Promise<string | undefined> {
  const remove = removeHint(place);
  const refuse = (info: LockInfo, why: string) => lockedError({ instance: options.instance, info, verdict, location: place.location, remove, why });
  const leaseMs = previous.leaseMs;
  if (!leaseMs) throw refuse(previous, 'and it has no lease that could run out');
  // The holder's clock says when it renewed: only a hint whether watching is worth it at all.
  const age = Date.now() - Date.parse(previous.renewedAt ?? previous.startedAt);
  if (!(age > leaseMs)) {
    const ago = Number.isFinite(age) ? `${formatDuration(Math.max(0, age))} ago` : 'at an unreadable time';
    throw refuse(
      previous,
      `or that its lease ran out: it was last renewed ${ago} (by ${previous.hostname}'s clock), and it is taken over once it has not been renewed for ${formatDuration(leaseMs)}`,
    );
  }
  options.reporter.emit({
    type: 'log',
    level: 'warn',
    message:
      `The lock of instance "${options.instance}" is held by ${describeLockHolder(previous)}, last renewed ` +
      `${formatDuration(age)} ago by that machine's clock. Watching it for ${formatDuration(leaseMs)} to make sure ` +
      'it is no longer renewed before taking it over…',
  });
  const seen = await watch(objects, place.key, existing.version, leaseMs, options.signal);
  if (seen === 'unchanged') return `its lease ran out (it was not renewed for ${formatDuration(leaseMs)})`;
  const next = seen ? parseLock(seen.text, place.location, remove) : undefined;
  if (next?.token !== previous.token) return undefined;
  // Renewed by the same holder: it is alive, whatever its clock says.
  throw refuse(next, `and it was renewed while this run watched it (its clock, which dated its last renewal ${next.renewedAt ?? 'never'}, seems to be wrong)`);
}

const removeHint = (place: ObjectLockPlace) => `remove it with \`${place.removeCommand}\``;

/**
 * Takes the lock object of one instance, or throws a FailureError naming who holds it. A
 * provably dead holder's lock is taken over at once, an expired lease's after watching it for
 * one lease; both with a warning. Release the returned lock in a `finally`.
 */
export async function acquireObjectLock(objects: ConditionalObjects, place: ObjectLockPlace, options: ObjectLockOptions): Promise<ObjectLock> {
  const probe = options.probe ?? localHostProbe;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const info = newLockInfo(options, { leaseMs, renewals: 0 });
  const remove = removeHint(place);
  const unclaim = claimToken(info.token);
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const sent = instant();
      info.renewedAt = new Date(sent.wall).toISOString();
      const created = await objects.create(place.key, serializeLock(info));
      if (created) return new ObjectLock(objects, place, info, created, sent, options);

      const existing = await objects.get(place.key);
      if (!existing) continue; // released between our attempt and the read
      const previous = parseLock(existing.text, place.location, remove);
      const verdict = assessLockHolder(previous, probe);
      if (verdict.kind === 'running') {
        throw lockedError({ instance: options.instance, info: previous, verdict, location: place.location, remove });
      }
      const why = verdict.kind === 'dead' ? verdict.reason : await waitOutLease(objects, place, existing, previous, verdict, options);
      if (why === undefined) continue; // released or taken by someone else meanwhile: look again
      // Dead, or its lease ran out: take it over unless it changed since we read it. The
      // records of the locks its children held stay valid (each names its own process).
      info.childLocks = mergeChildLocks(previous.childLocks ?? [], []);
      const takeoverSent = instant();
      info.renewedAt = new Date(takeoverSent.wall).toISOString();
      const replaced = await objects.replace(place.key, serializeLock(info), existing.version);
      if (replaced) {
        options.reporter.emit({ type: 'log', level: 'warn', message: takeoverMessage(options.instance, previous, why) });
        return new ObjectLock(objects, place, info, replaced, takeoverSent, options);
      }
      delete info.childLocks;
    }
    throw new FailureError(`the lock of instance "${options.instance}" at ${place.location} kept changing while this run tried to take it`, {
      hint: 'Other runs are starting on this instance at the same time. Run again in a moment.',
    });
  } catch (err) {
    unclaim();
    throw err;
  }
}

export class ObjectLock extends RecordingLock implements InstanceLock {
  private readonly controller = new AbortController();
  readonly lost: AbortSignal = this.controller.signal;
  readonly location: string;
  private readonly timer: NodeJS.Timeout;
  private readonly registration: { forget(): void };
  private released = false;

  constructor(
    private readonly objects: ConditionalObjects,
    private readonly place: ObjectLockPlace,
    readonly info: LockInfo,
    private version: string,
    /** When the write that last succeeded was sent. */
    private validFrom: Instant,
    private readonly options: ObjectLockOptions,
  ) {
    super();
    this.location = place.location;
    this.registration = registerHeldLock(this);
    const lease = info.leaseMs!;
    this.timer = setInterval(() => {
      if (!this.checkValid()) return;
      // A failed renewal is retried on the next tick; checkValid gives up once the lease is spent.
      this.renew().catch(() => {});
    }, renewInterval(lease));
    // A process that forgot to release must still be able to exit; its lease then runs out.
    this.timer.unref();
  }

  /** Whether the lease is still ours by our own clocks; aborts `lost` when not. */
  checkValid(): boolean {
    if (this.lost.aborted) return false;
    const spent = elapsedSince(this.validFrom);
    if (spent <= trustedFor(this.info.leaseMs!)) return true;
    this.lose(`it could not be renewed for ${formatDuration(spent)}, so another run may take it over now`);
    return false;
  }

  /** Throws why, unless this run still holds the lock; for writes that must be fenced by it. */
  assertHeld(): void {
    if (this.released) {
      throw new FailureError(`this run released the lock of instance "${this.info.instance}" and may no longer write its state`, {
        hint: 'This is a bug in lookout; please report it.',
      });
    }
    if (!this.checkValid()) throw this.lost.reason;
  }

  renew(): Promise<void> {
    return this.persist(() => {});
  }

  /** Applies `change` and writes the lock as a renewal, on condition that it is still ours. */
  protected persist(change: () => void): Promise<void> {
    return this.serialized(async () => {
      if (this.released || this.lost.aborted) return;
      change();
      const sent = instant();
      this.info.renewals = (this.info.renewals ?? 0) + 1;
      this.info.renewedAt = new Date(sent.wall).toISOString();
      const version = await this.objects.replace(this.place.key, serializeLock(this.info), this.version);
      if (version) {
        this.version = version;
        this.validFrom = sent;
        return;
      }
      const holder = await this.currentHolder();
      this.lose(holder ? `it is now held by ${holder}` : 'someone removed it');
    });
  }

  /** Who holds the lock object now, in words; undefined when there is none (or it cannot be read). */
  private async currentHolder(): Promise<string | undefined> {
    const now = await this.objects.get(this.place.key).catch(() => undefined);
    if (!now) return undefined;
    try {
      return describeLockHolder(parseLock(now.text, this.place.location, ''));
    } catch {
      return 'something that is not a lookout lock';
    }
  }

  private lose(why: string): void {
    if (this.lost.aborted) return;
    clearInterval(this.timer);
    this.controller.abort(
      new FailureError(`this run no longer holds the lock of instance "${this.info.instance}" (${this.place.location}): ${why}`, {
        hint: `Another run may be working on the instance now (see \`lookout status ${this.info.instance}\`). Run the command again once it is free: finished steps are skipped.`,
      }),
    );
  }

  async release(): Promise<void> {
    if (this.released) return;
    clearInterval(this.timer);
    await this.settled();
    this.released = true;
    try {
      if (this.lost.aborted) return;
      if (!(await this.objects.remove(this.place.key, this.version))) {
        const holder = (await this.currentHolder()) ?? 'another run';
        this.options.reporter.emit({
          type: 'log',
          level: 'warn',
          message: `The lock of instance "${this.info.instance}" is now held by ${holder}, not by this run; left it in place.`,
        });
      }
    } finally {
      this.registration.forget();
    }
  }
}
