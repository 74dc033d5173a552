import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InterruptedError, UsageError } from '../../src/errors.js';
import { PASSPHRASE_ENV, obtainPassphrase, passphraseWeakness, takePassphraseFromEnvironment, ttyPrompt, type PassphrasePrompt } from '../../src/pulumi/passphrase.js';

const SECRET = 'correct horse battery staple';

/** A prompt that answers from a script and records the questions it was asked. */
function scripted(answers: string[]): PassphrasePrompt & { questions: string[] } {
  const questions: string[] = [];
  const fn = (async (question: string) => {
    questions.push(question);
    const next = answers.shift();
    if (next === undefined) throw new Error(`unexpected question: ${question}`);
    return next;
  }) as PassphrasePrompt & { questions: string[] };
  fn.questions = questions;
  return fn;
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('obtainPassphrase', () => {
  it('takes LOOKOUT_PASSPHRASE verbatim without prompting', async () => {
    const prompt = scripted([]);
    const value = ` ${SECRET} `;
    await expect(
      obtainPassphrase({ instance: 'prod', isNewStack: true, env: { [PASSPHRASE_ENV]: value }, interactive: true, prompt }),
    ).resolves.toBe(value);
    expect(prompt.questions).toEqual([]);
  });

  it('rejects an empty LOOKOUT_PASSPHRASE', async () => {
    const err = await rejection(obtainPassphrase({ instance: 'prod', isNewStack: false, env: { [PASSPHRASE_ENV]: '' }, interactive: true }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(`${PASSPHRASE_ENV} is set but empty`);
  });

  it('asks once for an existing stack', async () => {
    const prompt = scripted([SECRET]);
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: false, env: {}, interactive: true, prompt })).resolves.toBe(SECRET);
    expect(prompt.questions).toEqual(['Passphrase for instance prod: ']);
  });

  it('asks twice for a new stack and accepts matching entries', async () => {
    const prompt = scripted([SECRET, SECRET]);
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: true, env: {}, interactive: true, prompt })).resolves.toBe(SECRET);
    expect(prompt.questions).toEqual([
      'Choose a passphrase to encrypt the secrets of instance prod: ',
      'Repeat the passphrase: ',
    ]);
  });

  it('asks again after a confirmation mismatch, saying why', async () => {
    const prompt = scripted([SECRET, 'typo', SECRET, SECRET]);
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: true, env: {}, interactive: true, prompt })).resolves.toBe(SECRET);
    expect(prompt.questions[2]).toMatch(/^The two entries did not match\. Choose a passphrase/);
  });

  it('gives up after three mismatches without echoing any entry', async () => {
    const prompt = scripted([SECRET, 'a', SECRET, 'b', SECRET, 'c']);
    const err = await rejection(obtainPassphrase({ instance: 'prod', isNewStack: true, env: {}, interactive: true, prompt }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('did not match');
    expect(`${err.message} ${(err as UsageError).hint}`).not.toContain(SECRET);
  });

  it('rejects empty answers and asks again', async () => {
    const prompt = scripted(['', SECRET]);
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: false, env: {}, interactive: true, prompt })).resolves.toBe(SECRET);
    expect(prompt.questions[1]).toMatch(/^The passphrase must not be empty\./);

    const empty = scripted(['', '', '']);
    const err = await rejection(obtainPassphrase({ instance: 'prod', isNewStack: false, env: {}, interactive: true, prompt: empty }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('must not be empty');
  });

  it('tells a non-interactive run to set LOOKOUT_PASSPHRASE', async () => {
    const prompt = scripted([SECRET]);
    const err = await rejection(obtainPassphrase({ instance: 'prod', isNewStack: false, env: {}, interactive: false, prompt }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(PASSPHRASE_ENV);
    expect((err as UsageError).hint).toContain(`Set ${PASSPHRASE_ENV}`);
    expect(prompt.questions).toEqual([]);
  });
});

describe('a passphrase chosen for a new instance', () => {
  it.each(['pw', 'password1234', 'Lookout2026!', 'sunshinesunshine', 'qwertyuiopasdf'])('is refused when weak: %s', async (weak) => {
    const err = await rejection(obtainPassphrase({ instance: 'prod', isNewStack: true, env: { [PASSPHRASE_ENV]: weak } }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/^LOOKOUT_PASSPHRASE is too weak to encrypt the secrets of a new instance: /);
    // The rule and the reason.
    expect(err.message).toMatch(/at least (12 are needed|10\^10 are needed)/);
    expect(err.message).toContain('anyone who can read the state backend can attack offline');
    expect(err.message).not.toContain(weak);
  });

  it('is accepted when strong; an existing instance keeps whatever it was created with', async () => {
    await expect(passphraseWeakness(SECRET)).resolves.toBeUndefined();
    await expect(passphraseWeakness('q7#Lm2vX9pTz!w')).resolves.toBeUndefined();
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: false, env: { [PASSPHRASE_ENV]: 'pw' } })).resolves.toBe('pw');
  });

  it('is asked again at the prompt when weak, saying why', async () => {
    const prompt = scripted(['password1234', SECRET, SECRET]);
    await expect(obtainPassphrase({ instance: 'prod', isNewStack: true, env: {}, interactive: true, prompt })).resolves.toBe(SECRET);
    expect(prompt.questions[1]).toMatch(/^That passphrase is too weak: it would be guessed in about 10\^\d tries/);
  });
});

describe('LOOKOUT_PASSPHRASE', () => {
  it('is taken out of the environment, so no child process inherits it', () => {
    const env: NodeJS.ProcessEnv = { [PASSPHRASE_ENV]: SECRET, OTHER: 'kept' };
    takePassphraseFromEnvironment(env);
    expect(env).toEqual({ OTHER: 'kept' });
  });
});

describe('ttyPrompt', () => {
  function terminal() {
    const input = new PassThrough();
    const output = new PassThrough();
    let written = '';
    output.on('data', (chunk: Buffer) => (written += chunk.toString()));
    return { input, output, written: () => written };
  }

  it('shows the question but never echoes what is typed', async () => {
    const t = terminal();
    const answer = ttyPrompt(t.input, t.output)('Passphrase: ');
    t.input.write(`${SECRET}\r`);
    await expect(answer).resolves.toBe(SECRET);
    expect(t.written()).toContain('Passphrase: ');
    expect(t.written()).not.toContain(SECRET);
    expect(t.written()).not.toContain('horse');
  });

  it('turns Ctrl-C into InterruptedError', async () => {
    const t = terminal();
    const answer = ttyPrompt(t.input, t.output)('Passphrase: ');
    t.input.write('abc\u0003');
    const err = await rejection(answer);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(t.written()).not.toContain('abc');
  });
});
