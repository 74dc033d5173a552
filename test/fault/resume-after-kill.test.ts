/**
 * Real processes killed with SIGKILL at every step boundary and in the middle of every step,
 * then run again: the result must be the same as an uninterrupted run (journal statuses and
 * outputs, every file produced), with no once-only effect applied twice.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDist, newWorkDir, readOutcome, runStepsCli, type Finished, type Outcome } from './helpers.js';

const STEPS = ['preflight', 'ledger', 'report', 'summary', 'verify'] as const;
const ALWAYS_RUN = new Set<string>(['preflight', 'verify']);
const POINTS = ['run-started', ...STEPS.flatMap((s) => [`started:${s}`, `mid:${s}`, `done:${s}`])];

/**
 * What the engine should do across a sequence of processes, each killed at a point (or not):
 * how often each step's run() executes, and how often the report finds a half-written file.
 * A model of the rules (skip done unless alwaysRun; a killed step runs again), not recorded results.
 */
function expectedExecutions(kills: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const done = new Set<string>();
  let halfReport = false;
  let repairs = 0;
  for (const killAt of [...kills, undefined]) {
    if (killAt === 'run-started') continue;
    for (const step of STEPS) {
      if (done.has(step) && !ALWAYS_RUN.has(step)) continue;
      if (killAt === `started:${step}`) break;
      counts[step] = (counts[step] ?? 0) + 1;
      if (step === 'report') {
        if (halfReport) repairs++;
        halfReport = killAt === 'mid:report';
      }
      if (killAt === `mid:${step}`) break;
      done.add(step);
      if (killAt === `done:${step}`) break;
    }
  }
  if (repairs > 0) counts['report-repairs'] = repairs;
  return counts;
}

const workDirs: string[] = [];
async function work(label: string): Promise<string> {
  const dir = await newWorkDir(label);
  workDirs.push(dir);
  return dir;
}

function expectKilledAt(run: Finished, point: string): void {
  // Killed by the fixture itself, at exactly that point: not a crash elsewhere.
  expect(run.signal, run.stderr).toBe('SIGKILL');
  expect(run.stdout).toContain(`KILLING ${point}\n`);
}

function expectCompleted(run: Finished): void {
  expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  expect(run.stdout).toMatch(/^DONE /m);
}

let reference: Outcome;
let referenceBeta: Outcome;

beforeAll(async () => {
  buildDist();
  const dir = await work('reference');
  expectCompleted(await runStepsCli(dir));
  reference = await readOutcome(dir);

  // The same command run once more with a changed input, without interruption.
  const betaDir = await work('reference-beta');
  expectCompleted(await runStepsCli(betaDir));
  expectCompleted(await runStepsCli(betaDir, { FAULT_SEED: 'beta' }));
  referenceBeta = await readOutcome(betaDir);
});

afterAll(async () => {
  await Promise.all(workDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('the reference run', () => {
  it('did every step once and produced the files', () => {
    expect(reference.journal.status).toBe('done');
    expect(reference.journal.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((s) => [s, 'done']));
    expect(reference.executions).toEqual(expectedExecutions([]));
    expect(Object.keys(reference.files)).toEqual(['ledger.log', 'report.txt', 'summary.json']);
    expect(reference.files['ledger.log']).toBe('applied <run>:ledger\n');
    expect(reference.stateLeftovers).toEqual([]);
  });

  it('re-ran only what a changed input affects', () => {
    expect(referenceBeta.journal.status).toBe('done');
    expect(referenceBeta.files['summary.json']).not.toBe(reference.files['summary.json']);
    expect(referenceBeta.files['ledger.log']).toBe('applied <run>:ledger\n');
    // preflight's input changed, so every step after it ran again; the ledger's idempotency key
    // kept its once-only effect from being applied a second time.
    expect(referenceBeta.executions).toEqual({ preflight: 2, ledger: 2, report: 2, summary: 2, verify: 2 });
  });
});

describe.concurrent('SIGKILL at one point, then run again', () => {
  it.for(POINTS)('converges after a kill at %s', async (point, { expect }) => {
    const dir = await work(point);
    const killed = await runStepsCli(dir, { FAULT_KILL_AT: point });
    expectKilledAt(killed, point);

    const resumed = await runStepsCli(dir);
    expectCompleted(resumed);
    // The killed process held the lock; the re-run takes it over and says so.
    expect(resumed.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', message: expect.stringContaining('Took over the stale lock') }),
    );
    // Even a kill right after run-started left a run in the journal to resume.
    expect(resumed.events).toContainEqual(expect.objectContaining({ type: 'run-started', resumed: true }));

    const outcome = await readOutcome(dir);
    expect(outcome.journal).toEqual(reference.journal);
    expect(outcome.files).toEqual(reference.files);
    expect(outcome.executions).toEqual(expectedExecutions([point]));
    expect(outcome.stateLeftovers).toEqual([]);
    // A step killed after it started is reported as unfinished when the run resumes.
    if (point.startsWith('started:') || point.startsWith('mid:')) {
      const step = point.split(':')[1];
      expect(resumed.events).toContainEqual(expect.objectContaining({ type: 'log', level: 'warn', step, message: expect.stringContaining('did not finish last time') }));
    }
  });
});

describe.concurrent('killed twice before converging', () => {
  it.for([
    ['mid:ledger', 'mid:summary'],
    ['mid:report', 'mid:report'],
    ['done:preflight', 'started:verify'],
    ['started:ledger', 'done:report'],
  ])('converges after kills at %s and then %s', async ([first, second], { expect }) => {
    const dir = await work(`${first}-${second}`);
    expectKilledAt(await runStepsCli(dir, { FAULT_KILL_AT: first }), first);
    expectKilledAt(await runStepsCli(dir, { FAULT_KILL_AT: second }), second);
    expectCompleted(await runStepsCli(dir));
    const outcome = await readOutcome(dir);
    expect(outcome.journal).toEqual(reference.journal);
    expect(outcome.files).toEqual(reference.files);
    expect(outcome.executions).toEqual(expectedExecutions([first, second]));
  });
});

describe.concurrent('SIGKILL while re-running with a changed input', () => {
  it.for(['mid:report', 'done:report', 'mid:summary', 'started:verify'])(
    'converges to the changed result after a kill at %s',
    async (point, { expect }) => {
      const dir = await work(`beta-${point}`);
      expectCompleted(await runStepsCli(dir));
      expectKilledAt(await runStepsCli(dir, { FAULT_SEED: 'beta', FAULT_KILL_AT: point }), point);
      expectCompleted(await runStepsCli(dir, { FAULT_SEED: 'beta' }));
      const outcome = await readOutcome(dir);
      expect(outcome.journal).toEqual(referenceBeta.journal);
      expect(outcome.files).toEqual(referenceBeta.files);
      // The ledger entry of this run was applied once, however often the run was resumed.
      expect(outcome.files['ledger.log']).toBe('applied <run>:ledger\n');
      expect(outcome.executions.ledger).toBe(2);
    },
  );
});
