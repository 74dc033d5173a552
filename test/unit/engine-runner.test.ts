import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError, InterruptedError, UsageError } from '../../src/errors.js';
import { acquireInstanceLock, currentRun, hashInputs, readJournal, runSteps, type RunOptions, type Step } from '../../src/engine/index.js';
import { collectingReporter, silentReporter, type ProgressEvent } from '../../src/progress/events.js';
import { fileRunOptions } from '../support/run-options.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-runner-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Four steps a → b → c → d where each feeds the next, with knobs a test can turn between runs:
 * per-step inputs, a step that fails, and a record of every execution.
 */
function pipeline() {
  const knobs = {
    inputs: { a: 1, b: 1, c: 1, d: 1 } as Record<string, number>,
    failIn: undefined as string | undefined,
    executions: [] as string[],
  };
  const step = (name: string, extra: Partial<Step> = {}): Step => ({
    name,
    title: `Step ${name.toUpperCase()}`,
    inputs: () => ({ v: knobs.inputs[name] }),
    async run(ctx) {
      knobs.executions.push(name);
      if (knobs.failIn === name) throw new Error(`${name} broke`);
      return { from: name, v: knobs.inputs[name], key: ctx.idempotencyKey };
    },
    ...extra,
  });
  return { knobs, steps: ['a', 'b', 'c', 'd'].map((n) => step(n)), step };
}

const options = (steps: Step[], extra: Partial<RunOptions> = {}) => fileRunOptions(dir, steps, extra);

async function stepStatuses(command = 'create') {
  const journal = await readJournal(join(dir, 'journal.json'));
  const run = currentRun(journal!, command)!;
  return Object.fromEntries(run.steps.map((s) => [s.name, s.status + (s.stale ? ' (stale)' : '')]));
}

const kinds = (events: ProgressEvent[], type: ProgressEvent['type']) =>
  events.filter((e) => e.type === type).map((e) => ('step' in e ? e.step : e.type));

