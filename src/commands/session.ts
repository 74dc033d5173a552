/**
 * What every long-running command sets up once: the progress reporter, Ctrl-C handling, the
 * passphrase and (on first use) the Pulumi CLI. Commands validate their input before they
 * open a session, so nothing here runs for a command that is going to be refused.
 */
import type { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import { installInterruptHandler } from '../engine/index.js';
import type { Reporter } from '../progress/events.js';
import { chooseOutputMode, createReporter } from '../progress/reporters.js';
import { ensurePulumiCommand } from '../pulumi/cli-install.js';
import { obtainPassphrase } from '../pulumi/passphrase.js';

export interface SessionOptions {
  instance: string;
  json?: boolean;
  /** Shown when the user interrupts: how to carry on. */
  resumeHint: string;
  /** True when no state exists yet, so the passphrase is being chosen (asked twice). */
  isNewInstance: boolean;
}

export interface CommandSession {
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  readonly passphrase: string;
  readonly interactive: boolean;
  pulumi(): Promise<PulumiCommand>;
  log(level: 'info' | 'warn', message: string): void;
  close(): void;
}

export async function openSession(o: SessionOptions): Promise<CommandSession> {
  // Asked before the reporter starts drawing spinners over the prompt.
  const passphrase = await obtainPassphrase({ isNewStack: o.isNewInstance, instance: o.instance });
  const reporter = await createReporter(chooseOutputMode({ json: o.json }));
  const interrupts = installInterruptHandler({ reporter, resumeHint: o.resumeHint });
  let pulumi: Promise<PulumiCommand> | undefined;
  let closed = false;
  return {
    reporter,
    signal: interrupts.signal,
    passphrase,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY) && !o.json,
    pulumi() {
      pulumi ??= ensurePulumiCommand({ reporter, signal: interrupts.signal });
      return pulumi;
    },
    log(level, message) {
      reporter.emit({ type: 'log', level, message });
    },
    close() {
      if (closed) return;
      closed = true;
      interrupts.dispose();
      reporter.close();
    },
  };
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Asks the user to type a word (the instance name) to confirm something destructive. */
export async function confirmByTyping(question: string, expected: string): Promise<boolean> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question}\nType the instance name (${expected}) to continue: `);
    return answer.trim() === expected;
  } finally {
    rl.close();
  }
}
