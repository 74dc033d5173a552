import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { acquireInstanceLock, heldInstanceLock, isPidAlive, localHostProbe, readInstanceLock, type LockInfo } from '../../src/engine/index.js';
import { collectingReporter, silentReporter } from '../../src/progress/events.js';

/** This machine, boot and PID namespace, as a lock records them. */
const { pid: _pid, processStart: _start, ...HERE } = localHostProbe.self();

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-lock-'));
  lockPath = join(dir, 'lock.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The PID of a process that has exited: spawn one and wait for it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

function lockInfo(o: Partial<LockInfo>): LockInfo {
  return {
    holder: 'lookout create aws prod -c lookout.yaml',
    command: 'create',
    instance: 'prod',
    ...HERE,
    pid: process.pid,
    startedAt: '2026-03-02T10:15:07.123Z',
    token: 'someone-elses-token',
    ...o,
  };
}

async function writeLock(info: LockInfo): Promise<void> {
  await writeFile(lockPath, JSON.stringify(info, null, 2));
}

const acquire = (reporter = silentReporter) => acquireInstanceLock(lockPath, { command: 'upgrade', instance: 'prod', reporter });

async function failure(promise: Promise<unknown>): Promise<FailureError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailureError);
  return err as FailureError;
}

describe('isPidAlive', () => {
  it('is true for this process and false for one that exited', async () => {
    expect(isPidAlive(process.pid)).toBe(true);
    expect(isPidAlive(await deadPid())).toBe(false);
  });
  it('never calls a process-group address dead', () => {
    expect(isPidAlive(0)).toBe(true);
    expect(isPidAlive(-1)).toBe(true);
  });
});

