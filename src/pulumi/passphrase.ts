/**
 * The passphrase that encrypts an instance's secrets in the Pulumi state. It comes from
 * LOOKOUT_PASSPHRASE or, on a terminal, from a prompt that does not echo. It is handed to the
 * Pulumi child only as PULUMI_CONFIG_PASSPHRASE in the workspace environment; this module
 * never writes, logs or puts it into an error message.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { InterruptedError, UsageError } from '../errors.js';

export const PASSPHRASE_ENV = 'LOOKOUT_PASSPHRASE';

/** Asks one question and resolves with what was typed, without echoing it. */
export type PassphrasePrompt = (question: string) => Promise<string>;

export interface PassphraseOptions {
  /** The stack has no state yet: the passphrase is being chosen, so it is asked twice. */
  isNewStack: boolean;
  /** Used in the question, so the user knows which instance it is for. */
  instance: string;
  env?: NodeJS.ProcessEnv;
  /** Whether a person can answer a prompt; defaults to stdin and stderr being terminals. */
  interactive?: boolean;
  prompt?: PassphrasePrompt;
}

const MAX_ATTEMPTS = 3;

const ENV_HINT =
  `Set ${PASSPHRASE_ENV} to the passphrase that encrypts this instance's secrets. For a new instance, choose ` +
  'one and keep it somewhere safe: it cannot be recovered, and every later command on the instance needs it.';

export async function obtainPassphrase(o: PassphraseOptions): Promise<string> {
  const env = o.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new UsageError(`${PASSPHRASE_ENV} is set but empty.`, { hint: ENV_HINT });
    return fromEnv;
  }

  const interactive = o.interactive ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!interactive) {
    throw new UsageError(`No passphrase: ${PASSPHRASE_ENV} is not set and there is no terminal to ask on.`, {
      hint: ENV_HINT,
    });
  }
  const prompt = o.prompt ?? ttyPrompt();

  let problem = '';
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const question = o.isNewStack
      ? `${problem}Choose a passphrase to encrypt the secrets of instance ${o.instance}: `
      : `${problem}Passphrase for instance ${o.instance}: `;
    const first = await prompt(question);
    if (first === '') {
      problem = 'The passphrase must not be empty. ';
      continue;
    }
    if (!o.isNewStack) return first;
    const second = await prompt('Repeat the passphrase: ');
    if (second === first) return first;
    problem = 'The two entries did not match. ';
  }
  throw new UsageError(`No usable passphrase after ${MAX_ATTEMPTS} attempts (${problem.trim().replace(/\.$/, '')}).`, {
    hint: `Run the command again, or set ${PASSPHRASE_ENV}.`,
  });
}

/**
 * A prompt on a terminal that hides what is typed: readline writes its echo through a sink
 * that is muted once the question has been printed. Ctrl-C rejects with InterruptedError.
 */
export function ttyPrompt(
  input: NodeJS.ReadableStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): PassphrasePrompt {
  return (question) =>
    new Promise<string>((resolve, reject) => {
      let muted = false;
      const sink = new Writable({
        write(chunk, encoding, callback) {
          if (!muted) output.write(chunk, encoding);
          callback();
        },
      });
      const rl = createInterface({ input, output: sink, terminal: true });
      let settled = false;
      rl.on('SIGINT', () => {
        settled = true;
        rl.close();
        output.write('\n');
        reject(new InterruptedError('Interrupted while waiting for the passphrase.'));
      });
      rl.on('close', () => {
        // Ctrl-D or the end of input: nothing more will be typed.
        if (!settled) resolve('');
      });
      rl.question(question, (answer) => {
        settled = true;
        rl.close();
        output.write('\n');
        resolve(answer);
      });
      muted = true;
    });
}
