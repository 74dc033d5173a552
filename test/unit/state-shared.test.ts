/**
 * An instance's lock, journal and record in a shared bucket, over in-memory conditional
 * objects: what the step engine and the commands rely on. (Against a real S3-compatible
 * server, with real processes and the CLI: test/integration/shared-state.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runSteps, type Journal, type Step } from '../../src/engine/index.js';
import { FailureError } from '../../src/errors.js';
import { instancePaths } from '../../src/paths.js';
import { silentReporter } from '../../src/progress/events.js';
import { resolveBackend } from '../../src/pulumi/backend.js';
import type { DiyStore } from '../../src/pulumi/diy-store.js';
import type { InstanceRecord } from '../../src/state/instance-record.js';
import { sharedInstanceState, instanceStateKeys } from '../../src/state/shared-instance-state.js';
import { testRecord } from '../support/instance-record.js';
import { memoryObjects, type MemoryObjects } from '../support/memory-objects.js';

const STATE = 's3://team-state/lookout';
const keys = instanceStateKeys('prod');

let home: string;
const savedHome = process.env.LOOKOUT_HOME;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'lookout-shared-'));
  process.env.LOOKOUT_HOME = home;
});
afterEach(async () => {
  if (savedHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = savedHome;
  await rm(home, { recursive: true, force: true });
});

function bucket(objects: MemoryObjects): DiyStore {
  const unused = () => Promise.reject(new Error('not used by the shared state'));
  return {
    kind: 's3',
    canAccess: true,
    list: unused,
    read: unused,
    write: unused,
    remove: unused,
    exists: unused,
    location: (key) => `s3://team-state/lookout/${key}`,
    removeCommand: (key) => `aws s3 rm 's3://team-state/lookout/${key}'`,
    conditional: objects,
  };
}

/** The state as one machine sees it (each has its own object, as each process would). */
const machine = (objects: MemoryObjects, leaseMs = 60_000) =>
  sharedInstanceState('prod', STATE, resolveBackend('prod', STATE), { store: bucket(objects), lock: { leaseMs } });

const record = (o: Partial<InstanceRecord> = {}) => testRecord({ stateUrl: STATE, status: 'creating', ...o });

const step = (name: string, run: Step['run'] = async () => ({ ok: name })): Step => ({ name, title: `Step ${name}`, run });

