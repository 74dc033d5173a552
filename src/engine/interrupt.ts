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

/**
 * One listener per signal for the whole process, and a stack of handlers: the newest one
 * gets the signal. The CLI installs a base handler before it does anything, so a signal is
 * always handled (exit 130), and a command's session pushes its graceful one on top while it
 * runs. Without the base, a signal before or after a session would kill the process with the
 * signal's own status (143 for SIGTERM) instead of the documented 130.
 */
const handlers: Array<() => void> = [];

function dispatch(): void {
  handlers[handlers.length - 1]?.();
}

function pushHandler(handler: () => void): () => void {
  if (handlers.length === 0) for (const name of SIGNALS) process.on(name, dispatch);
  handlers.push(handler);
  return () => {
    const at = handlers.lastIndexOf(handler);
    if (at >= 0) handlers.splice(at, 1);
    if (handlers.length === 0) for (const name of SIGNALS) process.off(name, dispatch);
  };
}

function writeErrorSync(text: string, stderr?: NodeJS.WritableStream): void {
  if (stderr) {
    stderr.write(text);
    return;
  }
  try {
    // process.stderr is asynchronous when it is a pipe, and process.exit would drop the message.
    writeSync(2, text);
  } catch {
    process.stderr.write(text);
  }
}

/**
 * The CLI's base handler: outside a command's steps there is nothing to stop gracefully, so a
 * SIGINT or SIGTERM exits at once with 130. Returns the function that removes it.
 */
export function installExitOnInterrupt(options: Pick<InterruptHandlerOptions, 'stderr' | 'exit'> = {}): () => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return pushHandler(() => {
    writeErrorSync('error: interrupted.\n', options.stderr);
    exit(ExitCode.interrupted);
  });
}

export function installInterruptHandler(options: InterruptHandlerOptions): InterruptHandler {
  const controller = new AbortController();
  const writeError = (text: string): void => writeErrorSync(text, options.stderr);
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

  const remove = pushHandler(onSignal);
  return {
    signal: controller.signal,
    dispose: remove,
  };
}
