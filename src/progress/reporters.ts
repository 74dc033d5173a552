/**
 * Renders progress events three ways: ora spinners on a terminal, plain timestamped lines
 * when output is piped or NO_COLOR is set, and one JSON object per line for `--json`.
 * Progress goes to stderr so stdout stays the command's result.
 */
import type { Ora } from 'ora';
import { escapeForTerminal, jsonLine } from '../terminal-text.js';
import type { ProgressEvent, Reporter } from './events.js';

export type OutputMode = 'tty' | 'plain' | 'json';

/**
 * The narrowest terminal spinners are drawn on. ora works out how many lines to clear by
 * dividing the text's width by the column count: a terminal that reports 0 columns (or none)
 * makes that Infinity, and ora then writes cursor codes forever on the event loop, so no
 * signal handler can run. Narrower than this, or of unknown width, progress is plain lines.
 */
export const MIN_SPINNER_COLUMNS = 20;

export function hasSpinnerWidth(stream: NodeJS.WriteStream): boolean {
  const columns = stream.columns;
  return typeof columns === 'number' && Number.isFinite(columns) && columns >= MIN_SPINNER_COLUMNS;
}

export function chooseOutputMode(opts: { json?: boolean }, stream: NodeJS.WriteStream = process.stderr): OutputMode {
  if (opts.json) return 'json';
  if (!stream.isTTY || process.env.NO_COLOR !== undefined || process.env.TERM === 'dumb' || process.env.CI) return 'plain';
  if (!hasSpinnerWidth(stream)) return 'plain';
  return 'tty';
}

/**
 * The stream as ora sees it: never narrower than MIN_SPINNER_COLUMNS. ora also draws on its
 * own timer, between the reporter's width checks, so a terminal shrunk to nothing in that
 * moment must still give it a width it can divide by.
 */
