/**
 * Parallel groups in the step engine: neighbouring steps of one group (the tenant stacks) run
 * at the same time, bounded, and stay exactly as resumable as steps run one after another.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { currentRun, fileInstanceStore, readJournal, runSteps, type InstanceStore, type RunOptions, type Step } from '../../src/engine/index.js';
import { collectingReporter, silentReporter } from '../../src/progress/events.js';
import { fileRunOptions } from '../support/run-options.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-parallel-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Lets every other started task run before this one goes on (no timers: the event loop only). */
const yieldTurns = async (turns: number) => {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** Polls (event-loop turns only) until `done`, with a deadline. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await yieldTurns(1);
  }
}

/**
 * `before` → tenants t1…tN (one parallel group) → `after`, with knobs: per-step inputs, steps
 * that fail, and how many group steps run at each moment.
 */
function plan(tenants: number, limit: number) {
  const knobs = {
    inputs: {} as Record<string, number>,
    failIn: new Set<string>(),
    executions: [] as string[],
    running: 0,
    started: 0,
    mostAtOnce: 0,
    /** Called when a tenant step starts (tests abort from here). */
    onStart: (_name: string) => {},
    /**
     * What a running tenant step waits for before it ends. By default: until `limit` of them
     * run, or every one has started, so that the overlap a real (slow) step has is certain here.
     */
    hold: async (_signal: AbortSignal, _name: string) => {
      await until(() => knobs.mostAtOnce >= limit || knobs.started >= tenants);
    },
    /** The tenant steps that have thrown their failure. */
    thrown: new Set<string>(),
  };
  const names = Array.from({ length: tenants }, (_, i) => `t${i + 1}`);
  const simple = (name: string): Step => ({
    name,
    title: `Step ${name}`,
    inputs: () => ({ v: knobs.inputs[name] ?? 1 }),
    async run() {
      knobs.executions.push(name);
      return { from: name };
    },
  });
  const tenant = (name: string): Step => ({
    name,
    title: `Tenant ${name}`,
    parallel: { group: 'tenants', limit },
    inputs: (ctx) => ({ v: knobs.inputs[name] ?? 1, before: ctx.outputsOf('before') }),
    async run(ctx) {
      knobs.executions.push(name);
      knobs.running += 1;
      knobs.started += 1;
      knobs.mostAtOnce = Math.max(knobs.mostAtOnce, knobs.running);
      knobs.onStart(name);
      try {
        await knobs.hold(ctx.signal, name);
        if (ctx.signal.aborted) throw new InterruptedError(`${name} stopped`);
        if (knobs.failIn.has(name)) {
          knobs.thrown.add(name);
          throw new FailureError(`${name} broke`);
        }
        return { from: name };
      } finally {
        knobs.running -= 1;
      }
    },
  });
  return { knobs, names, steps: [simple('before'), ...names.map(tenant), simple('after')] };
}

const options = (steps: Step[], extra: Partial<RunOptions> = {}) => fileRunOptions(dir, steps, extra);

async function statuses() {
  const run = currentRun((await readJournal(join(dir, 'journal.json')))!, 'create')!;
  return Object.fromEntries(run.steps.map((s) => [s.name, s.status + (s.stale ? ' (stale)' : '')]));
}

