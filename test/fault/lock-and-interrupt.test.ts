/**
 * Real processes competing for one instance, and real Ctrl-C (SIGINT from kill(2)) delivered
 * to a running command. Readiness is read from the processes' output, never waited for by time.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentRun, localHostProbe, readJournal } from '../../src/engine/index.js';
import { lockDirKey } from '../../src/pulumi/diy-store.js';
import {
  LOCK_CONTENDER,
  PULUMI_LOCK_CLEAR,
  buildDist,
  newWorkDir,
  readOutcome,
  runStepsCli,
  start,
  startStepsCli,
  type Finished,
  type Outcome,
  type Running,
  unshareProblem,
} from './helpers.js';

const workDirs: string[] = [];
const running: Running[] = [];
async function work(label: string): Promise<string> {
  const dir = await newWorkDir(label);
  workDirs.push(dir);
  return dir;
}
function track(r: Running): Running {
  running.push(r);
  return r;
}

let reference: Outcome;
beforeAll(async () => {
  buildDist();
  const dir = await work('reference');
  const run = await runStepsCli(dir);
  expect(run.code, run.stderr).toBe(0);
  reference = await readOutcome(dir);
});

afterAll(async () => {
  // Anything still running after a failed assertion must not outlive the suite.
  for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await Promise.all(running.map((r) => r.finished.catch(() => undefined)));
  await Promise.all(workDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function stepStatuses(dir: string) {
  const journal = await readJournal(join(dir, 'state', 'journal.json'));
  const run = currentRun(journal!, 'create')!;
  return { run: run.status, steps: Object.fromEntries(run.steps.map((s) => [s.name, s.status])) };
}

function expectNoStack(run: Finished): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
}

describe('two runs of one instance at the same time', () => {
  it('refuses the second with exit 1 and a message naming the first one, which then completes', async () => {
    const dir = await work('concurrent');
    const first = track(startStepsCli(dir, { FAULT_WAIT_IN: 'ledger' }));
    await first.waitForLine(/^WAITING ledger /);

    const second = await runStepsCli(dir);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('error: instance "fault" is locked by another lookout run');
    expect(second.stderr).toContain(`PID ${first.child.pid} on ${hostname()}`);
    expect(second.stderr).toMatch(/^hint: Wait for that run to finish/m);
    expect(second.stderr).toContain(join(dir, 'state', 'lock.json'));
    expectNoStack(second);
    // The second run did nothing: no run-started, no step of its own.
    expect(second.events).toEqual([]);

    await writeFile(join(dir, 'release'), '');
    const done = await first.finished;
    expect(done.code, done.stderr).toBe(0);
    const outcome = await readOutcome(dir);
    expect(outcome.journal).toEqual(reference.journal);
    expect(outcome.files).toEqual(reference.files);
    expect(outcome.executions).toEqual(reference.executions);
    expect(outcome.stateLeftovers).toEqual([]);
  });
});

describe('Ctrl-C', () => {
  it('once: the running step sees the abort, the run stops with 130 and is recorded as interrupted, and a re-run completes', async () => {
    const dir = await work('sigint-once');
    const run = track(startStepsCli(dir, { FAULT_WAIT_IN: 'report' }));
    await run.waitForLine(/^WAITING report /);
    run.child.kill('SIGINT');
    const stopped = await run.finished;

    expect(stopped.code).toBe(130);
    expect(stopped.signal).toBeNull();
    expect(existsSync(join(dir, 'markers', 'abort-seen-report'))).toBe(true);
    expect(stopped.events).toContainEqual({
      type: 'log',
      level: 'warn',
      message: 'Stopping after the current operation… press Ctrl-C again to exit now',
    });
    expect(stopped.events).toContainEqual(expect.objectContaining({ type: 'step-interrupted', step: 'report' }));
    expect(stopped.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'interrupted' });
    expect(stopped.stderr).toContain('error: Interrupted during "Write the report"');
    expect(stopped.stderr).toContain(`hint: run \`steps-cli ${dir}\` again to resume`);
    expectNoStack(stopped);
    expect(await stepStatuses(dir)).toEqual({
      run: 'interrupted',
      steps: { preflight: 'done', ledger: 'done', report: 'interrupted' },
    });
    // A clean stop releases the lock.
    expect(existsSync(join(dir, 'state', 'lock.json'))).toBe(false);

    const resumed = await runStepsCli(dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.events.filter((e) => e.type === 'log' && e.message.includes('stale lock'))).toEqual([]);
    expect(resumed.events.filter((e) => e.type === 'step-skipped').map((e) => (e as { step: string }).step)).toEqual(['ledger']);
    const outcome = await readOutcome(dir);
    expect(outcome.journal).toEqual(reference.journal);
    expect(outcome.files).toEqual(reference.files);
  });

  it('twice: exits 130 at once with the resume hint, and a re-run repairs and completes', async () => {
    const dir = await work('sigint-twice');
    // The step ignores the abort, like an operation that cannot be cancelled.
    const run = track(startStepsCli(dir, { FAULT_WAIT_IN: 'report', FAULT_STUBBORN: '1' }));
    await run.waitForLine(/^WAITING report /);
    run.child.kill('SIGINT');
    await run.waitForLine(/Stopping after the current operation/);
    run.child.kill('SIGINT');
    const stopped = await run.finished;

    // The step never got its release file, so only the second Ctrl-C can have ended the process.
    expect(existsSync(join(dir, 'release'))).toBe(false);
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('exiting now');
    expect(stopped.stderr).toContain('partly applied');
    expect(stopped.stderr).toContain(`hint: run \`steps-cli ${dir}\` again to resume`);
    expectNoStack(stopped);
    expect(stopped.events.some((e) => e.type === 'run-finished')).toBe(false);
    expect(await stepStatuses(dir)).toEqual({ run: 'running', steps: { preflight: 'done', ledger: 'done', report: 'started' } });

    const resumed = await runStepsCli(dir);
    expect(resumed.code, resumed.stderr).toBe(0);
    // The hard exit left its lock; its process is gone, so the re-run takes it over.
    expect(resumed.events).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringContaining('Took over the stale lock') }));
    const outcome = await readOutcome(dir);
    expect(outcome.journal).toEqual(reference.journal);
    expect(outcome.files).toEqual(reference.files);
  });
});

/** Starts `n` lock contenders in `dir`, lets them go at once, and returns their WON/LOST lines. */
async function race(dir: string, n: number): Promise<{ contenders: Running[]; results: string[] }> {
  const contenders = Array.from({ length: n }, () => track(start(LOCK_CONTENDER, [dir])));
  await Promise.all(contenders.map((c) => c.waitForLine(/^READY$/)));
  await writeFile(join(dir, 'go'), '');
  return { contenders, results: await Promise.all(contenders.map((c) => c.waitForLine(/^(WON|LOST) /))) };
}

