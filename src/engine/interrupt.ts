/**
 * Ctrl-C handling for long-running commands. A raw SIGINT would kill the CLI in the middle of
 * a cloud operation (a Pulumi update leaves pending operations and a lock), so the first one
 * only aborts an AbortSignal that every step passes to what it runs, and the run stops after
 * the current operation. A second one exits at once, saying what that means and how to resume.
 */
import { writeSync } from 'node:fs';
import { ExitCode, InterruptedError } from '../errors.js';
import type { Reporter } from '../progress/events.js';

export interface InterruptHandlerOptions {
  reporter: Reporter;
  /** How to carry on, e.g. "run `lookout create aws prod -c x` again to resume". */
  resumeHint: string;
  /** Where the hard-exit message goes. Default: file descriptor 2, written synchronously. */
  stderr?: NodeJS.WritableStream;
  /** Ends the process on the second signal. Default: process.exit. */
  exit?: (code: number) => void;
}

export interface InterruptHandler {
  /** Aborted on the first SIGINT or SIGTERM; its reason is an InterruptedError. */
  readonly signal: AbortSignal;
  /** Removes the signal handlers, restoring the default behaviour. */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function installInterruptHandler(options: InterruptHandlerOptions): InterruptHandler {
  const controller = new AbortController();
  const writeError = (text: string): void => {
    if (options.stderr) {
      options.stderr.write(text);
      return;
    }
    try {
      // process.stderr is asynchronous when it is a pipe, and process.exit would drop the message.
      writeSync(2, text);
    } catch {
      process.stderr.write(text);
    }
  };
  const exit = options.exit ?? ((code: number) => process.exit(code));

  const onSignal = (): void => {
    if (!controller.signal.aborted) {
      controller.abort(new InterruptedError('Interrupted.', { hint: options.resumeHint }));
      options.reporter.emit({
        type: 'log',
        level: 'warn',
        message: 'Stopping after the current operation… press Ctrl-C again to exit now',
      });
      return;
    }
    try {
      // Stop spinners so the message is not drawn over.
      options.reporter.close();
    } catch {
      // Exiting anyway; the message below matters more than the spinner.
    }
    writeError(`error: exiting now; the step that was running may be partly applied.\nhint: ${options.resumeHint}\n`);
    exit(ExitCode.interrupted);
  };

  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