describe('runSteps', () => {
  it('runs every step once, records outputs and returns them', async () => {
    const { knobs, steps } = pipeline();
    const reporter = collectingReporter();
    const result = await runSteps(options(steps, { reporter }));
    expect(knobs.executions).toEqual(['a', 'b', 'c', 'd']);
    expect(result.outputs.c).toEqual({ from: 'c', v: 1, key: `${result.runId}:c` });
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done', d: 'done' });
    expect(reporter.events.map((e) => e.type)).toEqual([
      'run-started',
      ...Array.from({ length: 4 }, () => ['step-started', 'step-done']).flat(),
      'run-finished',
    ]);
    expect(reporter.events[0]).toMatchObject({ type: 'run-started', resumed: false, steps: ['a', 'b', 'c', 'd'], runId: result.runId });
    expect(reporter.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'done', command: 'create' });
    // The lock is released and the state directory holds only the journal.
    expect(await readdir(dir)).toEqual(['journal.json']);
  });

  it('skips done steps whose inputs are unchanged when run again', async () => {
    const { knobs, steps } = pipeline();
    const first = await runSteps(options(steps));
    knobs.executions.length = 0;
    const reporter = collectingReporter();
    const second = await runSteps(options(steps, { reporter }));
    expect(knobs.executions).toEqual([]);
    expect(second.runId).toBe(first.runId);
    expect(second.outputs).toEqual(first.outputs);
    expect(kinds(reporter.events, 'step-skipped')).toEqual(['a', 'b', 'c', 'd']);
    expect(reporter.events[0]).toMatchObject({ type: 'run-started', resumed: true });
  });

  it('re-runs a step whose inputs changed and every step after it, and skips the ones before', async () => {
    const { knobs, steps } = pipeline();
    await runSteps(options(steps));
    knobs.executions.length = 0;
    knobs.inputs.b = 2;
    const reporter = collectingReporter();
    const result = await runSteps(options(steps, { reporter }));
    expect(knobs.executions).toEqual(['b', 'c', 'd']);
    expect(kinds(reporter.events, 'step-skipped')).toEqual(['a']);
    expect(result.outputs.b).toMatchObject({ v: 2 });
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    const b = currentRun(journal, 'create')!.steps.find((s) => s.name === 'b')!;
    expect(b.inputsHash).toBe(hashInputs({ v: 2 }));
    expect(b.attempts).toBe(2);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done', d: 'done' });
  });

  it('remembers that later steps are outdated when the run stops after an upstream change', async () => {
    const { knobs, steps } = pipeline();
    await runSteps(options(steps));
    knobs.inputs.b = 2;
    knobs.failIn = 'c';
    await expect(runSteps(options(steps))).rejects.toThrow(/c broke/);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'failed', d: 'done (stale)' });

    knobs.failIn = undefined;
    knobs.executions.length = 0;
    await runSteps(options(steps));
    // d's own inputs did not change, but c (which feeds it) ran again, so d must too.
    expect(knobs.executions).toEqual(['c', 'd']);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done', d: 'done' });
  });

  it('leaves no run to resume when it stops in a step that changes nothing (a failed preflight)', async () => {
    const { knobs, step } = pipeline();
    const steps = [step('a', { changesNothing: true }), step('b'), step('c')];
    knobs.failIn = 'a';
    await expect(runSteps(options(steps))).rejects.toThrow(/a broke/);
    // Nothing was written: no journal, no lock.
    expect(await readdir(dir)).toEqual([]);

    knobs.failIn = undefined;
    const reporter = collectingReporter();
    await runSteps(options(steps, { reporter }));
    expect(reporter.events[0]).toMatchObject({ type: 'run-started', resumed: false });
    expect(reporter.events.find((e) => e.type === 'step-started')).toMatchObject({ step: 'a', attempt: 1 });
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done' });
  });

  it('records such a run in the history of an instance that has a journal, and records it in full once something changed', async () => {
    const { knobs, step } = pipeline();
    const steps = [step('a', { changesNothing: true }), step('b'), step('c')];
    await runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }));
    knobs.failIn = 'a';
    await expect(runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }))).rejects.toThrow(/a broke/);
    let journal = (await readJournal(join(dir, 'journal.json')))!;
    // The done run is in the history; the failed one is summarized there too, with nothing to resume.
    expect(journal.runs).toEqual([]);
    expect(journal.history.map((h) => h.status)).toEqual(['done', 'failed']);
    expect(journal.history.at(-1)).toMatchObject({ command: 'upgrade', stoppedAt: 'a' });

    knobs.failIn = 'b';
    await expect(runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }))).rejects.toThrow(/b broke/);
    journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(currentRun(journal, 'upgrade')).toMatchObject({ status: 'failed' });
    expect(await stepStatuses('upgrade')).toEqual({ a: 'done', b: 'failed' });
  });

  it('starts a new run over an unfinished one when asked (a create after a destroy), running every step again', async () => {
    const { knobs, steps } = pipeline();
    knobs.failIn = 'c';
    await expect(runSteps(options(steps))).rejects.toThrow(/c broke/);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'failed' });
    knobs.failIn = undefined;
    const reporter = collectingReporter();
    await runSteps(options(steps, { reporter, resume: 'new' }));
    expect(reporter.events[0]).toMatchObject({ type: 'run-started', resumed: false });
    expect(reporter.events.filter((e) => e.type === 'step-skipped')).toEqual([]);
    expect(reporter.events.filter((e) => e.type === 'step-done').map((e) => (e as { step: string }).step)).toEqual(steps.map((s) => s.name));
  });

  it('re-runs a failed step on the next run and skips the done steps before it', async () => {
    const { knobs, steps } = pipeline();
    knobs.failIn = 'c';
    const reporter = collectingReporter();
    const err = await runSteps(options(steps, { reporter })).catch((e: unknown) => e);
    // A plain Error is wrapped so the CLI prints it as a failure, keeping the original as cause.
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe('Step C failed: c broke');
    expect((err as FailureError).cause).toBeInstanceOf(Error);
    expect(reporter.events).toContainEqual(expect.objectContaining({ type: 'step-failed', step: 'c', error: 'c broke' }));
    expect(reporter.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'failed' });
    expect(kinds(reporter.events, 'step-started')).toEqual(['a', 'b', 'c']);

    const journal = (await readJournal(join(dir, 'journal.json')))!;
    const run = currentRun(journal, 'create')!;
    expect(run.status).toBe('failed');
    const c = run.steps.find((s) => s.name === 'c')!;
    expect(c).toMatchObject({ status: 'failed', error: 'c broke', attempts: 1 });
    // Message only: no stack trace in the journal.
    expect(JSON.stringify(journal)).not.toMatch(/\bat .*\.ts:\d+/);
    expect(run.steps.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(journal.history.at(-1)).toMatchObject({ status: 'failed', stoppedAt: 'c', error: 'Step C failed: c broke' });

    knobs.failIn = undefined;
    knobs.executions.length = 0;
    const retry = collectingReporter();
    const result = await runSteps(options(steps, { reporter: retry }));
    expect(knobs.executions).toEqual(['c', 'd']);
    expect(kinds(retry.events, 'step-skipped')).toEqual(['a', 'b']);
    expect(retry.events).toContainEqual(expect.objectContaining({ type: 'step-started', step: 'c', attempt: 2 }));
    // Same run, so the same idempotency key as the failed attempt.
    expect(result.outputs.c).toMatchObject({ key: `${run.runId}:c` });
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done', d: 'done' });
  });

  it('passes Lookout errors through unchanged and records their hint', async () => {
    const { steps, step } = pipeline();
    steps[1] = step('b', {
      run: async () => {
        throw new UsageError('the zone obs.example.com is not delegated', { hint: 'Add the NS records.' });
      },
    });
    const err = await runSteps(options(steps)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(currentRun(journal, 'create')!.steps[1]).toMatchObject({
      status: 'failed',
      error: 'the zone obs.example.com is not delegated',
      hint: 'Add the NS records.',
    });
  });

  it("with resume 'unfinished', starts a new run after a finished one and keeps the history", async () => {
    const { knobs, steps } = pipeline();
    const first = await runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }));
    knobs.executions.length = 0;
    const reporter = collectingReporter();
    const second = await runSteps(options(steps, { command: 'upgrade', resume: 'unfinished', reporter }));
    expect(second.runId).not.toBe(first.runId);
    expect(knobs.executions).toEqual(['a', 'b', 'c', 'd']);
    expect(reporter.events[0]).toMatchObject({ type: 'run-started', resumed: false });
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(journal.history.map((h) => [h.runId, h.status])).toEqual([
      [first.runId, 'done'],
      [second.runId, 'done'],
    ]);
    expect(journal.runs.map((r) => r.runId)).toEqual([second.runId]);
  });

  it("with resume 'unfinished', resumes a run that did not finish", async () => {
    const { knobs, steps } = pipeline();
    knobs.failIn = 'b';
    await expect(runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }))).rejects.toThrow();
    const failed = currentRun((await readJournal(join(dir, 'journal.json')))!, 'upgrade')!;
    knobs.failIn = undefined;
    knobs.executions.length = 0;
    const resumed = await runSteps(options(steps, { command: 'upgrade', resume: 'unfinished' }));
    expect(resumed.runId).toBe(failed.runId);
    expect(knobs.executions).toEqual(['b', 'c', 'd']);
  });

  it('keeps the runs of different commands apart', async () => {
    const { knobs, steps } = pipeline();
    await runSteps(options(steps, { command: 'create' }));
    knobs.executions.length = 0;
    await runSteps(options(steps, { command: 'destroy' }));
    expect(knobs.executions).toEqual(['a', 'b', 'c', 'd']);
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(journal.runs.map((r) => r.command).sort()).toEqual(['create', 'destroy']);
  });

  it('gives a step the outputs of earlier steps, also when those were done in an earlier invocation', async () => {
    let fail = true;
    const seen: unknown[] = [];
    const steps: Step[] = [
      { name: 'infra', title: 'Infra', run: async () => ({ clusterName: 'prod-eks', azs: ['a', 'b'] }) },
      {
        name: 'platform',
        title: 'Platform',
        inputs: (ctx) => ({ cluster: ctx.outputsOf<{ clusterName: string }>('infra').clusterName }),
        async run(ctx) {
          const infra = ctx.outputsOf<{ clusterName: string; azs: string[] }>('infra');
          seen.push(infra);
          // Changing the copy must not change what is recorded.
          infra.azs.push('mutated');
          if (fail) throw new Error('not yet');
          return { endpoint: `https://${infra.clusterName}.example.com` };
        },
      },
    ];
    await expect(runSteps(options(steps))).rejects.toThrow('not yet');
    fail = false;
    const reporter = collectingReporter();
    const result = await runSteps(options(steps, { reporter }));
    expect(kinds(reporter.events, 'step-skipped')).toEqual(['infra']);
    expect(seen).toEqual([
      { clusterName: 'prod-eks', azs: ['a', 'b', 'mutated'] },
      { clusterName: 'prod-eks', azs: ['a', 'b', 'mutated'] },
    ]);
    expect(result.outputs).toEqual({
      infra: { clusterName: 'prod-eks', azs: ['a', 'b'] },
      platform: { endpoint: 'https://prod-eks.example.com' },
    });
  });

  it('refuses outputsOf for a step that has not finished before the asking step', async () => {
    const steps: Step[] = [
      { name: 'first', title: 'First', run: async (ctx) => ctx.outputsOf('second') },
      { name: 'second', title: 'Second', run: async () => 2 },
    ];
    await expect(runSteps(options(steps))).rejects.toThrow(/asked for the outputs of "second", which has not finished before it/);
  });

  it('runs alwaysRun steps every time without making the later steps run again', async () => {
    const { knobs, steps, step } = pipeline();
    steps[0] = step('a', { alwaysRun: true });
    await runSteps(options(steps));
    knobs.executions.length = 0;
    await runSteps(options(steps));
    expect(knobs.executions).toEqual(['a']);
  });

  it('records a step that returns something JSON cannot hold as failed, with the reason', async () => {
    const steps: Step[] = [{ name: 'bad', title: 'Bad', run: async () => ({ ids: new Set(['x']) }) }];
    await expect(runSteps(options(steps))).rejects.toThrow(/step "bad" returned outputs that cannot be recorded in the journal: value\.ids is a Set/);
    expect(await stepStatuses()).toEqual({ bad: 'failed' });
  });

  it('records a step whose inputs cannot be worked out as failed', async () => {
    const steps: Step[] = [
      {
        name: 'x',
        title: 'X',
        inputs: () => {
          throw new Error('config missing');
        },
        run: async () => 1,
      },
    ];
    await expect(runSteps(options(steps))).rejects.toThrow('X failed: could not work out the inputs of "X": config missing');
    expect(await stepStatuses()).toEqual({ x: 'failed' });
  });

  it('refuses a step list with a duplicate name before doing anything', async () => {
    const { steps } = pipeline();
    await expect(runSteps(options([...steps, steps[0]!]))).rejects.toThrow(/two steps named "a"/);
    expect(await exists(join(dir, 'journal.json'))).toBe(false);
  });

  it('does not start while another run holds the lock, and leaves the journal alone', async () => {
    const held = await acquireInstanceLock(join(dir, 'lock.json'), { command: 'destroy', instance: 'prod', reporter: silentReporter });
    try {
      const { knobs, steps } = pipeline();
      await expect(runSteps(options(steps))).rejects.toThrow(/instance "prod" is locked by another lookout run/);
      expect(knobs.executions).toEqual([]);
      expect(await exists(join(dir, 'journal.json'))).toBe(false);
    } finally {
      await held.release();
    }
  });

  it('releases the lock after a failure', async () => {
    const { knobs, steps } = pipeline();
    knobs.failIn = 'a';
    await expect(runSteps(options(steps))).rejects.toThrow();
    expect(await exists(join(dir, 'lock.json'))).toBe(false);
  });
});

