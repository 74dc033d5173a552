/**
 * An instance whose state is shared in a bucket (`--state s3://…`), against a real
 * S3-compatible server on loopback (the Versity S3 Gateway, which honours If-None-Match and
 * If-Match): the lock with real processes racing for it, the secrets written from two
 * machines at once, and the CLI finding and refusing an instance from a second machine.
 * A "machine" is a LOOKOUT_HOME of its own: nothing but the bucket is shared between them.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor as pWaitFor } from '../../src/wait-for.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { runSteps, type Journal } from '../../src/engine/index.js';
import { silentReporter } from '../../src/progress/events.js';
import { resolveBackend } from '../../src/pulumi/backend.js';
import { s3Store } from '../../src/pulumi/diy-store.js';
import { instanceStateKeys, sharedInstanceState } from '../../src/state/shared-instance-state.js';
import { buildDist, start, type Running } from '../fault/helpers.js';
import { testRecord } from '../support/instance-record.js';
import { expectBothSecretsKept, expectExactlyOneTakesAFreeLock, expectExactlyOneTakesOverAGoneLease, raceForLock } from '../support/shared-state-cases.js';
import { s3Environment, s3ServerBinaries, startS3Server, type S3Server } from '../support/s3-server.js';
import { suiteTitle } from '../support/test-binaries.js';

const BUCKET = 'lookout-team-state';
const binaries = s3ServerBinaries();
const root = new URL('../..', import.meta.url).pathname;

describe.skipIf(Boolean(binaries.missing))(suiteTitle('shared state in a real S3-compatible bucket', binaries), () => {
  let s3: S3Server;
  let work: string;
  /** Answers nothing: AWS APIs other than S3 (STS) hang there, and nothing leaves loopback. */
  let silent: Server;
  const sockets = new Set<Socket>();
  let env: Record<string, string>;
  const running: Running[] = [];

  beforeAll(async () => {
    buildDist();
    work = await mkdtemp(join(tmpdir(), 'lookout-shared-state-'));
    s3 = await startS3Server({ buckets: [BUCKET] });
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    env = {
      ...s3Environment(s3),
      // Every AWS API but S3 goes to the silent server.
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: join(work, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
    };
  });

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => r.finished.catch(() => undefined)));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await s3?.stop();
    await rm(work, { recursive: true, force: true });
  });

  const track = (r: Running) => (running.push(r), r);
  const bucketStore = (prefix: string) => s3Store(BUCKET, prefix, s3.client);
  const stateOf = (prefix: string, name = 'prod') => {
    const url = `s3://${BUCKET}/${prefix}`;
    return sharedInstanceState(name, url, resolveBackend(name, url), { store: bucketStore(prefix) });
  };
  const readObject = async (key: string) => (await bucketStore('').conditional!.get(key))?.text;

  const race = (prefix: string, n: number, extra: Record<string, string> = {}) =>
    raceForLock({ work, env: { ...env, ...extra }, stateUrl: `s3://${BUCKET}/${prefix}`, n, track });

  it('lets exactly one of several processes take a free lock at once, and tells the others who has it', async () => {
    await expectExactlyOneTakesAFreeLock({
      race: (n) => race('race-free', n),
      n: 5,
      lockText: () => readObject(`race-free/${instanceStateKeys('race').lock}`),
    });
  });

  it('lets exactly one of several processes take over the lease of a machine that is gone, after watching it for a lease', async () => {
    const key = `race-lease/${instanceStateKeys('race').lock}`;
    await expectExactlyOneTakesOverAGoneLease({
      stateUrl: `s3://${BUCKET}/race-lease`,
      placeLock: (text) => bucketStore('').conditional!.create(key, text),
      race: (n) => race('race-lease', n),
      n: 4,
      lockText: () => readObject(key),
    });
  });

  it('keeps both secrets when two machines write the secret store at once', async () => {
    await expectBothSecretsKept(bucketStore('secrets'));
  });

  describe('the CLI on two machines sharing one state', () => {
    const STATE = `s3://${BUCKET}/team`;
    let machineA: string;
    let machineB: string;

    function lookout(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [join(root, 'bin/lookout'), ...args],
          { env: { ...process.env, ...env, LOOKOUT_HOME: home, LOOKOUT_PASSPHRASE: 'correct horse battery staple' } },
          (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    }

    beforeAll(async () => {
      machineA = await mkdtemp(join(work, 'machine-a-'));
      machineB = await mkdtemp(join(work, 'machine-b-'));
      // Machine A created the instance: its record and journal are in the bucket.
      process.env.LOOKOUT_HOME = machineA;
      try {
        const config = parseConfigText('aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: obs.example.com\n', 'x.yaml', {
          provider: 'aws',
          name: 'prod',
        });
        const state = stateOf('team');
        await state.writeRecord(testRecord({ stateUrl: STATE, config }));
        await runSteps({
          instance: 'prod',
          command: 'create',
          store: state,
          reporter: silentReporter,
          resume: 'always',
          steps: [{ name: 'preflight', title: 'Check credentials, region, quotas and names', run: async () => ({ accountId: '111122223333' }) }],
        });
      } finally {
        delete process.env.LOOKOUT_HOME;
      }
    });

    it('finds the instance from a machine that has never seen it, with --state, for status, upgrade and destroy', async () => {
      const status = await lookout(['status', 'prod', '--state', STATE, '--json'], machineB);
      expect(status.code, status.stderr).toBe(0);
      const result = JSON.parse(status.stdout) as { instance: { name: string; region: string }; journal: Journal; running: null };
      expect(result.instance).toMatchObject({ name: 'prod', region: 'eu-west-1' });
      expect(result.journal.runs[0]!.steps.map((s) => s.name)).toEqual(['preflight']);
      expect(result.running).toBeNull();
      // Both get as far as asking for confirmation, which needs the record.
      for (const command of ['upgrade', 'destroy']) {
        const r = await lookout([command, 'prod', '--state', STATE], machineB);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/needs confirmation, and there is no terminal/);
      }
      // Without --state that machine knows nothing, and says how to point it at the bucket.
      const unknown = await lookout(['status', 'prod'], machineB);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('no instance named "prod" is known on this machine');
      expect(unknown.stderr).toContain('pass --state with the bucket its state is in');
    });

    it('refuses a second machine while the first runs, naming the first; the first keeps the lock until it stops', async () => {
      // Machine A destroys; its first step waits on STS (the silent server), holding the lock.
      const first = track(start(join(root, 'bin/lookout'), ['destroy', 'prod', '--yes', '--json'], { ...env, LOOKOUT_HOME: machineA, LOOKOUT_PASSPHRASE: 'correct horse battery staple' }));
      await first.waitForLine(/"type":"step-started".*"step":"credentials"/, 30_000);
      const lockKey = `team/${instanceStateKeys('prod').lock}`;
      expect(JSON.parse((await readObject(lockKey))!)).toMatchObject({ command: 'destroy', pid: first.child.pid });

      const second = await lookout(['destroy', 'prod', '--yes', '--state', STATE], machineB);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('error: instance "prod" is locked by another lookout run: `lookout destroy prod --yes --json`');
      expect(second.stderr).toContain(`(PID ${first.child.pid} on ${hostname()}`);
      expect(second.stderr).not.toMatch(/^\s+at /m);

      const status = await lookout(['status', 'prod', '--state', STATE], machineB);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/running +`lookout destroy prod --yes --json` \(PID \d+ on .*\), last renewed \d+s ago by its clock \(taken over once not renewed for 2m 00s\)/);

      first.child.kill('SIGINT');
      const stopped = await first.finished;
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(await readObject(lockKey)).toBeUndefined();
      const journal = JSON.parse((await readObject(`team/${instanceStateKeys('prod').journal}`))!) as Journal;
      expect(journal.runs.find((r) => r.command === 'destroy')).toMatchObject({ status: 'interrupted', steps: [expect.objectContaining({ name: 'credentials' })] });
      // Nothing of it stayed on either machine but machine A's pointer to the bucket.
      expect(existsSync(join(machineA, 'prod', 'journal.json'))).toBe(false);
      expect(existsSync(join(machineB, 'prod', 'journal.json'))).toBe(false);
    });
  });
});
