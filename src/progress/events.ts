/**
 * What a running command tells the user. The step engine and the Pulumi workspace emit
 * these; a reporter renders them as spinners (TTY), plain lines, or JSON lines (`--json`).
 */

export type LogLevel = 'info' | 'warn';

export type ProgressEvent =
  | { type: 'run-started'; command: string; instance: string; runId: string; resumed: boolean; steps: string[] }
  | { type: 'step-started'; step: string; title: string; attempt: number }
  | { type: 'step-skipped'; step: string; title: string; reason: string }
  | {
      type: 'step-progress';
      step: string;
      /** Short free text, e.g. the resource being created. */
      message?: string;
      /** Resources (or other units) finished so far. */
      done?: number;
      /** Expected total, when known. */
      total?: number;
    }
  | { type: 'step-done'; step: string; title: string; durationMs: number }
  | { type: 'step-failed'; step: string; title: string; durationMs: number; error: string }
  | { type: 'step-interrupted'; step: string; title: string; durationMs: number }
  | { type: 'log'; level: LogLevel; message: string; step?: string }
  | { type: 'run-finished'; command: string; status: 'done' | 'failed' | 'interrupted'; durationMs: number };

export interface Reporter {
  emit(event: ProgressEvent): void;
  /** Stop spinners and flush; called once at the end of a command. */
  close(): void;
  /** Runs `fn` (a prompt) with live output paused, so a spinner does not draw over it. */
  suspend?<T>(fn: () => Promise<T>): Promise<T>;
}

export function withReporterSuspended<T>(reporter: Reporter, fn: () => Promise<T>): Promise<T> {
  return reporter.suspend ? reporter.suspend(fn) : fn();
}

/** A reporter that drops everything; for library use and tests that do not look at progress. */
export const silentReporter: Reporter = { emit() {}, close() {} };

/** Collects events in memory; for tests. */
export function collectingReporter(): Reporter & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { events, emit: (e) => void events.push(e), close() {} };
}
