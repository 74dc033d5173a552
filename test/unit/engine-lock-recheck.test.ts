/**
 * The narrowest window of a stale-lock takeover, made deterministic: a contender reads the
 * stale lock, is delayed, and by the time it creates its takeover marker another process has
 * already completed the takeover (and removed its own marker). The contender must see that the
 * lock changed and refuse, not overwrite the new holder. `link` (how markers are created) is
 * wrapped to run the other process's takeover at exactly that moment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type * as FsPromises from 'node:fs/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { acquireInstanceLock, localHostProbe, type LockInfo } from '../../src/engine/index.js';
import { silentReporter } from '../../src/progress/events.js';

const race = vi.hoisted(() => ({ beforeMarkerLink: undefined as undefined | ((target: string) => Promise<void>) }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  return {
    ...actual,
    link: async (existing: string, target: string) => {
      if (race.beforeMarkerLink && target.includes('.takeover-')) {
        const hook = race.beforeMarkerLink;
        race.beforeMarkerLink = undefined;
        await hook(target);
      }
      return actual.link(existing, target);
    },
  };
});

let dir: string;
let live: ChildProcess | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-lock-recheck-'));
});
afterEach(async () => {
  live?.kill('SIGKILL');
  race.beforeMarkerLink = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

it('refuses when the stale lock was taken over by someone else between reading it and creating the marker', async () => {
  const lockPath = join(dir, 'lock.json');
  const { pid: _pid, processStart: _start, ...here } = localHostProbe.self();
  const stale: LockInfo = {
    holder: 'lookout create aws prod',
    command: 'create',
    instance: 'prod',
    ...here,
    pid: await deadPid(),
    startedAt: '2026-03-02T10:15:07.123Z',
    token: 'stale-token',
  };
  await writeFile(lockPath, JSON.stringify(stale));

  live = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  const winner: LockInfo = { ...stale, holder: 'lookout upgrade prod', pid: live.pid!, startedAt: new Date().toISOString(), token: 'winner' };
  let markerTarget = '';
  race.beforeMarkerLink = async (target) => {
    markerTarget = target;
    // The other process's complete takeover: its lock replaces the stale one, its marker is gone.
    await writeFile(lockPath, JSON.stringify(winner));
  };

  const err = await acquireInstanceLock(lockPath, { command: 'destroy', instance: 'prod', reporter: silentReporter }).catch((e: unknown) => e);
  expect(markerTarget).toBe(`${lockPath}.takeover-stale-token`);
  expect(err).toBeInstanceOf(FailureError);
  expect((err as FailureError).message).toContain(`PID ${live.pid}`);
  expect(JSON.parse(await readFile(lockPath, 'utf8'))).toEqual(winner);
});
