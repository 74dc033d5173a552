/**
 * The journal: what the step engine has done for one instance, so that an interrupted or
 * failed command carries on where it stopped. One JSON file per instance, rewritten
 * atomically (0600) at every step transition.
 *
 * It holds, per command, the current run (its steps with status, attempts, inputs hash and
 * outputs), and a short history of finished invocations for `lookout status`. It never holds
 * secrets: step outputs are whatever steps return, and steps must not return secrets.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FailureError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../fs-atomic.js';

/** The format this code writes. Bump it (and migrate older journals on read) on breaking changes. */
export const JOURNAL_VERSION = 1;

/** Finished invocations kept for `status`; older ones are dropped. */
export const HISTORY_LIMIT = 20;

export type StepStatus = 'started' | 'done' | 'failed' | 'interrupted';
export type RunStatus = 'running' | 'done' | 'failed' | 'interrupted';

export interface StepRecord {
  name: string;
  title: string;
  /** `started` with no later record means the process died while the step ran. */
  status: StepStatus;
  /** How many times the step has been started in this run. */
  attempts: number;
  /** sha256 (hex) of the canonical JSON of the inputs of the latest attempt. */
  inputsHash: string;
  /** What the step returned, when done. Absent when it returned nothing. */
  outputs?: unknown;
  /** The error message (never a stack) when failed. */
  error?: string;
  /** What the user can do about `error`, when the error said. */
  hint?: string;
  /**
   * Done, but a step before it has run again with changed inputs since, so this one runs
   * again too. Kept in the file so the decision survives a crash.
   */
  stale?: boolean;
  startedAt: string;
  finishedAt?: string;
}

export interface RunRecord {
  runId: string;
  command: string;
  /** `running` with no live lock holder means the process died. */
  status: RunStatus;
  startedAt: string;
  /** The last time this record was written. */
  updatedAt: string;
  /** When the latest invocation ended; absent while running. */
  finishedAt?: string;
  /** How many times this run was started or resumed. */
  invocations: number;
  /** Step names of the latest invocation, in order. */
  plan: string[];
  /** In plan order; records of steps no longer in the plan are kept after them. */
  steps: StepRecord[];
}

/** One finished invocation of a command, for `status`. */
export interface RunSummary {
  runId: string;
  command: string;
  status: Exclude<RunStatus, 'running'>;
  /** When this invocation started (a resumed run has several). */
  startedAt: string;
  finishedAt: string;
  resumed: boolean;
  stepsRun: string[];
  stepsSkipped: string[];
  /** The step that failed or was interrupted. */
  stoppedAt?: string;
  error?: string;
}

export interface Journal {
  version: typeof JOURNAL_VERSION;
  instance: string;
  /** The current run of each command: at most one per command. */
  runs: RunRecord[];
  /** Newest last, at most HISTORY_LIMIT. */
  history: RunSummary[];
}

const timestamp = z.string().min(1);

const stepRecordSchema = z.object({
  name: z.string().min(1),
  title: z.string(),
  status: z.enum(['started', 'done', 'failed', 'interrupted']),
  attempts: z.number().int().nonnegative(),
  inputsHash: z.string(),
  outputs: z.unknown().optional(),
  error: z.string().optional(),
  hint: z.string().optional(),
  stale: z.boolean().optional(),
  startedAt: timestamp,
  finishedAt: timestamp.optional(),
});

const runRecordSchema = z.object({
  runId: z.string().min(1),
  command: z.string().min(1),
  status: z.enum(['running', 'done', 'failed', 'interrupted']),
  startedAt: timestamp,
  updatedAt: timestamp,
  finishedAt: timestamp.optional(),
  invocations: z.number().int().nonnegative(),
  plan: z.array(z.string()),
  steps: z.array(stepRecordSchema),
});

const runSummarySchema = z.object({
  runId: z.string().min(1),
  command: z.string().min(1),
  status: z.enum(['done', 'failed', 'interrupted']),
  startedAt: timestamp,
  finishedAt: timestamp,
  resumed: z.boolean(),
  stepsRun: z.array(z.string()),
  stepsSkipped: z.array(z.string()),
  stoppedAt: z.string().optional(),
  error: z.string().optional(),
});

const journalSchema: z.ZodType<Journal> = z.object({
  version: z.literal(JOURNAL_VERSION),
  instance: z.string().min(1),
  runs: z.array(runRecordSchema),
  history: z.array(runSummarySchema),
});

/** Only the version, read first so a newer format is explained instead of failing validation. */
const versionOnlySchema = z.object({ version: z.number().int().positive() });