async function deadPid(): Promise<number> {
  const dead = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => dead.on('exit', resolve));
  return dead.pid!;
}

/** This machine, boot and PID namespace, as a lock records them. */
const { pid: _pid, processStart: _start, ...HERE } = localHostProbe.self();

describe('processes racing for one lock', () => {
  it('two at once for a free lock: exactly one gets it, the other is told who has it', async () => {
    const dir = await work('lock-race-free');
    const { contenders, results } = await race(dir, 2);
    expect(results.filter((r) => r.startsWith('WON ')), results.join('\n')).toHaveLength(1);
    const winner = contenders[results.findIndex((r) => r.startsWith('WON '))]!;
    expect(results.find((r) => r.startsWith('LOST '))).toContain(`locked by another lookout run: \``);
    expect(results.find((r) => r.startsWith('LOST '))).toContain(`(PID ${winner.child.pid} on ${hostname()}`);
    await writeFile(join(dir, 'release'), '');
    await Promise.all(contenders.map((c) => c.finished));
    expect(existsSync(join(dir, 'lock.json'))).toBe(false);
  });

  it('eight finding one stale lock: exactly one takes it over', async () => {
    const dir = await work('lock-race');
    const pid = await deadPid();
    await writeFile(
      join(dir, 'lock.json'),
      JSON.stringify({
        holder: 'lookout create aws race',
        command: 'create',
        instance: 'race',
        ...HERE,
        pid,
        startedAt: new Date().toISOString(),
        token: 'stale',
      }),
    );

    const { contenders, results } = await race(dir, 8);
    const winners = results.filter((r) => r.startsWith('WON '));
    expect(winners, results.join('\n')).toHaveLength(1);
    const [, token, warnings] = winners[0]!.match(/^WON (\S+) (.*)$/)!;
    expect(JSON.parse(warnings!)).toEqual([
      expect.stringMatching(new RegExp(`^Took over the stale lock of instance "race" held by \`lookout create aws race\` \\(PID ${pid} .*: process ${pid} no longer exists\\.$`)),
    ]);
    expect(JSON.parse(await readFile(join(dir, 'lock.json'), 'utf8')).token).toBe(token);
    for (const lost of results.filter((r) => r.startsWith('LOST '))) expect(lost).toContain('locked by another lookout run');

    await writeFile(join(dir, 'release'), '');
    const ends = await Promise.all(contenders.map((c) => c.finished));
    expect(ends.map((e) => e.code).sort()).toEqual([0, 1, 1, 1, 1, 1, 1, 1]);
    expect(existsSync(join(dir, 'lock.json'))).toBe(false);
  });
});