describe('runSteps when interrupted', () => {
  it('stops a step that watches the signal, records it as interrupted, and resumes later', async () => {
    const controller = new AbortController();
    const { knobs, steps, step } = pipeline();
    let sawAbort = false;
    steps[1] = step('b', {
      async run(ctx) {
        knobs.executions.push('b');
        if (!ctx.signal.aborted) {
          controller.abort(new InterruptedError('Interrupted.', { hint: 'run `lookout create aws prod -c x` again to resume' }));
        }
        sawAbort = ctx.signal.aborted;
        ctx.signal.throwIfAborted();
        return 'b-done';
      },
    });
    const reporter = collectingReporter();
    const err = await runSteps(options(steps, { reporter, signal: controller.signal })).catch((e: unknown) => e);
    expect(sawAbort).toBe(true);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(130);
    expect((err as InterruptedError).message).toMatch(/Interrupted during "Step B"/);
    expect((err as InterruptedError).hint).toBe('run `lookout create aws prod -c x` again to resume');
    expect(reporter.events).toContainEqual(expect.objectContaining({ type: 'step-interrupted', step: 'b' }));
    expect(reporter.events.at(-1)).toMatchObject({ type: 'run-finished', status: 'interrupted' });
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'interrupted' });
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(currentRun(journal, 'create')!.status).toBe('interrupted');
    expect(journal.history.at(-1)).toMatchObject({ status: 'interrupted', stoppedAt: 'b' });
    expect(await exists(join(dir, 'lock.json'))).toBe(false);

    knobs.executions.length = 0;
    await runSteps(options(steps));
    expect(knobs.executions).toEqual(['b', 'c', 'd']);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done', c: 'done', d: 'done' });
  });

  it('finishes the current step and stops before the next one when the step ignores the signal', async () => {
    const controller = new AbortController();
    const { knobs, steps, step } = pipeline();
    steps[1] = step('b', {
      async run() {
        knobs.executions.push('b');
        controller.abort();
        return 'finished anyway';
      },
    });
    const err = await runSteps(options(steps, { signal: controller.signal })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).message).toMatch(/before "Step C"/);
    expect(knobs.executions).toEqual(['a', 'b']);
    expect(await stepStatuses()).toEqual({ a: 'done', b: 'done' });
    const journal = (await readJournal(join(dir, 'journal.json')))!;
    expect(journal.history.at(-1)).toMatchObject({ status: 'interrupted', stoppedAt: 'c' });
  });

  it('does nothing at all when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const { knobs, steps } = pipeline();
    await expect(runSteps(options(steps, { signal: controller.signal }))).rejects.toBeInstanceOf(InterruptedError);
    expect(knobs.executions).toEqual([]);
    expect(await exists(join(dir, 'journal.json'))).toBe(false);
    expect(await exists(join(dir, 'lock.json'))).toBe(false);
  });

  it('warns on resume about a step a dead process left half done', async () => {
    const { steps } = pipeline();
    await runSteps(options(steps));
    // What a SIGKILL during step c leaves: c started, the run still "running".
    const path = join(dir, 'journal.json');
    const journal = JSON.parse(await readFile(path, 'utf8'));
    journal.runs[0].status = 'running';
    journal.runs[0].steps[2].status = 'started';
    await writeFile(path, JSON.stringify(journal));
    const reporter = collectingReporter();
    await runSteps(options(steps, { reporter }));
    expect(reporter.events).toContainEqual(
      expect.objectContaining({ type: 'log', level: 'warn', step: 'c', message: expect.stringContaining('"Step C" did not finish last time') }),
    );
    expect(kinds(reporter.events, 'step-started')).toEqual(['c']);
  });
});
