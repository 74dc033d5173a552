/**
 * An instance whose state is shared in a GCS bucket (`--state gs://…`), against a real GCS
 * emulator on loopback (fake-gcs-server, which honours `ifGenerationMatch` on uploads): the
 * lock with real processes racing for it and a stale lease taken over, the journal written
 * and read back, a journal write refused once another run wrote, the secrets written from two
 * machines at once, and the Pulumi engine keeping its own state in the same bucket.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSteps } from '../../src/engine/index.js';
import { emptyJournal } from '../../src/engine/journal.js';
import { FailureError } from '../../src/errors.js';
import { silentReporter } from '../../src/progress/events.js';
import { resolveBackend } from '../../src/pulumi/backend.js';
import { stackHasState } from '../../src/pulumi/diy-store.js';
import { gcsStore } from '../../src/pulumi/gcs-store.js';
import { instanceStateKeys, sharedInstanceState } from '../../src/state/shared-instance-state.js';
import { buildDist, type Running } from '../fault/helpers.js';
import { testRecord } from '../support/instance-record.js';
import { expectBothSecretsKept, expectExactlyOneTakesAFreeLock, expectExactlyOneTakesOverAGoneLease, raceForLock } from '../support/shared-state-cases.js';
import { gcsEnvironment, gcsServerBinaries, startGcsServer, type GcsServer } from '../support/gcs-server.js';
import { suiteTitle, testBinaries } from '../support/test-binaries.js';

const BUCKET = 'lookout-team-state';
const binaries = gcsServerBinaries();
const pulumi = testBinaries(['pulumi']);

describe.skipIf(Boolean(binaries.missing))(suiteTitle('shared state in a real GCS emulator', binaries), () => {
  let gcs: GcsServer;
  let work: string;
  let env: Record<string, string>;
  const running: Running[] = [];
  const savedHome = process.env.LOOKOUT_HOME;

  beforeAll(async () => {
    buildDist();
    work = await mkdtemp(join(tmpdir(), 'lookout-shared-gcs-'));
    process.env.LOOKOUT_HOME = join(work, 'home');
    gcs = await startGcsServer({ buckets: [BUCKET] });
    env = gcsEnvironment(gcs);
  });

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.finished.catch(() => undefined)));
    await gcs?.stop();
    if (savedHome === undefined) delete process.env.LOOKOUT_HOME;
    else process.env.LOOKOUT_HOME = savedHome;
    await rm(work, { recursive: true, force: true });
  });

  const bucketStore = (prefix: string) => gcsStore(BUCKET, prefix, async () => gcs.http, gcs.endpoint);
  const stateOf = (prefix: string, name = 'prod', leaseMs = 60_000) => {
    const url = `gs://${BUCKET}/${prefix}`;
    return sharedInstanceState(name, url, resolveBackend(name, url), { store: bucketStore(prefix), lock: { leaseMs } });
  };
  const readObject = async (key: string) => (await bucketStore('').conditional!.get(key))?.text;

  const track = (r: Running) => (running.push(r), r);
  const race = (prefix: string, n: number) => raceForLock({ work, env, stateUrl: `gs://${BUCKET}/${prefix}`, n, track });

  it('creates only where nothing is (ifGenerationMatch=0) and replaces only the generation it read', async () => {
    const o = bucketStore('cas').conditional!;
    const first = await o.create('k', 'one');
    expect(first).toMatch(/^\d+$/);
    await expect(o.create('k', 'two')).resolves.toBeUndefined();
    const second = await o.replace('k', 'two', first!);
    expect(second).toMatch(/^\d+$/);
    expect(second).not.toBe(first);
    // A writer still holding the first generation is refused, and nothing it sent lands.
    await expect(o.replace('k', 'stale', first!)).resolves.toBeUndefined();
    await expect(o.get('k')).resolves.toEqual({ text: 'two', version: second });
    await expect(o.remove('k', second!)).resolves.toBe(true);
    await expect(o.get('k')).resolves.toBeUndefined();
    await expect(o.replace('k', 'gone', second!)).resolves.toBeUndefined();
  });

  it('lets exactly one of several processes take a free lock at once, and tells the others who has it', async () => {
    await expectExactlyOneTakesAFreeLock({
      race: (n) => race('race-free', n),
      n: 4,
      lockText: () => readObject(`race-free/${instanceStateKeys('race').lock}`),
    });
  });

  it('takes over the lease of a machine that is gone, after watching it for a lease, in exactly one process', async () => {
    const key = `race-lease/${instanceStateKeys('race').lock}`;
    await expectExactlyOneTakesOverAGoneLease({
      stateUrl: `gs://${BUCKET}/race-lease`,
      placeLock: (text) => bucketStore('').conditional!.create(key, text),
      race: (n) => race('race-lease', n),
      n: 3,
      lockText: () => readObject(key),
    });
  });

  it('writes the journal under the lock and reads it back from another machine', async () => {
    const a = stateOf('journal');
    await a.writeRecord(testRecord({ stateUrl: `gs://${BUCKET}/journal`, status: 'creating' }));
    const result = await runSteps({
      instance: 'prod',
      command: 'create',
      store: a,
      reporter: silentReporter,
      resume: 'always',
      steps: [
        { name: 'preflight', title: 'Check', run: async () => ({ project: 'acme-obs' }) },
        { name: 'infra', title: 'Infra', run: async () => ({ clusterName: 'lookout-prod' }) },
      ],
    });
    expect(result.outputs).toEqual({ preflight: { project: 'acme-obs' }, infra: { clusterName: 'lookout-prod' } });
    const b = stateOf('journal');
    const journal = await b.readJournal();
    expect(journal!.runs.at(-1)).toMatchObject({ command: 'create', status: 'done' });
    expect(journal!.runs.at(-1)!.steps.map((s) => [s.name, s.status, s.outputs])).toEqual([
      ['preflight', 'done', { project: 'acme-obs' }],
      ['infra', 'done', { clusterName: 'lookout-prod' }],
    ]);
    expect(await b.readLock()).toBeUndefined();
    expect((await b.readRecord())!.provider).toBe('aws');
  });

  it('refuses a journal write once another run wrote the journal (its generation changed)', async () => {
    const a = stateOf('fenced');
    const lock = await a.acquireLock({ command: 'create', instance: 'prod', reporter: silentReporter });
    try {
      const journal = (await a.readJournal()) ?? emptyJournal('prod');
      await a.writeJournal(journal);
      // Someone (a run that broke the lock by hand) writes the journal behind this run's back.
      const key = `fenced/${instanceStateKeys('prod').journal}`;
      const theirs = await bucketStore('').conditional!.get(key);
      await bucketStore('').conditional!.replace(key, theirs!.text.replace('"runs"', '"runs" '), theirs!.version);
      const err = await a.writeJournal(journal).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailureError);
      expect((err as FailureError).message).toContain(`the journal gs://${BUCKET}/${key} was changed by another run`);
    } finally {
      await lock.release();
    }
  });

  it('keeps both secrets when two machines write the secret store at once', async () => {
    await expectBothSecretsKept(bucketStore('secrets'));
  });

  it.skipIf(Boolean(pulumi.missing))(
    suiteTitle('the Pulumi engine keeps its stack state in the same gs:// URL, where Lookout finds it', pulumi),
    async () => {
      const project = join(work, 'project');
      const pulumiHome = join(work, 'pulumi-home');
      await mkdir(project, { recursive: true });
      await writeFile(join(project, 'Pulumi.yaml'), 'name: lookout-prod\nruntime: nodejs\n');
      const store = bucketStore('engine');
      await expect(stackHasState(store, 'lookout-prod', 'prod-infra')).resolves.toBe(false);
      const out = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile(
          pulumi.paths.pulumi!,
          ['stack', 'init', 'organization/lookout-prod/prod-infra', '--non-interactive'],
          {
            cwd: project,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: work,
              PULUMI_HOME: pulumiHome,
              PULUMI_BACKEND_URL: `gs://${BUCKET}/engine`,
              PULUMI_CONFIG_PASSPHRASE: 'pw',
              PULUMI_SKIP_UPDATE_CHECK: 'true',
              ...env,
            },
          },
          (err, stdout, stderr) => resolve({ code: err ? 1 : 0, output: stdout + stderr }),
        ),
      );
      expect(out.code, out.output).toBe(0);
      await expect(stackHasState(store, 'lookout-prod', 'prod-infra')).resolves.toBe(true);
      expect(await store.list('.pulumi/stacks')).toContain('.pulumi/stacks/lookout-prod/prod-infra.json');
    },
  );
});
