/**
 * The passphrase that encrypts an instance's secrets in the Pulumi state. It comes from
 * LOOKOUT_PASSPHRASE or, on a terminal, from a prompt that does not echo. The CLI takes the
 * variable out of its own environment as it starts (takePassphraseFromEnvironment), so no
 * child process inherits it (nsupdate, workers, credential helpers); it is handed to the
 * Pulumi engine alone, as PULUMI_CONFIG_PASSPHRASE in the workspace environment. This module
 * never writes, logs or puts it into an error message.
 *
 * A passphrase chosen for a new instance must be strong: it encrypts the tenants' tokens, the
 * Grafana passwords and the certificate and ACME keys, in state that anyone who can read the
 * state backend (often a shared bucket) can attack offline, as fast as their hardware allows.
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

/** Taken out of the environment once; undefined when it was never set. */
let takenFromEnvironment: string | undefined;

/**
 * Moves LOOKOUT_PASSPHRASE from the environment into this module, so that no child process
 * started from now on inherits it. The CLI calls it first thing; obtainPassphrase calls it too.
 */
export function takePassphraseFromEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  if (env[PASSPHRASE_ENV] === undefined) return;
  takenFromEnvironment = env[PASSPHRASE_ENV];
  delete env[PASSPHRASE_ENV];
}

/** A chosen passphrase must be at least this long... */
export const MIN_PASSPHRASE_LENGTH = 12;
/** ...and take at least this many guesses by zxcvbn's estimate (its top score, 4). */
export const MIN_PASSPHRASE_GUESSES_LOG10 = 10;

/**
 * Why a passphrase chosen for a new instance is too weak, or undefined when it is strong
 * enough. The estimate is zxcvbn's (dictionaries of common passwords, keyboard patterns,
 * repeats, sequences, dates); the library is loaded only here.
 */
export async function passphraseWeakness(passphrase: string): Promise<string | undefined> {
  const why =
    'it encrypts the tenants\' tokens and the instance\'s keys in state that anyone who can read the state backend can attack offline';
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    return `it has ${[...passphrase].length} characters and at least ${MIN_PASSPHRASE_LENGTH} are needed, because ${why}`;
  }
  const [{ ZxcvbnFactory }, common] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common')]);
  const result = new ZxcvbnFactory({ dictionary: { ...common.dictionary }, graphs: common.adjacencyGraphs }).check(passphrase);
  if (result.guessesLog10 >= MIN_PASSPHRASE_GUESSES_LOG10) return undefined;
  const pattern = result.sequence.find((m) => m.pattern !== 'bruteforce')?.pattern;
  return (
    `it would be guessed in about 10^${Math.floor(result.guessesLog10)} tries` +
    (pattern ? ` (it is made of a ${pattern === 'dictionary' ? 'common word or password' : pattern} pattern)` : '') +
    `, and at least 10^${MIN_PASSPHRASE_GUESSES_LOG10} are needed, because ${why}`
  );
}

const STRONG_HINT =
  'Use four or more random words (for example from a diceware list), or a long password from a password manager; keep it somewhere safe.';

const ENV_HINT =
  `Set ${PASSPHRASE_ENV} to the passphrase that encrypts this instance's secrets. For a new instance, choose ` +
  'one and keep it somewhere safe: it cannot be recovered, and every later command on the instance needs it.';

export async function obtainPassphrase(o: PassphraseOptions): Promise<string> {
  if (!o.env) takePassphraseFromEnvironment();
  const fromEnv = o.env ? o.env[PASSPHRASE_ENV] : takenFromEnvironment;
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new UsageError(`${PASSPHRASE_ENV} is set but empty.`, { hint: ENV_HINT });
    const weakness = o.isNewStack ? await passphraseWeakness(fromEnv) : undefined;
    if (weakness) {
      throw new UsageError(`${PASSPHRASE_ENV} is too weak to encrypt the secrets of a new instance: ${weakness}.`, { hint: STRONG_HINT });
    }
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
    const weakness = await passphraseWeakness(first);
    if (weakness) {
      problem = `That passphrase is too weak: ${weakness}. ${STRONG_HINT}\n`;
      continue;
    }
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