describe('the journal and lock of a shared state', () => {
  it('live in the bucket: the run holds the lock there, records every step there, and releases it', async () => {
    const objects = memoryObjects();
    let lockDuringRun: string | undefined;
    await runSteps({
      instance: 'prod',
      command: 'create',
      store: machine(objects),
      reporter: silentReporter,
      resume: 'always',
      steps: [step('one', async () => void (lockDuringRun = objects.objects.get(keys.lock))), step('two')],
    });
    expect(JSON.parse(lockDuringRun!)).toMatchObject({ pid: process.pid, command: 'create', instance: 'prod' });
    expect(objects.objects.has(keys.lock)).toBe(false);
    const journal = JSON.parse(objects.objects.get(keys.journal)!) as Journal;
    expect(journal.runs[0]!.steps.map((s) => [s.name, s.status])).toEqual([['one', 'done'], ['two', 'done']]);
    // Nothing of it on this machine's disk.
    expect(existsSync(instancePaths('prod').journal)).toBe(false);
    expect(existsSync(instancePaths('prod').lock)).toBe(false);
  });

  it('refuse a second machine while the first holds the lock, naming the holder', async () => {
    const objects = memoryObjects();
    const first = machine(objects);
    const lock = await first.acquireLock({ command: 'upgrade', instance: 'prod', reporter: silentReporter });
    try {
      const err = await machine(objects)
        .acquireLock({ command: 'destroy', instance: 'prod', reporter: silentReporter })
        .catch((e: unknown) => e as FailureError);
      expect(err).toBeInstanceOf(FailureError);
      expect((err as FailureError).message).toMatch(/^instance "prod" is locked by another lookout run: `.*` \(PID \d+ on /);
    } finally {
      await lock.release();
    }
  });

  it('stop a run whose journal another run wrote meanwhile, instead of overwriting it', async () => {
    const objects = memoryObjects();
    const err = await runSteps({
      instance: 'prod',
      command: 'upgrade',
      store: machine(objects),
      reporter: silentReporter,
      resume: 'unfinished',
      steps: [
        step('one', async () => {
          // A run that broke the lock by hand writes its journal.
          objects.put(keys.journal, JSON.stringify({ version: 1, instance: 'prod', runs: [], history: [], by: 'someone else' }));
        }),
        step('two'),
      ],
    }).catch((e: unknown) => e as FailureError);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain('was changed by another run while this run held the lock of instance "prod"');
    expect(JSON.parse(objects.objects.get(keys.journal)!).by).toBe('someone else');
  });

  it('stop a run that lost its lock, with why, and write nothing more', async () => {
    const objects = memoryObjects();
    let sawAbort = false;
    const err = await runSteps({
      instance: 'prod',
      command: 'upgrade',
      store: machine(objects, 300),
      reporter: silentReporter,
      resume: 'unfinished',
      steps: [
        step('one', async (ctx) => {
          objects.put(keys.lock, JSON.stringify({ ...JSON.parse(objects.objects.get(keys.lock)!), token: 'theirs', holder: 'lookout destroy prod' }));
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          sawAbort = true;
          throw ctx.signal.reason;
        }),
        step('two'),
      ],
    }).catch((e: unknown) => e as FailureError);
    expect(sawAbort).toBe(true);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toMatch(/^this run no longer holds the lock of instance "prod" .*: it is now held by `lookout destroy prod`/);
    // The other holder's lock stays.
    expect(JSON.parse(objects.objects.get(keys.lock)!).token).toBe('theirs');
  });
});

describe('the record of a shared state', () => {
  it('is written to the bucket, with a pointer to it on this machine', async () => {
    const objects = memoryObjects();
    await machine(objects).writeRecord(record());
    expect(JSON.parse(objects.objects.get(keys.record)!)).toEqual(record());
    expect(JSON.parse(readFileSync(instancePaths('prod').instanceRecord, 'utf8'))).toEqual({ version: 1, name: 'prod', stateUrl: STATE, status: 'creating' });
    await expect(machine(objects).readRecord()).resolves.toEqual(record());
  });

  it('is updated on the newest version: a change another machine made meanwhile is kept', async () => {
    const objects = memoryObjects();
    const state = machine(objects);
    await state.writeRecord(record());
    objects.before('replace', () => void objects.put(keys.record, JSON.stringify(record({ adminPrincipalArn: 'arn:aws:iam::111122223333:role/admin' }))));
    const updated = await state.updateRecord({ status: 'ready' });
    expect(updated).toMatchObject({ status: 'ready', adminPrincipalArn: 'arn:aws:iam::111122223333:role/admin' });
    expect(JSON.parse(objects.objects.get(keys.record)!)).toMatchObject({ status: 'ready', adminPrincipalArn: 'arn:aws:iam::111122223333:role/admin' });
  });

  it('is read from the full local record an older lookout left on the creating machine, until the bucket has one', async () => {
    const objects = memoryObjects();
    await mkdir(instancePaths('prod').dir, { recursive: true });
    await writeFile(instancePaths('prod').instanceRecord, JSON.stringify(record({ status: 'ready' })));
    await writeFile(instancePaths('prod').journal, JSON.stringify({ version: 1, instance: 'prod', runs: [], history: [] }));
    const state = machine(objects);
    await expect(state.readRecord()).resolves.toMatchObject({ status: 'ready' });
    await expect(state.readJournal()).resolves.toEqual({ version: 1, instance: 'prod', runs: [], history: [] });
    await state.updateRecord({ status: 'upgrading' });
    expect(JSON.parse(objects.objects.get(keys.record)!)).toMatchObject({ status: 'upgrading', region: 'eu-west-1' });
    expect(JSON.parse(readFileSync(instancePaths('prod').instanceRecord, 'utf8'))).toEqual({ version: 1, name: 'prod', stateUrl: STATE, status: 'upgrading' });
  });

  it('says where it looked when there is none', async () => {
    const err = await machine(memoryObjects()).updateRecord({ status: 'ready' }).catch((e: unknown) => e as Error);
    expect((err as Error).message).toBe(`no instance named "prod" is in ${STATE} (looked for s3://team-state/lookout/.lookout/prod/instance.json)`);
  });
});