export function emptyJournal(instance: string): Journal {
  return { version: JOURNAL_VERSION, instance, runs: [], history: [] };
}

/**
 * The journal at `path`, or undefined when there is none yet. Throws a FailureError that says
 * what to do when the file was written by a newer lookout or is not a journal.
 */
export async function readJournal(path: string): Promise<Journal | undefined> {
  const raw = await readJsonIfExists<unknown>(path);
  return raw === undefined ? undefined : parseJournal(raw, path);
}

/** Checks parsed JSON read from `where` (a path or URL) as a journal this lookout can use. */
export function parseJournal(raw: unknown, where: string): Journal {
  const versioned = versionOnlySchema.safeParse(raw);
  if (!versioned.success) {
    throw new FailureError(`${where} is not a lookout journal: it has no format version`, {
      hint: 'The file was damaged or replaced. Move it aside to start the command from the beginning; finished cloud work is found again by the steps.',
    });
  }
  if (versioned.data.version > JOURNAL_VERSION) {
    throw new FailureError(
      `the journal at ${where} was written by a newer lookout (journal format ${versioned.data.version}; this lookout reads format ${JOURNAL_VERSION} and older)`,
      { hint: 'Upgrade lookout to the version that last worked on this instance (or newer), then run the command again.' },
    );
  }
  const parsed = journalSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue && issue.path.length > 0 ? ` at ${issue.path.join('.')}` : '';
    throw new FailureError(`the journal at ${where} is damaged${at}: ${issue?.message ?? 'invalid content'}`, {
      hint: 'Move it aside to start the command from the beginning; finished cloud work is found again by the steps.',
    });
  }
  return parsed.data;
}

/** Replaces the journal atomically, owner-only. */
export async function writeJournal(path: string, journal: Journal): Promise<void> {
  await writeJsonAtomic(path, journal, { mode: 0o600 });
}

/** The current run of `command`, if any. */
export function currentRun(journal: Journal, command: string): RunRecord | undefined {
  return journal.runs.find((r) => r.command === command);
}

/** The run of any command that was written last; what `status` shows first. */
export function latestRun(journal: Journal): RunRecord | undefined {
  return [...journal.runs].sort((a, b) => a.updatedAt.localeCompare(b.updatedAt)).at(-1);
}

/** Appends a finished invocation, dropping the oldest beyond HISTORY_LIMIT. */
export function appendHistory(journal: Journal, summary: RunSummary): void {
  journal.history.push(summary);
  if (journal.history.length > HISTORY_LIMIT) journal.history.splice(0, journal.history.length - HISTORY_LIMIT);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/**
 * JSON with object keys sorted at every level, so equal values always give the same text.
 * Follows JSON.stringify (toJSON, undefined properties left out, undefined in arrays as null)
 * but refuses values JSON would silently lose or mangle (functions, symbols, bigint, NaN,
 * Infinity, Map, Set, cycles): hashing a lossy form would miss real changes.
 */
export function canonicalJson(value: unknown): string {
  const ancestors: object[] = [];
  const encode = (v: unknown, where: string): string | undefined => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
      v = (v as { toJSON(): unknown }).toJSON();
    }
    switch (typeof v) {
      case 'undefined':
        return undefined;
      case 'string':
      case 'boolean':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) throw new TypeError(`${where} is ${v}, which JSON cannot represent`);
        return JSON.stringify(v);
      case 'object': {
        if (v === null) return 'null';
        if (v instanceof Map || v instanceof Set) {
          throw new TypeError(`${where} is a ${describe(v)}, which JSON cannot represent; use a plain object or array`);
        }
        if (ancestors.includes(v)) throw new TypeError(`${where} refers to itself (a cycle)`);
        ancestors.push(v);
        try {
          if (Array.isArray(v)) return `[${v.map((item, i) => encode(item, `${where}[${i}]`) ?? 'null').join(',')}]`;
          const parts: string[] = [];
          for (const key of Object.keys(v).sort()) {
            const encoded = encode((v as Record<string, unknown>)[key], `${where}.${key}`);
            if (encoded !== undefined) parts.push(`${JSON.stringify(key)}:${encoded}`);
          }
          return `{${parts.join(',')}}`;
        } finally {
          ancestors.pop();
        }
      }
      default:
        throw new TypeError(`${where} is a ${typeof v}, which JSON cannot represent`);
    }
  };
  return encode(value, 'value') ?? 'null';
}

/** sha256 (hex) of the canonical JSON of a step's inputs; no inputs hash like null. */
export function hashInputs(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}