describe('acquireInstanceLock', () => {
  it('writes a lock naming this process by machine, boot, PID namespace, PID and start time, and release removes it', async () => {
    const lock = await acquireInstanceLock(lockPath, {
      command: 'create',
      instance: 'prod',
      reporter: silentReporter,
      holder: 'lookout create aws prod -c x.yaml',
    });
    const onDisk = await readInstanceLock(lockPath);
    expect(onDisk).toEqual(lock.info);
    expect(onDisk).toMatchObject({ holder: 'lookout create aws prod -c x.yaml', pid: process.pid, hostname: hostname(), command: 'create' });
    expect(onDisk).toMatchObject({
      bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      pidNamespace: readlinkSync('/proc/self/ns/pid'),
      processStart: localHostProbe.self().processStart,
    });
    expect(Number.isNaN(Date.parse(onDisk!.startedAt))).toBe(false);
    expect(heldInstanceLock('prod')).toBe(lock);
    await lock.release();
    expect(heldInstanceLock('prod')).toBeUndefined();
    expect(await readdir(dir)).toEqual([]);
    await lock.release(); // a second release is harmless
  });

  it('refuses while a live process holds the lock, naming holder, PID, host and start time', async () => {
    // A live process of this host that is not us: another run.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      await writeLock(lockInfo({ pid: child.pid! }));
      const err = await failure(acquire());
      expect(err.exitCode).toBe(1);
      expect(err.message).toContain('instance "prod" is locked by another lookout run');
      expect(err.message).toContain('lookout create aws prod -c lookout.yaml');
      expect(err.message).toContain(`PID ${child.pid}`);
      expect(err.message).toContain(hostname());
      expect(err.message).toContain('2026-03-02T10:15:07.123Z');
      expect(err.hint).toContain('Wait for that run to finish');
      expect(err.hint).toContain(`delete the lock file at ${lockPath}`);
      // The live lock is untouched.
      expect((await readInstanceLock(lockPath))!.pid).toBe(child.pid);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a second acquisition in the same process while the first is held', async () => {
    const first = await acquire();
    const err = await failure(acquire());
    expect(err.message).toContain(`PID ${process.pid}`);
    await first.release();
    const again = await acquire();
    await again.release();
  });

  it('takes over a stale lock of a dead process on this host, with a warning naming it', async () => {
    const pid = await deadPid();
    await writeLock(lockInfo({ pid, holder: 'lookout destroy prod' }));
    const reporter = collectingReporter();
    const lock = await acquire(reporter);
    expect(await readInstanceLock(lockPath)).toEqual(lock.info);
    const warnings = reporter.events.filter((e) => e.type === 'log' && e.level === 'warn');
    expect(warnings).toHaveLength(1);
    const message = (warnings[0] as { message: string }).message;
    expect(message).toContain('stale lock');
    expect(message).toContain('lookout destroy prod');
    expect(message).toContain(`PID ${pid}`);
    await lock.release();
    // No takeover markers or temporary files are left behind.
    expect(await readdir(dir)).toEqual([]);
  });

  it('counts a lock with our PID but an earlier start time as stale (a PID reused after a restart)', async () => {
    await writeLock(lockInfo({ pid: process.pid, processStart: '1', token: 'from-before-the-container-restarted' }));
    const reporter = collectingReporter();
    const lock = await acquire(reporter);
    expect(reporter.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringContaining(`PID ${process.pid} now belongs to another process`) }),
    );
    await lock.release();
  });

  it('counts a lock naming this very process with a token it no longer holds as stale', async () => {
    await writeLock(lockInfo({ processStart: localHostProbe.self().processStart, token: 'taken-and-forgotten' }));
    const lock = await acquire();
    await lock.release();
  });

  it('refuses a lock from another machine, even with the same host name and a PID that does not exist here', async () => {
    await writeLock(lockInfo({ bootId: 'another-boot', machineId: 'another-machine', pid: await deadPid() }));
    const err = await failure(acquire());
    expect(err.message).toContain(`on ${hostname()}`);
    expect(err.message).toContain(`it runs on another machine (${hostname()}, boot another-boot)`);
    expect(err.hint).toContain('Lookout takes over a lock only when it can prove that its holder has ended');
    expect(err.hint).toContain(`If the run on ${hostname()} is really over`);
    expect(err.hint).toContain(lockPath);
    expect((await readInstanceLock(lockPath))!.bootId).toBe('another-boot');
  });

  it('refuses a lock from another PID namespace of this machine whose PID does not exist here', async () => {
    // What `unshare --pid` gives a container: the same boot, its own PIDs. (The real thing,
    // with processes, is in test/fault/lock-and-interrupt.test.ts.)
    await writeLock(lockInfo({ pidNamespace: 'pid:[4026532999]', pid: await deadPid() }));
    const err = await failure(acquire());
    expect(err.message).toContain('it runs in another PID namespace (pid:[4026532999]');
    expect((await readInstanceLock(lockPath))!.pidNamespace).toBe('pid:[4026532999]');
  });

  it('refuses a lock of an earlier boot of this machine, and one that does not say where it comes from', async () => {
    await writeLock(lockInfo({ bootId: 'before-the-restart', pid: await deadPid() }));
    expect((await failure(acquire())).message).toContain('before it was last restarted');
    const { bootId: _b, machineId: _m, pidNamespace: _n, processStart: _s, ...legacy } = lockInfo({ pid: await deadPid() });
    await writeLock(legacy as LockInfo);
    expect((await failure(acquire())).message).toContain('written by an older lookout');
  });

  it('keeps the child-lock records of a dead holder it takes over', async () => {
    const record = { key: '.pulumi/locks/organization/p/s/a.json', process: { ...HERE, pid: 4321, processStart: '77' }, recordedAt: '2026-03-02T10:15:07.123Z' };
    await writeLock(lockInfo({ pid: await deadPid(), childLocks: [record] }));
    const lock = await acquire();
    expect(lock.childLocks()).toEqual([record]);
    await lock.recordChildLock('.pulumi/locks/organization/p/s/b.json', { ...HERE, pid: 99, processStart: '5' });
    expect((await readInstanceLock(lockPath))!.childLocks!.map((r) => r.key)).toEqual([record.key, '.pulumi/locks/organization/p/s/b.json']);
    await lock.forgetChildLocks([record.key]);
    expect((await readInstanceLock(lockPath))!.childLocks!.map((r) => r.key)).toEqual(['.pulumi/locks/organization/p/s/b.json']);
    await lock.release();
  });

  it('refuses a lock file it cannot read, saying what to do', async () => {
    await writeFile(lockPath, 'not json');
    const err = await failure(acquire());
    expect(err.message).toContain('not a lookout lock');
    expect(err.hint).toContain(`delete the lock file at ${lockPath}`);
  });

  it("does not delete someone else's lock on release", async () => {
    const reporter = collectingReporter();
    const lock = await acquire(reporter);
    // Someone deleted our lock by hand and another run took the instance.
    const theirs = lockInfo({ token: 'their-token', holder: 'lookout upgrade prod' });
    await writeLock(theirs);
    await lock.release();
    expect(JSON.parse(await readFile(lockPath, 'utf8'))).toEqual(theirs);
    expect(reporter.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringContaining('lookout upgrade prod') }),
    );
  });

  it('lets exactly one of many concurrent acquirers take over one stale lock', async () => {
    for (let round = 0; round < 5; round++) {
      await writeLock(lockInfo({ pid: await deadPid(), token: `stale-${round}` }));
      const reporters = Array.from({ length: 24 }, () => collectingReporter());
      // Staggered starts (a few file system round trips apart) so that some contenders read the
      // stale lock while another is already replacing it, not only all at the same instant.
      const staggered = async (r: (typeof reporters)[number], i: number) => {
        for (let k = 0; k < i % 12; k++) await readdir(dir);
        return acquire(r);
      };
      const results = await Promise.allSettled(reporters.map(staggered));
      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      const winner = (winners[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquire>>>).value;
      // The lock on disk is the winner's, and every loser was told who holds it.
      expect((await readInstanceLock(lockPath))!.token).toBe(winner.info.token);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(FailureError);
          expect((r.reason as FailureError).message).toContain('locked by another lookout run');
        }
      }
      expect(reporters.flatMap((r) => r.events).filter((e) => e.type === 'log' && e.message.includes('stale lock'))).toHaveLength(1);
      await winner.release();
      expect(await readdir(dir)).toEqual([]);
    }
  });
});