function widthGuarded(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  return new Proxy(stream, {
    get(target, property) {
      if (property === 'columns') return hasSpinnerWidth(target) ? target.columns : MIN_SPINNER_COLUMNS;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

function counts(done?: number, total?: number): string {
  if (done === undefined) return '';
  return total !== undefined && total > 0 ? ` ${done}/${total} resources` : ` ${done} resources`;
}

/** One JSON object per line on stdout, with a timestamp; machine-readable and stable. */
export class JsonReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout) {}
  emit(event: ProgressEvent): void {
    this.out.write(jsonLine({ time: new Date().toISOString(), ...event }));
  }
  close(): void {}
}

/** Timestamped lines, for logs and CI. Progress lines are throttled to one per step per 10 s. */
export class PlainReporter implements Reporter {
  private lastProgress = new Map<string, number>();
  constructor(private readonly out: NodeJS.WritableStream = process.stderr) {}

  private line(text: string): void {
    this.out.write(`${new Date().toISOString().slice(11, 19)} ${escapeForTerminal(text)}\n`);
  }

  emit(e: ProgressEvent): void {
    switch (e.type) {
      case 'run-started':
        this.line(`${e.resumed ? 'Resuming' : 'Starting'} ${e.command} of ${e.instance} (${e.steps.length} steps)`);
        break;
      case 'step-started':
        this.line(`▸ ${e.title}${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
        break;
      case 'step-skipped':
        this.line(`✓ ${e.title} (${e.reason})`);
        break;
      case 'step-progress': {
        const now = Date.now();
        if (now - (this.lastProgress.get(e.step) ?? 0) < 10_000) break;
        this.lastProgress.set(e.step, now);
        this.line(`  ${e.step}:${counts(e.done, e.total)}${e.message ? ` ${e.message}` : ''}`);
        break;
      }
      case 'step-done':
        this.line(`✓ ${e.title} (${formatDuration(e.durationMs)})`);
        break;
      case 'step-failed':
        this.line(`✗ ${e.title} failed after ${formatDuration(e.durationMs)}`);
        break;
      case 'step-interrupted':
        this.line(`■ ${e.title} interrupted after ${formatDuration(e.durationMs)}`);
        break;
      case 'log':
        this.line(`${e.level === 'warn' ? 'warning: ' : ''}${e.message}`);
        break;
      case 'run-finished':
        this.line(`${e.command} ${e.status} in ${formatDuration(e.durationMs)}`);
        break;
    }
  }
  close(): void {}
}

interface ActiveStep {
  step: string;
  title: string;
  started: number;
  done?: number;
  total?: number;
  message?: string;
}

/**
 * A spinner per step with elapsed time and resource counts. A step can show sub-steps
 * (`<step>/<phase>`, e.g. the ACME phases of `tls`): the parent's line stays, each phase
 * gets its own spinner, and the parent's spinner resumes when the phase is done. Steps that
 * run at the same time (a parallel group: the tenant stacks) share the spinner, a line each;
 * each one's result line is printed above it as it ends.
 */
export class TtyReporter implements Reporter {
  private spinner?: Ora;
  private stack: ActiveStep[] = [];
  /** Top-level steps running beside `stack`'s step (a parallel group), in the order they started. */
  private beside: ActiveStep[] = [];
  private ticker?: NodeJS.Timeout;
  /** Set once the terminal became too narrow for spinners: from then on, plain lines. */
  private plain?: PlainReporter;
  private readonly oraStream: NodeJS.WriteStream;

  private constructor(
    private readonly oraFactory: (typeof import('ora'))['default'],
    private readonly stream: NodeJS.WriteStream,
    private readonly forceEnabled: boolean,
  ) {
    this.oraStream = widthGuarded(stream);
  }

  /** `forceEnabled` draws spinners on a stream that is not a terminal (tests). */
  static async create(stream: NodeJS.WriteStream = process.stderr, forceEnabled = false): Promise<TtyReporter> {
    const { default: ora } = await import('ora');
    return new TtyReporter(ora, stream, forceEnabled);
  }

  private ora(): Ora {
    return this.oraFactory({ stream: this.oraStream, ...(this.forceEnabled ? { isEnabled: true } : {}) });
  }

  /**
   * Switches to plain lines for good when the terminal has become too narrow (a resize):
   * true when output is plain from now on.
   */
  private fellBackToPlain(): boolean {
    if (this.plain) return true;
    if (hasSpinnerWidth(this.stream)) return false;
    this.stopTicker();
    this.spinner?.stop();
    this.spinner = undefined;
    this.plain = new PlainReporter(this.stream);
    const running = [...(this.current ? [this.current] : []), ...this.beside];
    this.stack = [];
    this.beside = [];
    this.plain.emit({ type: 'log', level: 'info', message: 'The terminal is too narrow for spinners; showing progress as plain lines.' });
    for (const r of running) this.plain.emit({ type: 'step-started', step: r.step, title: r.title, attempt: 1 });
    return true;
  }

  private get current() {
    return this.stack[this.stack.length - 1];
  }

  private render(): void {
    if (this.fellBackToPlain()) return;
    const c = this.current;
    if (!c || !this.spinner) return;
    const indent = this.stack.length > 1 ? '  ' : '';
    // Lines for the steps beside it are indented under the spinner's symbol.
    const lines = [`${indent}${describeActive(c)}`, ...this.beside.map((b) => `  ${describeActive(b)}`)];
    this.spinner.text = escapeForTerminal(lines.join('\n'));
    // Draw now rather than on the next frame, so progress shows as it happens.
    this.spinner.render();
  }

  private startSpinner(): void {
    this.spinner = this.ora().start();
    this.render();
    this.stopTicker();
    this.ticker = setInterval(() => this.render(), 1000);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Ends the top step's spinner with `how` and resumes its parent's (or the next running step's), if any. */
  private finish(step: string, how: 'succeed' | 'fail' | 'warn', text: string): void {
    const besideAt = this.beside.findIndex((s) => s.step === step);
    if (besideAt >= 0) {
      // A step of a parallel group: its result line goes above the spinner, which goes on.
      this.beside.splice(besideAt, 1);
      this.spinner?.clear();
      this.ora()[how](escapeForTerminal(text));
      this.render();
      return;
    }
    this.stopTicker();
    const indent = this.stack.length > 1 ? '  ' : '';
    this.spinner?.[how](escapeForTerminal(`${indent}${text}`));
    this.spinner = undefined;
    const i = this.stack.findIndex((s) => s.step === step);
    if (i >= 0) this.stack.splice(i);
    if (this.stack.length === 0 && this.beside.length > 0) this.stack = [this.beside.shift()!];
    if (this.current) this.startSpinner();
  }

  emit(e: ProgressEvent): void {
    if (this.fellBackToPlain()) {
      this.plain!.emit(e);
      return;
    }
    switch (e.type) {
      case 'run-started':
        this.stream.write(`${e.resumed ? 'Resuming' : 'Starting'} ${e.command} of ${e.instance}\n`);
        break;
      case 'step-started': {
        const parent = this.current;
        if (parent && e.step.startsWith(`${parent.step}/`)) {
          // The parent's line stays on screen while its phases run below it.
          this.stopTicker();
          this.spinner?.stopAndPersist({ symbol: '▸' });
        } else if (parent) {
          // Another step is still running: they run at the same time (a parallel group).
          this.beside.push({ step: e.step, title: e.title, started: Date.now() });
          this.render();
          break;
        }
        this.stack.push({ step: e.step, title: e.title, started: Date.now() });
        this.startSpinner();
        break;
      }
      case 'step-skipped':
        // A step of a parallel group can be skipped while its siblings' spinner runs.
        this.spinner?.clear();
        this.ora().info(escapeForTerminal(`${e.title} (${e.reason})`));
        this.spinner?.render();
        break;
      case 'step-progress': {
        const target = this.stack.find((s) => s.step === e.step) ?? this.beside.find((s) => s.step === e.step);
        if (target) {
          if (e.done !== undefined) target.done = e.done;
          if (e.total !== undefined) target.total = e.total;
          if (e.message !== undefined) target.message = e.message;
          if (target === this.current || this.beside.includes(target)) this.render();
        }
        break;
      }
      case 'step-done':
        this.finish(e.step, 'succeed', `${e.title} (${formatDuration(e.durationMs)})`);
        break;
      case 'step-failed':
        this.finish(e.step, 'fail', `${e.title} failed after ${formatDuration(e.durationMs)}`);
        break;
      case 'step-interrupted':
        this.finish(e.step, 'warn', `${e.title} interrupted after ${formatDuration(e.durationMs)}`);
        break;
      case 'log':
        if (this.spinner) this.spinner.clear();
        this.stream.write(`${e.level === 'warn' ? 'warning: ' : ''}${escapeForTerminal(e.message)}\n`);
        if (this.spinner) this.spinner.render();
        break;
      case 'run-finished':
        this.stream.write(`${e.command} ${e.status} in ${formatDuration(e.durationMs)}\n`);
        break;
    }
  }

  async suspend<T>(fn: () => Promise<T>): Promise<T> {
    this.stopTicker();
    this.spinner?.stop();
    try {
      return await fn();
    } finally {
      if (this.spinner && this.current) this.startSpinner();
    }
  }

  close(): void {
    this.stopTicker();
    this.spinner?.stop();
  }
}

/** One running step as its spinner line shows it: title, counts, elapsed time, latest message. */
function describeActive(a: ActiveStep): string {
  const msg = a.message ? `  ${a.message.length > 60 ? `${a.message.slice(0, 57)}…` : a.message}` : '';
  return `${a.title}${counts(a.done, a.total)}  ${formatDuration(Date.now() - a.started)}${msg}`;
}

export async function createReporter(mode: OutputMode): Promise<Reporter> {
  if (mode === 'json') return new JsonReporter();
  if (mode === 'plain') return new PlainReporter();
  return TtyReporter.create();
}
