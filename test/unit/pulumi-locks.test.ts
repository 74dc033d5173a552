import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { collectingReporter } from '../../src/progress/events.js';
import { fileStore, gcsStore, lockDirKey, stackHasState } from '../../src/pulumi/diy-store.js';
import {
  classifyPulumiLock,
  clearStalePulumiLocks,
  isPidAlive,
  localLockEnvironment,
  lockedErrorFromEngine,
  parseLockedError,
  type PulumiLock,
} from '../../src/pulumi/locks.js';

const REF = { project: 'lookout-prod', stack: 'prod-infra' };
const HOST = hostname();

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
  const env = (alive: boolean) => ({ hostname: HOST, isPidAlive: () => alive });

  it('calls a lock from this host whose process is gone stale', () => {
    expect(classifyPulumiLock(lock({}), env(false))).toBe('stale-local');
  });
  it('calls a lock from this host whose process runs live', () => {
    expect(classifyPulumiLock(lock({}), env(true))).toBe('live-local');
  });
  it('never judges a lock from another host by its pid', () => {
    const isPidAlive = vi.fn(() => false);
    expect(classifyPulumiLock(lock({ hostname: 'someone-else' }), { hostname: HOST, isPidAlive })).toBe('other-host');
    expect(isPidAlive).not.toHaveBeenCalled();
  });
  it('compares host names case-insensitively', () => {
    expect(classifyPulumiLock(lock({ hostname: HOST.toUpperCase() }), env(false))).toBe('stale-local');
  });
});

