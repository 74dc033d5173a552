/**
 * Shared by the fault-injection suites: building dist (the fixtures run the compiled engine in
 * real processes), starting fixture processes and waiting on their output, and reading a work
 * directory back in a comparable form.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentRun, readJournal } from '../../src/engine/index.js';
import type { ProgressEvent } from '../../src/progress/events.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const STEPS_CLI = join(ROOT, 'test/fault/fixtures/steps-cli.mjs');
export const LOCK_CONTENDER = join(ROOT, 'test/fault/fixtures/lock-contender.mjs');
export const PULUMI_LOCK_CLEAR = join(ROOT, 'test/fault/fixtures/pulumi-lock-clear.mjs');

/** The sources the fixtures load from dist/. */
const ENGINE_SOURCES = ['src/fs-atomic.ts', 'src/errors.ts', 'src/engine/', 'src/state/', 'src/pulumi/locks.ts', 'src/pulumi/diy-store.ts', 'src/pulumi/backend.ts'];

/**
 * Runs `tsc -b` so the fixtures never test a stale engine. Other modules of the repository may
 * have type errors while they are being written; tsc still emits, so only errors in the files
 * the fixtures load fail the suite.
 */
export function buildDist(): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, stdio: 'pipe' });
  } catch (err) {
    const output = String((err as { stdout?: Buffer }).stdout ?? '');
    const ours = output.split('\n').filter((l) => ENGINE_SOURCES.some((s) => l.startsWith(s)));
    if (ours.length > 0) throw new Error(`tsc -b failed in the files the fault fixtures run:\n${ours.join('\n')}`);
  }
  for (const file of ['dist/src/engine/index.js', 'dist/src/fs-atomic.js', 'dist/src/errors.js', 'dist/src/state/shared-instance-state.js', 'dist/src/pulumi/locks.js']) {
    if (!existsSync(join(ROOT, file))) throw new Error(`${file} is missing after tsc -b`);
  }
}

/**
 * Why processes cannot be started in a PID namespace of their own here (`unshare --pid --fork
 * --mount-proc` needs root or user namespaces); undefined when they can.
 */
export function unshareProblem(): string | undefined {
  const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true'], { encoding: 'utf8' });
  if (r.error) return `unshare is not available (${r.error.message}); install util-linux`;
  if (r.status !== 0) return `unshare --pid --fork --mount-proc is not permitted here: ${r.stderr.trim() || `exit ${r.status}`}`;
  return undefined;
}

export async function newWorkDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `lookout-fault-${label.replace(/[^\w-]/g, '_')}-`));
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSON progress events among the stdout lines. */
  events: ProgressEvent[];
}

export interface Running {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern`; rejects if the process ends first or the deadline passes. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  finished: Promise<Finished>;
}

function parseEvents(stdout: string): ProgressEvent[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ProgressEvent);
}

/**
 * Runs `script` with node. `wrapper` runs it through another command first, for example
 * `['unshare', '--pid', '--fork', '--mount-proc']` for a PID namespace of its own.
 */
export function start(script: string, args: string[], env: Record<string, string> = {}, wrapper: string[] = []): Running {
  const [command, ...commandArgs] = [...wrapper, process.execPath, script, ...args];
  const child = spawn(command!, commandArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      ended = true;
      notify();
      resolve({ code, signal, stdout, stderr, events: parseEvents(stdout) });
    });
  });

  function waitForLine(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = stdout.split('\n').find((l) => pattern.test(l));
        if (found !== undefined) return done(() => resolve(found));
        if (ended) return done(() => reject(new Error(`process ended without printing ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  }

  return { child, waitForLine, finished };
}

/** Runs the steps fixture in `work` to its end. */
export function runStepsCli(work: string, env: Record<string, string> = {}): Promise<Finished> {
  return start(STEPS_CLI, [], { FAULT_WORK: work, ...env }).finished;
}

export function startStepsCli(work: string, env: Record<string, string> = {}): Running {
  return start(STEPS_CLI, [], { FAULT_WORK: work, ...env });
}

async function filesUnder(dir: string): Promise<Record<string, string>> {
  if (!existsSync(dir)) return {};
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const e of entries.filter((x) => x.isFile())) {
    const path = join(e.parentPath, e.name);
    files[relative(dir, path)] = await readFile(path, 'utf8');
  }
  return Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
}

export interface Outcome {
  /** The run as recorded, with the (random) run id replaced by `<run>` so work directories compare. */
  journal: { status: string; steps: Array<{ name: string; status: string; outputs: unknown; stale: boolean }> };
  /** Every file the steps produced, by path, with the run id replaced. */
  files: Record<string, string>;
  /** Executions per step (and report repairs), from the counters. */
  executions: Record<string, number>;
  /** What is left in the state directory besides the journal (a lock, takeover markers, temporary files). */
  stateLeftovers: string[];
  runId: string;
}

export async function readOutcome(work: string): Promise<Outcome> {
  const journal = await readJournal(join(work, 'state', 'journal.json'));
  if (!journal) throw new Error(`no journal in ${work}`);
  const run = currentRun(journal, 'create');
  if (!run) throw new Error(`no create run in the journal of ${work}`);
  const normalize = (text: string) => text.split(run.runId).join('<run>');
  const steps = run.steps.map((s) => ({ name: s.name, status: s.status, outputs: s.outputs, stale: s.stale ?? false }));
  const counters = await filesUnder(join(work, 'counters'));
  const executions = Object.fromEntries(
    Object.entries(counters).map(([file, text]) => [file.replace(/\.log$/, ''), text.split('\n').filter(Boolean).length]),
  );
  const files = Object.fromEntries(Object.entries(await filesUnder(join(work, 'out'))).map(([k, v]) => [k, normalize(v)]));
  return {
    journal: JSON.parse(normalize(JSON.stringify({ status: run.status, steps }))) as Outcome['journal'],
    files,
    executions,
    stateLeftovers: (await readdir(join(work, 'state'))).filter((f) => f !== 'journal.json').sort(),
    runId: run.runId,
  };
}
