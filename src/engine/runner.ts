/**
 * Runs a command as a list of named, idempotent steps, recording each transition in the
 * instance's journal so that a run that was interrupted, failed or killed carries on where it
 * stopped: done steps whose inputs are unchanged are skipped, everything else runs again.
 *
 * Recording happens before and after each step ("started" before `run` is called, "done" with
 * its outputs after it returns), so after a crash the journal never claims more than was done.
 * A step must therefore be safe to run again after it was stopped at any point (Pulumi `up`
 * converges; plain actions check what is already there, keyed by `ctx.idempotencyKey`).
 *
 * Secrets: the journal is plain JSON. Step outputs and inputs are written to it as they are,
 * so a step must never return a secret (return a reference to where it is stored instead),
 * and its inputs should not contain secrets either (hashing them is fine, but keep them out of
 * error messages, which are recorded too).
 */
import { randomBytes } from 'node:crypto';
import { defaultMaxListeners, setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { FailureError, InterruptedError, LookoutError, errorMessage, isLookoutError } from '../errors.js';
import type { LogLevel, Reporter } from '../progress/events.js';
import {
  appendHistory,
  canonicalJson,
  currentRun,
  emptyJournal,
  hashInputs,
  type Journal,
  type RunRecord,
  type RunStatus,
  type StepRecord,
} from './journal.js';
import { fileInstanceStore, type InstanceStore } from './instance-store.js';

export interface StepContext {
  instance: string;
  command: string;
  runId: string;
  /** Aborted on Ctrl-C; pass it to everything long-running. */
  signal: AbortSignal;
  /**
   * `<runId>:<step>`: the same for every attempt of this step in this run, including after a
   * crash. Mark once-only effects with it so an attempt can see that an earlier one applied them.
   */
  idempotencyKey: string;
  /** Outputs of a step that finished earlier in this run (in this invocation or a resumed one). */
  outputsOf<T = unknown>(step: string): T;
  progress(update: { message?: string; done?: number; total?: number }): void;
  log(level: LogLevel, message: string): void;
}

export interface Step<O = unknown> {
  /** Unique and stable across versions, e.g. 'preflight', 'infra', 'tenant:team-a'. */
  name: string;
  /** Human title for progress. */
  title: string;
  /**
   * What the step depends on, JSON-serializable; its hash is recorded, and a change means the
   * step (and every step after it) runs again. Include the upstream outputs you use
   * (`ctx.outputsOf`), so a changed upstream result also counts as a change. No secrets.
   */
  inputs?(ctx: StepContext): unknown;
  /** Does the work. The result is recorded in the journal: JSON-serializable, and no secrets. */
  run(ctx: StepContext): Promise<O>;
  /** Run even when done with unchanged inputs (verification, preflight checks). */
  alwaysRun?: boolean;
  /**
   * The step only looks (credentials, quotas, names): it changes nothing in the cloud. A new
   * run that stops before any other step has started leaves no run to resume, so the next
   * command starts afresh rather than "resuming" work that never began.
   */
  changesNothing?: boolean;
  /**
   * Steps next to each other in the list with the same `parallel.group` are independent of one
   * another (the tenant stacks): they run at the same time, at most `limit` at once. They must
   * not read each other's outputs, and a change in one does not make its siblings stale, only
   * the steps after the group. When one fails, no further sibling starts; those running finish,
   * are recorded, and the first failure is what the run reports.
   */
  parallel?: { group: string; limit: number };
}

interface RunOptionsBase {
  instance: string;
  command: string;
  steps: Step[];
  reporter: Reporter;
  /** From installInterruptHandler; aborting it stops the run cleanly. */
  signal?: AbortSignal;
  /**
   * 'always': carry on with the last run of this command even if it finished (re-running
   * `create` skips what is done and unchanged). 'unfinished': a finished run is archived to
   * the history and a new run starts. 'new': whatever run of this command there was belongs to
   * something that no longer exists (an instance destroyed since); it is dropped, unfinished or
   * not, and a new run starts.
   */
  resume: 'always' | 'unfinished' | 'new';
}

/** Where the lock and journal live: an instance store, or two local files. */
export type RunOptions = RunOptionsBase & ({ store: InstanceStore } | { journalPath: string; lockPath: string });

export interface RunResult {
  runId: string;
  /** The outputs of every step, by name. */
  outputs: Record<string, unknown>;
}

const GENERIC_RESUME_HINT = 'Run the same command again to resume: finished steps are skipped.';

function now(): string {
  return new Date().toISOString();
}

/** Sortable and readable: `20240501T101500Z-3f9a1c`. */
function newRunId(): string {
  return `${now().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

function checkPlan(steps: Step[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (!step.name || seen.has(step.name)) {
      throw new FailureError(`the step list has ${step.name ? `two steps named "${step.name}"` : 'a step without a name'}`, {
        hint: 'This is a bug in lookout; please report it.',
      });
    }
    seen.add(step.name);
  }
}

/** What a step returned, as it will read back from the journal; throws if it cannot be recorded. */
function recordable(step: Step, value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    canonicalJson(value);
  } catch (err) {
    throw new FailureError(`step "${step.name}" returned outputs that cannot be recorded in the journal: ${errorMessage(err)}`, {
      cause: err,
      hint: 'This is a bug in lookout; please report it.',
    });
  }
  return JSON.parse(JSON.stringify(value)) as unknown;
}

interface Batch {
  steps: Step[];
  /** Index of the batch's last step in the plan. */
  end: number;
}

/** The plan cut into what runs together: neighbours of one parallel group, every other step alone. */
function batches(steps: readonly Step[]): Batch[] {
  const out: Batch[] = [];
  steps.forEach((step, index) => {
    const last = out[out.length - 1];
    const group = step.parallel?.group;
    if (group !== undefined && last && last.steps[0]!.parallel?.group === group) {
      last.steps.push(step);
      last.end = index;
    } else out.push({ steps: [step], end: index });
  });
  return out;
}

/** Takes the instance lock, runs the steps that need running, and records everything. */
export async function runSteps(opts: RunOptions): Promise<RunResult> {
  checkPlan(opts.steps);
  const signal = opts.signal ?? new AbortController().signal;
  if (signal.aborted) throw interruptedError(signal, 'Interrupted before the run started; nothing was done.');
  const store = 'store' in opts ? opts.store : fileInstanceStore(opts.journalPath, opts.lockPath);
  const lock = await store.acquireLock({ command: opts.command, instance: opts.instance, reporter: opts.reporter, signal });
  try {
    // Losing the lock (a shared backend's lease could not be renewed, or it was removed)
    // stops the steps like Ctrl-C does; the run then fails with why.
    const stop = AbortSignal.any([signal, lock.lost]);
    // Every running step listens on it while it waits (an engine call, a poll): steps of a
    // parallel group legitimately add theirs at the same time, beyond Node's warning level.
    setMaxListeners(defaultMaxListeners * Math.max(1, ...opts.steps.map((s) => s.parallel?.limit ?? 1)), stop);
    return await new Execution(opts, store, stop).run();
  } catch (err) {
    throw lock.lost.aborted ? lock.lost.reason : err;
  } finally {
    await lock.release().catch((err: unknown) =>
      opts.reporter.emit({ type: 'log', level: 'warn', message: `Could not remove the lock ${lock.location}: ${errorMessage(err)}` }),
    );
  }
}

function interruptedError(signal: AbortSignal, message: string): InterruptedError {
  const hint = signal.reason instanceof LookoutError && signal.reason.hint ? signal.reason.hint : GENERIC_RESUME_HINT;
  return new InterruptedError(message, { hint });
}

/** One invocation of runSteps, after the lock is held. */
class Execution {
  private journal!: Journal;
  private record!: RunRecord;
  /** Outputs of the steps done (run or skipped) so far in this invocation; what outputsOf may read. */
  private readonly completed = new Map<string, unknown>();
  private readonly stepsRun: string[] = [];
  private readonly stepsSkipped: string[] = [];
  private stoppedAt?: string;
  /** Journal writes, one at a time: steps of a parallel group finish at the same moment. */
  private saving: Promise<void> = Promise.resolve();
  /** Whether this run is recorded: a resumed one always, a new one once a step that changes something starts. */
  private recorded = false;
  /** Whether the journal file existed before this run. */
  private journalExisted = false;
  private readonly startedAt = now();
  private readonly startedPerf = performance.now();

  constructor(
    private readonly opts: RunOptionsBase,
    private readonly store: InstanceStore,
    private readonly signal: AbortSignal,
  ) {}

  private emit: Reporter['emit'] = (event) => this.opts.reporter.emit(event);

  async run(): Promise<RunResult> {
    const { opts } = this;
    const existingJournal = await this.store.readJournal();
    this.journalExisted = existingJournal !== undefined;
    this.journal = existingJournal ?? emptyJournal(opts.instance);
    if (this.journal.instance !== opts.instance) {
      throw new FailureError(`the journal at ${this.store.journalLocation} belongs to instance "${this.journal.instance}", not "${opts.instance}"`, {
        hint: 'Each instance has its own state directory; check LOOKOUT_HOME and the instance name.',
      });
    }

    let existing = currentRun(this.journal, opts.command);
    if (existing && (opts.resume === 'new' || (existing.status === 'done' && opts.resume === 'unfinished'))) {
      // A done run's summary is already in the history; a new run starts from the beginning.
      this.journal.runs = this.journal.runs.filter((r) => r !== existing);
      existing = undefined;
    }
    const resumed = existing !== undefined;
    // A new run is recorded from its start, unless it starts with steps that change nothing:
    // then only once a step that may change something starts (see Step.changesNothing).
    this.recorded = resumed || !opts.steps[0]?.changesNothing;
    const record: RunRecord = existing ?? {
      runId: newRunId(),
      command: opts.command,
      status: 'running',
      startedAt: this.startedAt,
      updatedAt: this.startedAt,
      invocations: 0,
      plan: [],
      steps: [],
    };
    if (!existing) this.journal.runs.push(record);
    this.record = record;

    for (const step of record.steps) {
      if (step.status === 'started') {
        this.emit({
          type: 'log',
          level: 'warn',
          step: step.name,
          message: `"${step.title}" did not finish last time (the process stopped while it ran); it runs again and repairs what it left.`,
        });
      }
    }
    record.status = 'running';
    delete record.finishedAt;
    record.invocations += 1;
    record.plan = opts.steps.map((s) => s.name);
    this.orderSteps();
    await this.save();

    this.emit({ type: 'run-started', command: opts.command, instance: opts.instance, runId: record.runId, resumed, steps: record.plan });
    try {
      for (const batch of batches(opts.steps)) {
        const first = batch.steps[0]!;
        if (this.signal.aborted) {
          this.stoppedAt = first.name;
          throw interruptedError(this.signal, `Interrupted before "${first.title}"; the steps before it are done.`);
        }
        if (batch.steps.length === 1) await this.runStep(first, batch.end);
        else await this.runBatch(batch);
      }
    } catch (err) {
      const status: RunStatus = this.signal.aborted || err instanceof InterruptedError ? 'interrupted' : 'failed';
      await this.finish(status, err);
      throw err;
    }
    await this.finish('done');
    return { runId: record.runId, outputs: Object.fromEntries(this.completed) };
  }

  /**
   * Runs a group of independent steps, at most `limit` at once. After a failure no further
   * step starts; the ones running finish (a Pulumi update stopped half-way only costs a repair
   * later), and the first failure is thrown once all have settled.
   */
  private async runBatch(batch: Batch): Promise<void> {
    const limit = Math.max(1, batch.steps[0]!.parallel?.limit ?? 1);
    const siblings = new Set(batch.steps.map((s) => s.name));
    const failures = new Map<string, unknown>();
    let next = 0;
    // `stoppedAt` is set the moment a step stops, before its failure is recorded: no sibling
    // starts after that.
    const worker = async () => {
      while (next < batch.steps.length && this.stoppedAt === undefined && !this.signal.aborted) {
        const step = batch.steps[next++]!;
        try {
          await this.runStep(step, batch.end, siblings);
        } catch (err) {
          failures.set(step.name, err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, batch.steps.length) }, worker));
    if (failures.size > 0) {
      // An interruption explains every other failure of the batch (they were stopped by it);
      // otherwise the step that stopped first is the one to report.
      const all = [...failures.values()];
      throw all.find((f) => f instanceof InterruptedError) ?? failures.get(this.stoppedAt ?? '') ?? all[0];
    }
    // Interrupted with steps of the group not started (once all ran, the next batch says so).
    if (this.signal.aborted && next < batch.steps.length) {
      const waiting = batch.steps[next]!;
      this.stoppedAt = waiting.name;
      throw interruptedError(this.signal, `Interrupted before "${waiting.title}"; the steps before it are done.`);
    }
  }

  /**
   * Runs one step. `lastOfGroup` is the index of the last step of its group (its own index
   * when it runs alone): the steps after that are the ones its outputs feed.
   */
  private async runStep(step: Step, lastOfGroup: number, siblings?: ReadonlySet<string>): Promise<void> {
    // From the first step that may change something on, the run is one to resume.
    if (!step.changesNothing) this.recorded = true;
    const ctx = this.context(step, siblings);
    const previous = this.find(step.name);

    let hash: string;
    try {
      hash = hashInputs(step.inputs ? step.inputs(ctx) : undefined);
    } catch (err) {
      const record: StepRecord = previous ?? { name: step.name, title: step.title, status: 'failed', attempts: 0, inputsHash: '', startedAt: now() };
      delete record.outputs;
      this.put(record);
      return this.stop(step, record, err, performance.now(), `could not work out the inputs of "${step.title}"`);
    }

    const fresh = previous?.status === 'done' && !previous.stale && previous.inputsHash === hash;
    if (fresh && !step.alwaysRun) {
      this.completed.set(step.name, previous.outputs);
      this.stepsSkipped.push(step.name);
      this.emit({ type: 'step-skipped', step: step.name, title: step.title, reason: 'done, inputs unchanged' });
      return;
    }

    const record: StepRecord = {
      name: step.name,
      title: step.title,
      status: 'started',
      attempts: (previous?.attempts ?? 0) + 1,
      inputsHash: hash,
      startedAt: now(),
    };
    this.put(record);
    // Steps after this one consume what it produces. When it runs with inputs it has not run
    // with before, their done records no longer hold. Marked in the same write as "started",
    // so a crash cannot lose the decision. (An attempt with the same inputs as the previous
    // attempt made this decision already.)
    if (previous?.inputsHash !== hash) {
      for (const later of this.opts.steps.slice(lastOfGroup + 1)) {
        const laterRecord = this.find(later.name);
        if (laterRecord?.status === 'done') laterRecord.stale = true;
      }
    }
    await this.save();
    this.stepsRun.push(step.name);
    this.emit({ type: 'step-started', step: step.name, title: step.title, attempt: record.attempts });

    const started = performance.now();
    let outputs: unknown;
    try {
      outputs = recordable(step, await step.run(ctx));
    } catch (err) {
      return this.stop(step, record, err, started);
    }
    record.status = 'done';
    record.finishedAt = now();
    if (outputs !== undefined) record.outputs = outputs;
    await this.save();
    this.completed.set(step.name, outputs);
    this.emit({ type: 'step-done', step: step.name, title: step.title, durationMs: performance.now() - started });
  }

  /** Records why `step` stopped and throws what the user should see. */
  private async stop(step: Step, record: StepRecord, err: unknown, started: number, context?: string): Promise<never> {
    // In a parallel group several steps can stop; the first is where the run stopped.
    this.stoppedAt ??= step.name;
    const durationMs = performance.now() - started;
    record.finishedAt = now();
    if (this.signal.aborted || err instanceof InterruptedError) {
      record.status = 'interrupted';
      await this.saveQuietly();
      this.emit({ type: 'step-interrupted', step: step.name, title: step.title, durationMs });
      throw interruptedError(
        this.signal,
        `Interrupted during "${step.title}"; it may be partly applied, and runs again (repairing it) when you resume.`,
      );
    }
    const message = context ? `${context}: ${errorMessage(err)}` : errorMessage(err);
    record.status = 'failed';
    record.error = message;
    if (isLookoutError(err) && err.hint) record.hint = err.hint;
    await this.saveQuietly();
    this.emit({ type: 'step-failed', step: step.name, title: step.title, durationMs, error: message });
    if (isLookoutError(err) && !context) throw err;
    throw new FailureError(`${step.title} failed: ${message}`, {
      cause: err,
      hint: (isLookoutError(err) && err.hint) || 'Fix the cause and run the same command again: finished steps are skipped.',
    });
  }

  private async finish(status: Exclude<RunStatus, 'running'>, err?: unknown): Promise<void> {
    const finishedAt = now();
    this.record.status = status;
    this.record.finishedAt = finishedAt;
    appendHistory(this.journal, {
      runId: this.record.runId,
      command: this.opts.command,
      status,
      startedAt: this.startedAt,
      finishedAt,
      resumed: this.record.invocations > 1,
      stepsRun: this.stepsRun,
      stepsSkipped: this.stepsSkipped,
      ...(this.stoppedAt ? { stoppedAt: this.stoppedAt } : {}),
      ...(err !== undefined ? { error: errorMessage(err) } : {}),
    });
    if (status === 'done') {
      this.recorded = true;
      await this.save();
    } else if (!this.recorded) {
      // Nothing was changed: no run to resume. An instance with a journal keeps the summary.
      this.journal.runs = this.journal.runs.filter((r) => r !== this.record);
      if (this.journalExisted) await this.saveQuietly(true);
    } else await this.saveQuietly();
    this.emit({ type: 'run-finished', command: this.opts.command, status, durationMs: performance.now() - this.startedPerf });
  }

  private context(step: Step, siblings?: ReadonlySet<string>): StepContext {
    const { opts } = this;
    const runId = this.record.runId;
    return {
      instance: opts.instance,
      command: opts.command,
      runId,
      signal: this.signal,
      idempotencyKey: `${runId}:${step.name}`,
      outputsOf: <T>(name: string): T => {
        // A sibling in a parallel group may or may not have finished: reading it would make
        // this step's inputs depend on timing.
        if (!this.completed.has(name) || (siblings?.has(name) && name !== step.name)) {
          throw new FailureError(`step "${step.name}" asked for the outputs of "${name}", which has not finished before it in this run`, {
            hint: 'This is a bug in lookout (steps must only read the outputs of earlier steps); please report it.',
          });
        }
        // A copy: a step must not change what another step (or the journal) sees.
        return structuredClone(this.completed.get(name)) as T;
      },
      progress: (update) => this.emit({ type: 'step-progress', step: step.name, ...update }),
      log: (level, message) => this.emit({ type: 'log', level, message, step: step.name }),
    };
  }

  private find(name: string): StepRecord | undefined {
    return this.record.steps.find((s) => s.name === name);
  }

  private put(record: StepRecord): void {
    const at = this.record.steps.findIndex((s) => s.name === record.name);
    if (at === -1) this.record.steps.push(record);
    else this.record.steps[at] = record;
    this.orderSteps();
  }

  /** Plan order; records of steps no longer planned keep their order after those. */
  private orderSteps(): void {
    const position = (name: string) => {
      const i = this.record.plan.indexOf(name);
      return i === -1 ? Number.MAX_SAFE_INTEGER : i;
    };
    // Array.prototype.sort is stable, so unplanned records keep their relative order.
    this.record.steps.sort((a, b) => position(a.name) - position(b.name));
  }

  /** Writes the journal, once the run is recorded (or `force`, for the history of a discarded run). */
  private async save(force = false): Promise<void> {
    if (!this.recorded && !force) return;
    const write = this.saving.then(() => {
      this.record.updatedAt = now();
      return this.store.writeJournal(this.journal);
    });
    this.saving = write.catch(() => {});
    await write;
  }

  /** On the way out with an error, failing to record it must not hide that error. */
  private async saveQuietly(force = false): Promise<void> {
    try {
      await this.save(force);
    } catch (err) {
      this.emit({ type: 'log', level: 'warn', message: `Could not update the journal ${this.store.journalLocation}: ${errorMessage(err)}` });
    }
  }
}