describe('runSteps with a parallel group', () => {
  it('runs the group at most `limit` at once, everything once, and records every step done', async () => {
    const { knobs, names, steps } = plan(7, 3);
    const reporter = collectingReporter();
    const result = await runSteps(options(steps, { reporter }));
    expect(knobs.mostAtOnce).toBe(3);
    expect([...knobs.executions].sort()).toEqual([...names, 'after', 'before'].sort());
    expect(knobs.executions[0]).toBe('before');
    expect(knobs.executions.at(-1)).toBe('after');
    expect(Object.keys(result.outputs).sort()).toEqual([...names, 'after', 'before'].sort());
    expect(Object.values(await statuses()).every((s) => s === 'done')).toBe(true);
    // Steps overlap: a second tenant started before the first one was done.
    const order = reporter.events.filter((e) => e.type === 'step-started' || e.type === 'step-done').map((e) => `${e.type}:${'step' in e ? e.step : ''}`);
    expect(order.indexOf('step-started:t2')).toBeLessThan(order.indexOf('step-done:t1'));
  });

  it('a limit of 1 runs the group one after another, in plan order', async () => {
    const { knobs, names, steps } = plan(4, 1);
    await runSteps(options(steps));
    expect(knobs.mostAtOnce).toBe(1);
    expect(knobs.executions).toEqual(['before', ...names, 'after']);
  });

  it('a changed step reruns alone: its siblings stay done, and only the steps after the group go stale', async () => {
    const { knobs, steps } = plan(4, 2);
    await runSteps(options(steps));
    knobs.executions = [];
    knobs.inputs.t2 = 2;
    await runSteps(options(steps));
    expect(knobs.executions).toEqual(['t2', 'after']);
  });

  it('after a failure no further sibling starts, the running ones are recorded done, and a resume runs only what is left', async () => {
    const { knobs, steps } = plan(6, 2);
    knobs.failIn.add('t1');
    // t2 ends only after t1 has failed: its worker must then start nothing more.
    knobs.hold = async (_signal, name) => {
      await until(() => knobs.started >= 2);
      if (name === 't2') await until(() => knobs.thrown.has('t1'));
    };
    const err = await runSteps(options(steps)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as Error).message).toContain('t1 broke');
    // t1 and t2 started together; t1 failed, so t3 (which would have taken t1's place) never started.
    expect(knobs.executions).toEqual(['before', 't1', 't2']);
    const recorded = await statuses();
    expect(recorded).toMatchObject({ before: 'done', t1: 'failed', t2: 'done' });
    expect(recorded.t3).toBeUndefined();
    const history = (await readJournal(join(dir, 'journal.json')))!.history.at(-1)!;
    expect(history.stoppedAt).toBe('t1');

    knobs.failIn.clear();
    knobs.hold = async () => {};
    knobs.executions = [];
    await runSteps(options(steps));
    expect([...knobs.executions].sort()).toEqual(['after', 't1', 't3', 't4', 't5', 't6']);
  });

  it('every failure of the group is recorded, and the first is the one reported', async () => {
    const { knobs, steps } = plan(3, 3);
    knobs.failIn.add('t2').add('t3');
    knobs.hold = async (_signal, name) => {
      await until(() => knobs.started >= 3);
      if (name === 't3') await until(() => knobs.thrown.has('t2'));
    };
    const err = await runSteps(options(steps)).catch((e: unknown) => e);
    expect((err as Error).message).toContain('t2 broke');
    expect(await statuses()).toMatchObject({ t1: 'done', t2: 'failed', t3: 'failed' });
  });

  it('an interruption stops the running steps, starts no other, and the resume finishes the group', async () => {
    const { knobs, steps } = plan(5, 2);
    const controller = new AbortController();
    knobs.onStart = (name) => {
      if (name === 't2') controller.abort();
    };
    // Both run until the interruption reaches them.
    knobs.hold = (signal) => new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
    const err = await runSteps(options(steps, { signal: controller.signal })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(knobs.executions).toEqual(['before', 't1', 't2']);
    expect(await statuses()).toMatchObject({ t1: 'interrupted', t2: 'interrupted' });

    knobs.onStart = () => {};
    knobs.hold = async () => {};
    knobs.executions = [];
    await runSteps(options(steps));
    expect([...knobs.executions].sort()).toEqual(['after', 't1', 't2', 't3', 't4', 't5']);
  });

  it('a step cannot read the outputs of a sibling, even one that has finished', async () => {
    const { steps } = plan(2, 2);
    const reporter = collectingReporter();
    const reader: Step = {
      name: 't3',
      title: 'Tenant t3',
      parallel: { group: 'tenants', limit: 2 },
      async run(ctx) {
        // t1 is done (its outputs are there to read) before the reader asks for them.
        await until(() => reporter.events.some((e) => e.type === 'step-done' && e.step === 't1'));
        return ctx.outputsOf('t1');
      },
    };
    const withReader = [...steps.slice(0, 3), reader, ...steps.slice(3)];
    const err = await runSteps(options(withReader, { reporter })).catch((e: unknown) => e);
    expect((err as Error).message).toContain('asked for the outputs of "t1"');
  });

  it('an interruption that comes as the last step of a group ends is reported before the next step', async () => {
    const controller = new AbortController();
    const { steps } = plan(0, 2);
    // Two siblings that finish normally; the second ends with the interruption.
    const sibling = (name: string, last: boolean): Step => ({
      name,
      title: `Tenant ${name}`,
      parallel: { group: 'tenants', limit: 2 },
      async run() {
        await yieldTurns(last ? 5 : 1);
        if (last) controller.abort();
        return { from: name };
      },
    });
    const withGroup = [steps[0]!, sibling('t1', false), sibling('t2', true), steps[1]!];
    const err = await runSteps(options(withGroup, { signal: controller.signal })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as Error).message).toBe('Interrupted before "Step after"; the steps before it are done.');
    expect(await statuses()).toMatchObject({ t1: 'done', t2: 'done' });
  });

  it('writes the journal one write at a time, however many steps finish together', async () => {
    const files = fileInstanceStore(join(dir, 'journal.json'), join(dir, 'lock.json'));
    let writing = 0;
    let overlapped = 0;
    let writes = 0;
    const store: InstanceStore = {
      ...files,
      async writeJournal(journal) {
        writing += 1;
        writes += 1;
        if (writing > 1) overlapped += 1;
        try {
          await yieldTurns(3);
          await files.writeJournal(journal);
        } finally {
          writing -= 1;
        }
      },
    };
    const { steps } = plan(8, 4);
    await runSteps({ instance: 'prod', command: 'create', steps, store, reporter: silentReporter, resume: 'always' });
    expect(writes).toBeGreaterThan(16);
    expect(overlapped).toBe(0);
    expect(Object.values(await statuses()).every((s) => s === 'done')).toBe(true);
  });

  it('lets the steps of a group listen on the run signal together without a MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const { knobs, steps } = plan(8, 8);
      knobs.hold = async (signal) => {
        // What a step waiting on an engine call and a poll or two adds: a few listeners each.
        const listeners = Array.from({ length: 4 }, () => () => {});
        for (const l of listeners) signal.addEventListener('abort', l);
        await until(() => knobs.started >= 8);
        await yieldTurns(2);
        for (const l of listeners) signal.removeEventListener('abort', l);
      };
      await runSteps(options(steps));
      await yieldTurns(2);
      expect(knobs.mostAtOnce).toBe(8);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});
