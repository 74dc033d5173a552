/**
 * The error vocabulary of the CLI. Every error a user can see is one of these, so the top
 * level can map it to an exit code and print it without a stack trace.
 */

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** `upgrade --check`: a newer bundle or a config change is pending (for cron and CI). */
  pending: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface LookoutErrorOptions {
  /** What the user can do about it. Printed on its own line after the message. */
  hint?: string;
  cause?: unknown;
}

export class LookoutError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;

  constructor(message: string, exitCode: ExitCode, options: LookoutErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Bad flags, arguments or config: exit 2, nothing was touched. */
export class UsageError extends LookoutError {
  constructor(message: string, options?: LookoutErrorOptions) {
    super(message, ExitCode.usage, options);
  }
}

/** One problem found in a config file, located as precisely as the parser allows. */
export interface ConfigIssue {
  /** Dotted field path, for example `tenants[1].limits.activeSeries`. */
  path: string;
  message: string;
  /** `file:line:col` when the YAML node could be located. */
  location?: string;
}

/** Problems listed in one error; past that a count says how many more there are. */
export const MAX_REPORTED_ISSUES = 50;

export class ConfigError extends UsageError {
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    const shown = issues.slice(0, MAX_REPORTED_ISSUES);
    const more = issues.length - shown.length;
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the config\n` +
        shown.map((i) => `  ${i.location ?? file}  ${i.path || '(root)'}: ${i.message}`).join('\n') +
        (more > 0 ? `\n  … and ${more} more (the first ${MAX_REPORTED_ISSUES} are shown)` : ''),
      { hint: 'Run `lookout config schema` for the full reference, or see the README.' },
    );
    this.issues = issues;
  }
}

/** Something failed while doing the work (cloud, network, engine): exit 1. */
export class FailureError extends LookoutError {
  constructor(message: string, options?: LookoutErrorOptions) {
    super(message, ExitCode.failure, options);
  }
}

/** The user pressed Ctrl-C and the run stopped cleanly: exit 130. */
export class InterruptedError extends LookoutError {
  constructor(message = 'Interrupted.', options?: LookoutErrorOptions) {
    super(message, ExitCode.interrupted, options);
  }
}

export function isLookoutError(err: unknown): err is LookoutError {
  return err instanceof LookoutError;
}

/** Text of any thrown value, for places that must not print a stack. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