const noUnshare = unshareProblem();

describe.skipIf(noUnshare !== undefined)(
  `another PID namespace with the same host name${noUnshare ? ` (skipped: ${noUnshare})` : ''}`,
  () => {
    const unshare = ['unshare', '--pid', '--fork', '--mount-proc'];

    it('cannot take over a live lock: its holder PID does not exist there, and it says so', async () => {
      const dir = await work('lock-pidns');
      const holder = track(start(LOCK_CONTENDER, [dir]));
      await holder.waitForLine(/^READY$/);
      await writeFile(join(dir, 'go'), '');
      const won = await holder.waitForLine(/^WON /);
      const token = won.split(' ')[1];

      // Same machine, same host name, but in its PID namespace the holder's PID is free.
      const contender = track(start(LOCK_CONTENDER, [dir], {}, unshare));
      const lost = await contender.waitForLine(/^(WON|LOST) /);
      expect(lost).toMatch(/^LOST /);
      expect(lost).toContain(`locked by another lookout run: \`lock-contender.mjs ${dir}\``);
      expect(lost).toContain(`(PID ${holder.child.pid} on ${hostname()}`);
      expect(lost).toContain('it runs in another PID namespace');
      expect(JSON.parse(await readFile(join(dir, 'lock.json'), 'utf8')).token).toBe(token);

      await writeFile(join(dir, 'release'), '');
      expect((await holder.finished).code).toBe(0);
      expect((await contender.finished).code).toBe(1);
    });

    it('does not remove a Pulumi lock whose engine runs outside it', async () => {
      const dir = await work('pulumi-lock-pidns');
      // A Pulumi engine of another run, alive in this (the host's) PID namespace.
      const engine = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
      try {
        const lockDir = join(dir, 'state', ...lockDirKey('lookout-race', 'race-infra').split('/'));
        await mkdir(lockDir, { recursive: true });
        const lockFile = join(lockDir, '3f1c4e9a-live.json');
        await writeFile(lockFile, JSON.stringify({ pid: engine.pid, username: 'ci', hostname: hostname(), timestamp: new Date().toISOString() }));

        const clear = track(start(PULUMI_LOCK_CLEAR, [dir], {}, unshare));
        const outcome = await clear.waitForLine(/^(CLEARED|REFUSED) /);
        expect(outcome).toMatch(/^REFUSED Pulumi stack lookout-race\/race-infra is locked by another run/);
        expect(outcome).toContain(`ci@${hostname()}, pid ${engine.pid}`);
        expect(existsSync(lockFile)).toBe(true);
        await clear.finished;
      } finally {
        engine.kill('SIGKILL');
      }
    });
  },
);
