import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import type { HostProbe, ProcessIdentity } from '../../src/engine/holder.js';
import { collectingReporter } from '../../src/progress/events.js';
import { fileStore, lockDirKey, stackHasState } from '../../src/pulumi/diy-store.js';
import { gcsStore } from '../../src/pulumi/gcs-store.js';
import {
  classifyPulumiLock,
  clearStalePulumiLocks,
  localLockEnvironment,
  lockedErrorFromEngine,
  parseLockedError,
  type PulumiLock,
} from '../../src/pulumi/locks.js';
import { lockEnvironment, memoryLedger, recordHere } from '../support/lock-ledger.js';

const REF = { project: 'lookout-prod', stack: 'prod-infra' };
const HOST = hostname();
const KEY = `${lockDirKey(REF.project, REF.stack)}/0f0e5c4b-8d4a-4a55-9d39-9f5b3d0e6a11.json`;

/** The pid of a process that has exited: spawn one and wait for it. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

function lock(o: Partial<PulumiLock>): PulumiLock {
  return { pid: 4242, username: 'ci', hostname: HOST, timestamp: '2026-03-02T10:15:07.123456789Z', ...o };
}

describe('classifyPulumiLock', () => {
  const here: ProcessIdentity = { hostname: HOST, pid: 1, bootId: 'boot-1', pidNamespace: 'pid:[1]', processStart: '1' };
  const machine = (running: Record<number, string>): HostProbe => ({
    self: () => here,
    inspect: (pid) => (pid in running ? { state: 'running', start: running[pid]! } : { state: 'gone' }),
  });
  const record = (o: Partial<ProcessIdentity> = {}) => ({ key: KEY, process: { ...here, pid: 4242, processStart: '700', ...o }, recordedAt: '' });

  it('calls a lock stale only when a run of ours recorded its engine, and that engine is provably gone', () => {
    expect(classifyPulumiLock(KEY, lock({}), [record()], machine({}))).toMatchObject({ class: 'stale' });
    // The PID was reused by a later process.
    expect(classifyPulumiLock(KEY, lock({}), [record()], machine({ 4242: '999' }))).toMatchObject({ class: 'stale' });
  });

  it('calls a recorded lock running while its engine runs', () => {
    const c = classifyPulumiLock(KEY, lock({}), [record()], machine({ 4242: '700' }));
    expect(c.class).toBe('running');
    expect(c.reason).toContain('process 4242');
  });

  it('never calls a lock stale by host name and PID alone (another container or machine of that name may hold it)', () => {
    const c = classifyPulumiLock(KEY, lock({}), [], machine({}));
    expect(c.class).toBe('unproven');
    expect(c.reason).toContain('no lookout run recorded starting that engine on this machine');
    // A record of another lock, or of another PID, proves nothing about this one.
    expect(classifyPulumiLock(KEY, lock({}), [{ ...record(), key: `${KEY}.other` }], machine({})).class).toBe('unproven');
    expect(classifyPulumiLock(KEY, lock({ pid: 4243 }), [record()], machine({})).class).toBe('unproven');
  });

  it('cannot judge a recorded engine of another PID namespace or boot', () => {
    expect(classifyPulumiLock(KEY, lock({}), [record({ pidNamespace: 'pid:[2]' })], machine({})).class).toBe('unproven');
    expect(classifyPulumiLock(KEY, lock({}), [record({ bootId: 'boot-0' })], machine({})).class).toBe('unproven');
  });

  describe('a lock without a record of its own, taken after a dead run of ours recorded starting an engine on its stack', () => {
    const DIR = `${lockDirKey(REF.project, REF.stack)}/`;
    // The lookout process (pid 300) that recorded it had ended; the lock is from a second after.
    const starting = (o: Partial<ProcessIdentity> = {}, recordedAt = '2026-03-02T10:15:06.000Z') => ({ key: DIR, process: { ...here, pid: 300, processStart: '50', ...o }, recordedAt });

    it('is stale once the PID that wrote it is gone (the engine was killed before its first event)', () => {
      const c = classifyPulumiLock(KEY, lock({}), [starting()], machine({}));
      expect(c.class).toBe('stale');
      expect(c.reason).toContain('process 4242 no longer exists');
    });

    it('is reported running while that PID runs (the engine may outlive its lookout)', () => {
      expect(classifyPulumiLock(KEY, lock({}), [starting()], machine({ 4242: '900' })).class).toBe('running');
    });

    it('proves nothing while the run that recorded it still runs, for a lock taken before it, from another host, or on another stack', () => {
      expect(classifyPulumiLock(KEY, lock({}), [starting()], machine({ 300: '50' })).class).toBe('unproven');
      expect(classifyPulumiLock(KEY, lock({}), [starting({}, '2026-03-02T10:15:09.000Z')], machine({})).class).toBe('unproven');
      expect(classifyPulumiLock(KEY, lock({ hostname: 'someone-else' }), [starting()], machine({})).class).toBe('unproven');
      expect(classifyPulumiLock(KEY, lock({}), [{ ...starting(), key: `${lockDirKey(REF.project, 'prod-platform')}/` }], machine({})).class).toBe('unproven');
      // Recorded by a process of another PID namespace: its death cannot be judged from here.
      expect(classifyPulumiLock(KEY, lock({}), [starting({ pidNamespace: 'pid:[2]' })], machine({})).class).toBe('unproven');
    });
  });

  it('says a lock of another host is held from another machine', () => {
    expect(classifyPulumiLock(KEY, lock({ hostname: 'someone-else' }), [], machine({}))).toEqual({ class: 'unproven', reason: 'held from another machine' });
  });
});

describe('clearStalePulumiLocks with the file backend', () => {
  let dir: string;
  let lockDir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-locks-'));
    lockDir = join(dir, ...lockDirKey(REF.project, REF.stack).split('/'));
    await mkdir(lockDir, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function writeLock(name: string, content: unknown): Promise<string> {
    const path = join(lockDir, `${name}.json`);
    // Pulumi writes the lock with Go's json.Marshal: compact, with a nanosecond timestamp.
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }
  const keyOf = (name: string) => `${lockDirKey(REF.project, REF.stack)}/${name}.json`;
  const clear = (env = localLockEnvironment(), reporter = collectingReporter(), step?: string) =>
    clearStalePulumiLocks({ store: fileStore(dir), instance: 'prod', ref: REF, env, reporter, ...(step ? { step } : {}) });

  it('uses the lock directory Pulumi uses for project-scoped stacks', () => {
    expect(lockDirKey('lookout-prod', 'prod-infra')).toBe('.pulumi/locks/organization/lookout-prod/prod-infra');
  });

  it('does nothing when there are no locks (or no lock directory at all)', async () => {
    const reporter = collectingReporter();
    await rm(join(dir, '.pulumi'), { recursive: true });
    await expect(clear(lockEnvironment(memoryLedger()), reporter)).resolves.toEqual([]);
    expect(reporter.events).toEqual([]);
  });

  it('removes a lock whose engine a run of ours recorded and which has ended, logs it, and drops the record', async () => {
    const pid = await deadPid();
    const path = await writeLock('0f0e5c4b', lock({ pid }));
    const ledger = memoryLedger([recordHere(keyOf('0f0e5c4b'), pid)]);
    const reporter = collectingReporter();

    const cleared = await clear(lockEnvironment(ledger), reporter, 'infra');

    expect(cleared).toHaveLength(1);
    expect(cleared[0]!.location).toBe(path);
    expect(await readdir(lockDir)).toEqual([]);
    expect(ledger.records).toEqual([]);
    expect(reporter.events).toHaveLength(1);
    const event = reporter.events[0]!;
    expect(event).toMatchObject({ type: 'log', level: 'warn', step: 'infra' });
    if (event.type !== 'log') throw new Error('expected a log event');
    expect(event.message).toContain(`pid ${pid}`);
    expect(event.message).toContain(`process ${pid} no longer exists`);
    expect(event.message).toContain(path);
  });

  it('removes a lock left by an engine killed before its first event, by the record that a dead run of ours was starting it, and drops that record', async () => {
    const [engine, lookout] = [await deadPid(), await deadPid()];
    await writeLock('early', lock({ pid: engine, timestamp: new Date().toISOString() }));
    const starting = { ...recordHere(`${lockDirKey(REF.project, REF.stack)}/`, lookout), recordedAt: new Date(Date.now() - 5_000).toISOString() };
    const ledger = memoryLedger([starting]);
    const cleared = await clear(lockEnvironment(ledger));
    expect(cleared).toHaveLength(1);
    expect(cleared[0]!.reason).toContain(`process ${engine} no longer exists`);
    expect(await readdir(lockDir)).toEqual([]);
    expect(ledger.records).toEqual([]);
  });

  it('keeps the record that an engine was starting while a lock of the stack is left to judge', async () => {
    const lookout = await deadPid();
    const engine = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      await writeLock('live', lock({ pid: engine.pid!, timestamp: new Date().toISOString() }));
      const starting = { ...recordHere(`${lockDirKey(REF.project, REF.stack)}/`, lookout), recordedAt: new Date(Date.now() - 5_000).toISOString() };
      const ledger = memoryLedger([starting]);
      const err = await clear(lockEnvironment(ledger)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailureError);
      expect((err as Error).message).toContain('is still running');
      expect(ledger.records).toEqual([starting]);
    } finally {
      engine.kill('SIGKILL');
    }
  });

  it('refuses a lock of this host name whose PID is gone when no run of ours recorded it', async () => {
    // What another container with this host name, or a machine cloned from this one, leaves:
    // its engine is alive in a PID space this process cannot see.
    const pid = await deadPid();
    const path = await writeLock('unrecorded', lock({ pid, username: 'alice' }));
    const err = await clear(lockEnvironment(memoryLedger())).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain(`${path}: held by alice@${HOST}, pid ${pid}`);
    expect(f.message).toContain('nothing proves it has ended');
    expect(f.hint).toContain(`rm '${path}'`);
    expect(await readdir(lockDir)).toEqual(['unrecorded.json']);
  });

  it('removes nothing while this process holds no instance lock', async () => {
    // Without our own instance lock, another run may be starting an engine on the stack.
    const pid = await deadPid();
    await writeLock('a', lock({ pid }));
    expect(await clear(localLockEnvironment()).catch((e: unknown) => e)).toBeInstanceOf(FailureError);
    expect(await readdir(lockDir)).toEqual(['a.json']);
  });

  it('refuses a recorded lock whose engine still runs, naming it and how to stop it', async () => {
    const engine = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const path = await writeLock('live', lock({ pid: engine.pid!, username: 'alice' }));
      const ledger = memoryLedger([recordHere(keyOf('live'), engine.pid!)]);
      const reporter = collectingReporter();

      const err = await clear(lockEnvironment(ledger), reporter).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(FailureError);
      const f = err as FailureError;
      expect(f.message).toContain('lookout-prod/prod-infra is locked');
      expect(f.message).toContain(`${path}: held by alice@${HOST}, pid ${engine.pid}`);
      expect(f.message).toContain('started by an earlier lookout run on this machine, is still running');
      expect(f.hint).toContain(`kill ${engine.pid}`);
      expect(f.hint).toContain(`rm '${path}'`);
      expect(await readdir(lockDir)).toEqual(['live.json']);
      expect(ledger.records).toHaveLength(1);
      expect(reporter.events).toEqual([]);
    } finally {
      engine.kill('SIGKILL');
    }
  });

  it('refuses a lock from another host even when a stale one was cleared, listing only what remains', async () => {
    const pid = await deadPid();
    const stale = await writeLock('a-stale', lock({ pid }));
    const other = await writeLock('b-other', lock({ hostname: 'bobs-laptop', username: 'bob', pid: 99 }));
    const reporter = collectingReporter();

    const err = await clear(lockEnvironment(memoryLedger([recordHere(keyOf('a-stale'), pid)])), reporter).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain(`${other}: held from another machine (bob@bobs-laptop, pid 99, since 2026-03-02T10:15:07.123456789Z)`);
    expect(f.message).not.toContain(stale);
    expect(await readdir(lockDir)).toEqual(['b-other.json']);
    expect(reporter.events.filter((e) => e.type === 'log' && e.level === 'warn')).toHaveLength(1);
  });

  it('drops the records of locks that are gone', async () => {
    const ledger = memoryLedger([recordHere(keyOf('gone'), 4242, '5'), recordHere('.pulumi/locks/organization/lookout-prod/prod-platform/x.json', 4242, '5')]);
    await clear(lockEnvironment(ledger));
    // Only this stack's records are this stack's business.
    expect(ledger.records.map((r) => r.key)).toEqual(['.pulumi/locks/organization/lookout-prod/prod-platform/x.json']);
  });

  it('refuses an unreadable lock instead of guessing', async () => {
    const path = await writeLock('broken', '{"pid": ');
    const err = await clear(lockEnvironment(memoryLedger())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(`${path}: the lock file is not valid JSON`);
    expect(await readdir(lockDir)).toEqual(['broken.json']);
  });
});

describe('locks in a GCS backend', () => {
  // The client is never asked for: these only read the engine's error and name the objects.
  const store = gcsStore('acme-state', 'prod', () => Promise.reject(new Error('no request expected')));

  it('are reported from the engine error with the exact gcloud command', async () => {
    const url = 'gs://acme-state/prod/.pulumi/locks/organization/lookout-prod/prod-infra/7c1f.json';
    const text =
      'error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n' +
      `  ${url}: created by bob@bobs-laptop (pid 99) at 2026-03-02T10:15:07Z\n`;
    const err = lockedErrorFromEngine(text, REF);
    expect(err.message).toContain(`${url}: held from another machine (bob@bobs-laptop, pid 99`);
    expect(err.hint).toContain(`gcloud storage rm '${url}'`);
    expect(store.removeCommand('.pulumi/locks/organization/lookout-prod/prod-infra/7c1f.json')).toBe(`gcloud storage rm '${url}'`);
  });

  it('say a lock of this host named by the engine must be removed by hand: nothing proves its holder ended', () => {
    const url = 'gs://acme-state/prod/.pulumi/locks/organization/lookout-prod/prod-infra/1.json';
    const text = `the stack is currently locked by 1 lock(s).\n  ${url}: created by ci@${HOST} (pid 123) at 2026-03-02T10:15:07Z`;
    const err = lockedErrorFromEngine(text, REF);
    expect(err.message).toContain(`${url}: held by ci@${HOST}, pid 123`);
    expect(err.message).toContain('nothing proves it has ended');
    expect(err.hint).toContain(`gcloud storage rm '${url}'`);
  });
});

describe('parseLockedError', () => {
  it('reads every lock line of the engine error, once', () => {
    const text = [
      'error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.',
      '  s3://acme-state/prod/.pulumi/locks/organization/p/s/a.json?region=eu-west-1: created by DOMAIN\\bob@build-7 (pid 311) at 2026-03-02T10:15:07Z',
      '  file:///home/ci/.lookout/prod/state/.pulumi/locks/organization/p/s/b.json: created by ci@runner (pid 12) at 2026-03-02T11:00:00Z',
      '  file:///home/ci/.lookout/prod/state/.pulumi/locks/organization/p/s/b.json: created by ci@runner (pid 12) at 2026-03-02T11:00:00Z',
    ].join('\n');
    expect(parseLockedError(text)).toEqual([
      {
        location: 's3://acme-state/prod/.pulumi/locks/organization/p/s/a.json?region=eu-west-1',
        lock: { username: 'DOMAIN\\bob', hostname: 'build-7', pid: 311, timestamp: '2026-03-02T10:15:07Z' },
      },
      {
        location: 'file:///home/ci/.lookout/prod/state/.pulumi/locks/organization/p/s/b.json',
        lock: { username: 'ci', hostname: 'runner', pid: 12, timestamp: '2026-03-02T11:00:00Z' },
      },
    ]);
  });

  it('gives commands without the URL query for S3 and plain paths for files', () => {
    const text = [
      'the stack is currently locked by 2 lock(s).',
      '  s3://acme-state/prod/.pulumi/locks/organization/p/s/a.json?region=eu-west-1: created by bob@build-7 (pid 311) at 2026-03-02T10:15:07Z',
      '  file:///srv/state/.pulumi/locks/organization/p/s/b.json: created by ci@runner (pid 12) at 2026-03-02T11:00:00Z',
    ].join('\n');
    const err = lockedErrorFromEngine(text, { project: 'p', stack: 's' });
    expect(err.hint).toContain("aws s3 rm 's3://acme-state/prod/.pulumi/locks/organization/p/s/a.json'");
    expect(err.hint).toContain("rm '/srv/state/.pulumi/locks/organization/p/s/b.json'");
    expect(err.message).toContain('/srv/state/.pulumi/locks/organization/p/s/b.json: held from another machine');
  });
});

describe('stackHasState', () => {
  it('finds the plain or gzipped state file of a project-scoped stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-state-'));
    try {
      const store = fileStore(dir);
      await expect(stackHasState(store, REF.project, REF.stack)).resolves.toBe(false);
      await mkdir(join(dir, '.pulumi', 'stacks', REF.project), { recursive: true });
      await writeFile(join(dir, '.pulumi', 'stacks', REF.project, `${REF.stack}.json.gz`), '');
      await expect(stackHasState(store, REF.project, REF.stack)).resolves.toBe(true);
      await expect(stackHasState(store, REF.project, 'prod-platform')).resolves.toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
