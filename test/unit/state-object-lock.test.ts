/**
 * The shared lock's rules over in-memory conditional objects (the same code against a real
 * S3-compatible server, with real processes, is in test/integration/shared-state.test.ts).
 */
import { spawn } from 'node:child_process';
import { waitFor as pWaitFor } from '../../src/wait-for.js';
import { afterEach, describe, expect, it } from 'vitest';
import { localHostProbe, type LockInfo } from '../../src/engine/index.js';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { collectingReporter, silentReporter } from '../../src/progress/events.js';
import { acquireObjectLock, type ObjectLock } from '../../src/state/object-lock.js';
import { memoryObjects, type MemoryObjects } from '../support/memory-objects.js';

const KEY = 'team/.lookout/prod/lock.json';
const place = { key: KEY, location: `s3://state/${KEY}`, removeCommand: `aws s3 rm 's3://state/${KEY}'` };
const { pid: _pid, processStart: _start, ...HERE } = localHostProbe.self();

const held: ObjectLock[] = [];
afterEach(async () => {
  await Promise.all(held.splice(0).map((l) => l.release().catch(() => {})));
});

async function take(objects: MemoryObjects, o: { leaseMs?: number; reporter?: ReturnType<typeof collectingReporter>; signal?: AbortSignal } = {}) {
  const lock = await acquireObjectLock(objects, place, {
    command: 'upgrade',
    instance: 'prod',
    reporter: o.reporter ?? silentReporter,
    leaseMs: o.leaseMs ?? 60_000,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  held.push(lock);
  return lock;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

/** A lock as another lookout wrote it. */
function theirs(o: Partial<LockInfo> = {}): LockInfo {
  return {
    holder: 'lookout create aws prod --state s3://state/team',
    command: 'create',
    instance: 'prod',
    hostname: 'build-7',
    pid: 311,
    bootId: 'their-boot',
    machineId: 'their-machine',
    pidNamespace: 'pid:[4026531836]',
    processStart: '100',
    startedAt: '2026-03-02T10:15:07.123Z',
    token: 'their-token',
    leaseMs: 60_000,
    renewedAt: new Date().toISOString(),
    renewals: 3,
    ...o,
  };
}

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as FailureError);

describe('the shared lock', () => {
  it('is created only when there is none, names this process, and is deleted on release only while still ours', async () => {
    const objects = memoryObjects();
    const lock = await take(objects);
    const stored = JSON.parse(objects.objects.get(KEY)!) as LockInfo;
    expect(stored).toMatchObject({ ...HERE, pid: process.pid, token: lock.info.token, leaseMs: 60_000, renewals: 0 });
    expect(objects.calls).toEqual([`create ${KEY}`]);

    const second = await failure(take(objects));
    expect(second).toBeInstanceOf(FailureError);
    expect(second!.message).toContain(`locked by another lookout run: \``);
    expect(second!.message).toContain(`(PID ${process.pid} on ${HERE.hostname}`);

    await lock.release();
    expect(objects.objects.has(KEY)).toBe(false);
  });

  it('refuses a fresh lease of another machine at once, saying when it would run out and how to remove it', async () => {
    const objects = memoryObjects();
    objects.put(KEY, JSON.stringify(theirs({ renewedAt: new Date(Date.now() - 5_000).toISOString() })));
    const started = Date.now();
    const err = await failure(take(objects));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(err).toBeInstanceOf(FailureError);
    expect(err!.message).toContain('instance "prod" is locked by another lookout run: `lookout create aws prod --state s3://state/team` (PID 311 on build-7');
    expect(err!.message).toContain('it runs on another machine (build-7, boot their-boot)');
    expect(err!.hint).toMatch(/last renewed \ds ago \(by build-7's clock\), and it is taken over once it has not been renewed for 1m 00s/);
    expect(err!.hint).toContain(`remove it with \`aws s3 rm 's3://state/${KEY}'\``);
  });

  it('takes over a provably dead holder of this machine at once, keeping its records', async () => {
    const objects = memoryObjects();
    const record = { key: '.pulumi/locks/organization/p/s/a.json', process: { ...HERE, pid: 5, processStart: '9' }, recordedAt: '' };
    objects.put(KEY, JSON.stringify(theirs({ ...HERE, pid: await deadPid(), childLocks: [record] })));
    const reporter = collectingReporter();
    const lock = await take(objects, { reporter });
    expect(lock.childLocks()).toEqual([record]);
    expect(JSON.parse(objects.objects.get(KEY)!).token).toBe(lock.info.token);
    expect(reporter.events).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^Took over the stale lock .*: process \d+ no longer exists\.$/) })]);
  });

  it('takes over a lease that is not renewed for a whole lease, watched on its own clock', async () => {
    const objects = memoryObjects();
    objects.put(KEY, JSON.stringify(theirs({ leaseMs: 300, renewedAt: '2026-03-02T10:15:07.123Z' })));
    const reporter = collectingReporter();
    const started = performance.now();
    const lock = await take(objects, { reporter });
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(JSON.parse(objects.objects.get(KEY)!).token).toBe(lock.info.token);
    const messages = reporter.events.map((e) => (e as { message: string }).message);
    expect(messages[0]).toMatch(/^The lock of instance "prod" is held by .*build-7.*last renewed .* ago by that machine's clock\. Watching it for 0s/);
    expect(messages[1]).toContain('its lease ran out (it was not renewed for 0s)');
  });

  it('does not take over a lease that looked expired but is renewed while watched (a machine with a wrong clock)', async () => {
    const objects = memoryObjects();
    objects.put(KEY, JSON.stringify(theirs({ leaseMs: 400, renewedAt: '2026-03-02T10:15:07.123Z' })));
    // Their renewal lands while we watch (after our first read); their clock is still wrong, so it still looks old.
    const renewal = () => void objects.put(KEY, JSON.stringify(theirs({ leaseMs: 400, renewedAt: '2026-03-02T10:15:08.123Z', renewals: 4 })));
    objects.before('get', () => objects.before('get', renewal));
    const err = await failure(take(objects));
    expect(err).toBeInstanceOf(FailureError);
    expect(err!.hint).toContain('it was renewed while this run watched it');
    expect(JSON.parse(objects.objects.get(KEY)!)).toMatchObject({ token: 'their-token', renewals: 4 });
  });

  it('stops watching on Ctrl-C', async () => {
    const objects = memoryObjects();
    objects.put(KEY, JSON.stringify(theirs({ leaseMs: 60_000, renewedAt: '2026-03-02T10:15:07.123Z' })));
    const controller = new AbortController();
    const pending = take(objects, { signal: controller.signal });
    await pWaitFor(() => objects.calls.length >= 2, { timeout: 5_000 });
    controller.abort();
    expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(InterruptedError);
    expect(JSON.parse(objects.objects.get(KEY)!).token).toBe('their-token');
  });

  it('is renewed by its holder with a new version each time', async () => {
    const objects = memoryObjects();
    const lock = await take(objects, { leaseMs: 600 });
    const first = objects.objects.get(KEY);
    await pWaitFor(() => (JSON.parse(objects.objects.get(KEY)!) as LockInfo).renewals! >= 2, { timeout: 5_000 });
    expect(objects.objects.get(KEY)).not.toBe(first);
    expect(lock.lost.aborted).toBe(false);
    lock.assertHeld();
  });

  it('is lost, with the new holder named, once someone else replaced it; and then left in place on release', async () => {
    const objects = memoryObjects();
    const lock = await take(objects, { leaseMs: 600 });
    objects.put(KEY, JSON.stringify(theirs()));
    await pWaitFor(() => lock.lost.aborted, { timeout: 5_000 });
    const reason = lock.lost.reason as FailureError;
    expect(reason).toBeInstanceOf(FailureError);
    expect(reason.message).toContain('this run no longer holds the lock of instance "prod"');
    expect(reason.message).toContain('it is now held by `lookout create aws prod --state s3://state/team` (PID 311 on build-7');
    expect(() => lock.assertHeld()).toThrow(/no longer holds the lock/);
    await lock.release();
    expect(JSON.parse(objects.objects.get(KEY)!).token).toBe('their-token');
  });

  it('is given up by its holder before the lease could run out when it cannot be renewed', async () => {
    const objects = memoryObjects();
    const lock = await take(objects, { leaseMs: 400 });
    objects.failing('replace', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    const started = performance.now();
    await pWaitFor(() => lock.lost.aborted, { timeout: 5_000 });
    // Three quarters of the lease after the last renewal that went through, at the latest.
    expect(performance.now() - started).toBeLessThan(400);
    expect((lock.lost.reason as Error).message).toMatch(/could not be renewed for 0s, so another run may take it over now/);
  });
});
