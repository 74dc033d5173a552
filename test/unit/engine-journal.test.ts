import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import {
  HISTORY_LIMIT,
  JOURNAL_VERSION,
  canonicalJson,
  hashInputs,
  latestRun,
  readJournal,
  runSteps,
  type Journal,
} from '../../src/engine/index.js';
import { silentReporter } from '../../src/progress/events.js';

let dir: string;
let journalPath: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookout-journal-'));
  journalPath = join(dir, 'journal.json');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('canonicalJson and hashInputs', () => {
  it('gives the same text for objects that differ only in key order, at every depth', () => {
    const a = { region: 'eu-west-1', sizes: [3, 1], nodes: { min: 1, max: 3 } };
    const b = { nodes: { max: 3, min: 1 }, sizes: [3, 1], region: 'eu-west-1' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"nodes":{"max":3,"min":1},"region":"eu-west-1","sizes":[3,1]}');
    expect(hashInputs(a)).toBe(hashInputs(b));
  });

  it('is the sha256 of the canonical JSON', () => {
    const value = { b: 1, a: [true, null, 'x'] };
    expect(hashInputs(value)).toBe(createHash('sha256').update('{"a":[true,null,"x"],"b":1}').digest('hex'));
  });

  it('tells apart values that differ anywhere, including array order', () => {
    expect(hashInputs({ a: [1, 2] })).not.toBe(hashInputs({ a: [2, 1] }));
    expect(hashInputs({ a: { b: 'x' } })).not.toBe(hashInputs({ a: { b: 'y' } }));
    expect(hashInputs({ a: 1 })).not.toBe(hashInputs({ a: '1' }));
  });

  it('follows JSON for undefined, toJSON and missing inputs', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(canonicalJson({ when: new Date('2024-01-02T03:04:05.000Z') })).toBe('{"when":"2024-01-02T03:04:05.000Z"}');
    expect(hashInputs(undefined)).toBe(hashInputs(null));
  });

  it('refuses values that JSON would lose silently, naming where they are', () => {
    expect(() => canonicalJson({ tags: new Map([['a', 1]]) })).toThrow(/value\.tags is a Map/);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/value\.n is NaN/);
    expect(() => canonicalJson({ big: 10n })).toThrow(/bigint/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cycle/);
    // The same object twice is not a cycle.
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
  });
});

describe('readJournal', () => {
  it('returns undefined when there is no journal yet', async () => {
    expect(await readJournal(journalPath)).toBeUndefined();
  });

  it('reads what runSteps wrote: a versioned, owner-only file with the run and its steps', async () => {
    await runSteps({
      instance: 'prod',
      command: 'create',
      steps: [
        { name: 'a', title: 'Step A', inputs: () => ({ size: 1 }), run: async () => ({ id: 'a-1' }) },
        { name: 'b', title: 'Step B', run: async () => undefined },
      ],
      journalPath,
      lockPath: join(dir, 'lock.json'),
      reporter: silentReporter,
      resume: 'always',
    });
    expect((await stat(journalPath)).mode & 0o777).toBe(0o600);
    const journal = (await readJournal(journalPath))!;
    expect(journal.version).toBe(JOURNAL_VERSION);
    expect(journal.instance).toBe('prod');
    const run = latestRun(journal)!;
    expect(run.command).toBe('create');
    expect(run.status).toBe('done');
    expect(run.plan).toEqual(['a', 'b']);
    expect(run.steps.map((s) => [s.name, s.status, s.attempts])).toEqual([
      ['a', 'done', 1],
      ['b', 'done', 1],
    ]);
    expect(run.steps[0]!.inputsHash).toBe(hashInputs({ size: 1 }));
    expect(run.steps[0]!.outputs).toEqual({ id: 'a-1' });
    expect('outputs' in run.steps[1]!).toBe(false);
    expect(journal.history).toHaveLength(1);
    expect(journal.history[0]).toMatchObject({ runId: run.runId, status: 'done', stepsRun: ['a', 'b'], stepsSkipped: [] });
  });

  it('explains a journal written by a newer lookout, in readJournal and in runSteps', async () => {
    const newer = { version: JOURNAL_VERSION + 1, instance: 'prod', somethingNew: { shape: 'unknown to us' } };
    await writeFile(journalPath, JSON.stringify(newer));
    const err = await readJournal(journalPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain('written by a newer lookout');
    expect((err as FailureError).message).toContain(`format ${JOURNAL_VERSION + 1}`);
    expect((err as FailureError).message).toContain(journalPath);
    expect((err as FailureError).hint).toMatch(/Upgrade lookout/);

    let ran = false;
    const run = runSteps({
      instance: 'prod',
      command: 'create',
      steps: [{ name: 'a', title: 'A', run: async () => void (ran = true) }],
      journalPath,
      lockPath: join(dir, 'lock.json'),
      reporter: silentReporter,
      resume: 'always',
    });
    await expect(run).rejects.toThrow(/written by a newer lookout/);
    expect(ran).toBe(false);
    // The newer journal is left exactly as it was.
    expect(JSON.parse(await readFile(journalPath, 'utf8'))).toEqual(newer);
  });

  it('says where a damaged journal is wrong', async () => {
    await writeFile(journalPath, JSON.stringify({ version: 1, instance: 'prod', runs: [{ runId: 'r' }], history: [] }));
    await expect(readJournal(journalPath)).rejects.toThrow(/journal at .* is damaged at runs\.0\./);
    await writeFile(journalPath, JSON.stringify({ hello: 'world' }));
    await expect(readJournal(journalPath)).rejects.toThrow(/not a lookout journal/);
  });

  it(`keeps only the last ${HISTORY_LIMIT} finished invocations`, async () => {
    const total = HISTORY_LIMIT + 3;
    const runIds: string[] = [];
    for (let i = 0; i < total; i++) {
      const { runId } = await runSteps({
        instance: 'prod',
        command: 'verify',
        steps: [{ name: 'check', title: 'Check', run: async () => i }],
        journalPath,
        lockPath: join(dir, 'lock.json'),
        reporter: silentReporter,
        resume: 'unfinished',
      });
      runIds.push(runId);
    }
    const journal = (await readJournal(journalPath)) as Journal;
    expect(new Set(runIds).size).toBe(total);
    expect(journal.history.map((h) => h.runId)).toEqual(runIds.slice(-HISTORY_LIMIT));
    // Only the current run of the command is kept in full.
    expect(journal.runs.map((r) => r.runId)).toEqual([runIds.at(-1)]);
  });
});