describe('isPidAlive', () => {
  it('is true for this process and false for one that has exited', async () => {
    expect(isPidAlive(process.pid)).toBe(true);
    expect(isPidAlive(await deadPid())).toBe(false);
  });

  it('treats EPERM as alive and only ESRCH as gone', () => {
    const kill = vi.spyOn(process, 'kill');
    try {
      kill.mockImplementation(() => {
        throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
      });
      expect(isPidAlive(1234)).toBe(true);
      kill.mockImplementation(() => {
        throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
      });
      expect(isPidAlive(1234)).toBe(false);
    } finally {
      kill.mockRestore();
    }
  });

  it('never signals a process group (pid 0 or negative)', () => {
    const kill = vi.spyOn(process, 'kill');
    try {
      expect(isPidAlive(0)).toBe(true);
      expect(isPidAlive(-5)).toBe(true);
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
    }
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

  it('uses the lock directory Pulumi uses for project-scoped stacks', () => {
    expect(lockDirKey('lookout-prod', 'prod-infra')).toBe('.pulumi/locks/organization/lookout-prod/prod-infra');
  });

  it('does nothing when there are no locks (or no lock directory at all)', async () => {
    const reporter = collectingReporter();
    await rm(join(dir, '.pulumi'), { recursive: true });
    await expect(
      clearStalePulumiLocks({ store: fileStore(dir), ref: REF, env: localLockEnvironment(), reporter }),
    ).resolves.toEqual([]);
    expect(reporter.events).toEqual([]);
  });

  it('removes a stale local lock and logs the removal as a warning', async () => {
    const pid = await deadPid();
    const path = await writeLock('0f0e5c4b-8d4a-4a55-9d39-9f5b3d0e6a11', lock({ pid }));
    const reporter = collectingReporter();

    const cleared = await clearStalePulumiLocks({ store: fileStore(dir), ref: REF, env: localLockEnvironment(), reporter, step: 'infra' });

    expect(cleared).toHaveLength(1);
    expect(cleared[0]!.location).toBe(path);
    expect(await readdir(lockDir)).toEqual([]);
    expect(reporter.events).toHaveLength(1);
    const event = reporter.events[0]!;
    expect(event).toMatchObject({ type: 'log', level: 'warn', step: 'infra' });
    if (event.type !== 'log') throw new Error('expected a log event');
    expect(event.message).toContain(`process ${pid}`);
    expect(event.message).toContain('no longer running');
    expect(event.message).toContain(path);
  });

  it('refuses a live local lock, naming its holder and what to do, and keeps it', async () => {
    const path = await writeLock('live', lock({ pid: process.pid, username: 'alice' }));
    const reporter = collectingReporter();

    const err = await clearStalePulumiLocks({ store: fileStore(dir), ref: REF, env: localLockEnvironment(), reporter }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain('lookout-prod/prod-infra is locked');
    expect(f.message).toContain(path);
    expect(f.message).toContain(`alice@${HOST}, pid ${process.pid}`);
    expect(f.message).toContain('still running on this machine');
    expect(f.hint).toContain('wait for it to finish');
    expect(f.hint).toContain(`rm '${path}'`);
    expect(await readdir(lockDir)).toEqual(['live.json']);
    expect(reporter.events).toEqual([]);
  });

  it('refuses a lock from another host even when a stale one was cleared, listing only what remains', async () => {
    const stale = await writeLock('a-stale', lock({ pid: await deadPid() }));
    const other = await writeLock('b-other', lock({ hostname: 'bobs-laptop', username: 'bob', pid: 99 }));
    const reporter = collectingReporter();

    const err = await clearStalePulumiLocks({ store: fileStore(dir), ref: REF, env: localLockEnvironment(), reporter }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain(`${other}: held from another machine (bob@bobs-laptop, pid 99, since 2026-03-02T10:15:07.123456789Z)`);
    expect(f.message).not.toContain(stale);
    expect(await readdir(lockDir)).toEqual(['b-other.json']);
    expect(reporter.events.filter((e) => e.type === 'log' && e.level === 'warn')).toHaveLength(1);
  });

  it('refuses an unreadable lock instead of guessing', async () => {
    const path = await writeLock('broken', '{"pid": ');
    const err = await clearStalePulumiLocks({
      store: fileStore(dir),
      ref: REF,
      env: localLockEnvironment(),
      reporter: collectingReporter(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(`${path}: the lock file is not valid JSON`);
    expect(await readdir(lockDir)).toEqual(['broken.json']);
  });
});

describe('locks in a GCS backend', () => {
  const store = gcsStore('acme-state', 'prod');

  it('are not listed (there is no GCS client), so nothing is cleared up front', async () => {
    await expect(
      clearStalePulumiLocks({ store, ref: REF, env: localLockEnvironment(), reporter: collectingReporter() }),
    ).resolves.toEqual([]);
  });

  it('are reported from the engine error with the exact gcloud command', async () => {
    const url = 'gs://acme-state/prod/.pulumi/locks/organization/lookout-prod/prod-infra/7c1f.json';
    const text =
      'error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n' +
      `  ${url}: created by bob@bobs-laptop (pid 99) at 2026-03-02T10:15:07Z\n`;
    const err = lockedErrorFromEngine(text, REF, { hostname: HOST, isPidAlive: () => true });
    expect(err.message).toContain(`${url}: held from another machine (bob@bobs-laptop, pid 99`);
    expect(err.hint).toContain(`gcloud storage rm '${url}'`);
    expect(store.removeCommand('.pulumi/locks/organization/lookout-prod/prod-infra/7c1f.json')).toBe(`gcloud storage rm '${url}'`);
  });

  it('say a stale local lock on GCS must be removed by hand', () => {
    const url = 'gs://acme-state/prod/.pulumi/locks/organization/lookout-prod/prod-infra/1.json';
    const text = `the stack is currently locked by 1 lock(s).\n  ${url}: created by ci@${HOST} (pid 123) at 2026-03-02T10:15:07Z`;
    const err = lockedErrorFromEngine(text, REF, { hostname: HOST, isPidAlive: () => false });
    expect(err.message).toContain('no longer running');
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
    const err = lockedErrorFromEngine(text, { project: 'p', stack: 's' }, { hostname: HOST, isPidAlive: () => true });
    expect(err.hint).toContain("aws s3 rm 's3://acme-state/prod/.pulumi/locks/organization/p/s/a.json'");
    expect(err.hint).toContain("rm '/srv/state/.pulumi/locks/organization/p/s/b.json'");
    expect(err.message).toContain('/srv/state/.pulumi/locks/organization/p/s/b.json: held from another machine');
  });
});

describe('stackHasState', () => {
  it('finds the plain or gzipped state file of a project-scoped stack, and cannot look into GCS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-state-'));
    try {
      const store = fileStore(dir);
      await expect(stackHasState(store, REF.project, REF.stack)).resolves.toBe(false);
      await mkdir(join(dir, '.pulumi', 'stacks', REF.project), { recursive: true });
      await writeFile(join(dir, '.pulumi', 'stacks', REF.project, `${REF.stack}.json.gz`), '');
      await expect(stackHasState(store, REF.project, REF.stack)).resolves.toBe(true);
      await expect(stackHasState(store, REF.project, 'prod-platform')).resolves.toBe(false);
      await expect(stackHasState(gcsStore('acme-state', ''), REF.project, REF.stack)).resolves.toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
