import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { collectingReporter } from '../../src/progress/events.js';
import { resolveBackend } from '../../src/pulumi/backend.js';
import { s3Store, stackStateKeys, storeFor } from '../../src/pulumi/diy-store.js';
import { clearStalePulumiLocks, localLockEnvironment } from '../../src/pulumi/locks.js';
import { lockEnvironment, memoryLedger, recordHere } from '../support/lock-ledger.js';

const REF = { project: 'lookout-prod', stack: 'prod-infra' };
const BUCKET = 'acme-lookout-state';
const PREFIX = 'teams/obs';
const LOCK_PREFIX = `${PREFIX}/.pulumi/locks/organization/lookout-prod/prod-infra/`;

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return pid;
}

/** GetObject's body as the SDK returns it; only transformToString is used. */
function body(json: unknown): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => JSON.stringify(json) } as unknown as GetObjectCommandOutput['Body'];
}

function lockJson(o: { pid: number; hostname: string; username?: string }) {
  return { pid: o.pid, username: o.username ?? 'ci', hostname: o.hostname, timestamp: '2026-03-02T10:15:07.123456789Z' };
}

describe('Pulumi locks in an S3 backend', () => {
  it('lists under the stack lock prefix (all pages), reads each lock, deletes only the one a dead engine of ours left', async () => {
    const pid = await deadPid();
    s3.on(ListObjectsV2Command).resolvesOnce({
      Contents: [{ Key: `${LOCK_PREFIX}aaa.json` }],
      IsTruncated: true,
      NextContinuationToken: 'page-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({
      Contents: [{ Key: `${LOCK_PREFIX}bbb.json` }],
      IsTruncated: false,
    });
    s3.on(GetObjectCommand, { Key: `${LOCK_PREFIX}aaa.json` }).resolves({ Body: body(lockJson({ pid, hostname: hostname() })) });
    s3.on(GetObjectCommand, { Key: `${LOCK_PREFIX}bbb.json` }).resolves({
      Body: body(lockJson({ pid: 77, hostname: 'build-7', username: 'bob' })),
    });
    s3.on(DeleteObjectCommand).resolves({});
    const reporter = collectingReporter();

    const err = await clearStalePulumiLocks({
      store: s3Store(BUCKET, PREFIX, new S3Client({ region: 'eu-west-1' })),
      instance: 'prod',
      ref: REF,
      env: lockEnvironment(memoryLedger([recordHere('.pulumi/locks/organization/lookout-prod/prod-infra/aaa.json', pid)])),
      reporter,
    }).catch((e: unknown) => e);

    const lists = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(lists).toEqual([
      { Bucket: BUCKET, Prefix: LOCK_PREFIX, ContinuationToken: undefined },
      { Bucket: BUCKET, Prefix: LOCK_PREFIX, ContinuationToken: 'page-2' },
    ]);
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: `${LOCK_PREFIX}aaa.json` },
      { Bucket: BUCKET, Key: `${LOCK_PREFIX}bbb.json` },
    ]);
    expect(s3.commandCalls(DeleteObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: BUCKET, Key: `${LOCK_PREFIX}aaa.json` },
    ]);

    expect(reporter.events).toHaveLength(1);
    expect(reporter.events[0]).toMatchObject({ type: 'log', level: 'warn' });
    expect(JSON.stringify(reporter.events[0])).toContain(`s3://${BUCKET}/${LOCK_PREFIX}aaa.json`);

    expect(err).toBeInstanceOf(FailureError);
    const f = err as FailureError;
    expect(f.message).toContain(`s3://${BUCKET}/${LOCK_PREFIX}bbb.json: held from another machine (bob@build-7, pid 77`);
    expect(f.hint).toContain(`aws s3 rm 's3://${BUCKET}/${LOCK_PREFIX}bbb.json'`);
  });

  it('succeeds quietly when the lock prefix is empty', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    const reporter = collectingReporter();
    await expect(
      clearStalePulumiLocks({ store: s3Store(BUCKET, '', new S3Client({})), instance: 'prod', ref: REF, env: localLockEnvironment(), reporter }),
    ).resolves.toEqual([]);
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input.Prefix).toBe('.pulumi/locks/organization/lookout-prod/prod-infra/');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('skips a lock that disappears between listing and reading (its run just ended)', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `${LOCK_PREFIX}gone.json` }] });
    s3.on(GetObjectCommand).rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
    await expect(
      clearStalePulumiLocks({
        store: s3Store(BUCKET, PREFIX, new S3Client({})),
        instance: 'prod',
        ref: REF,
        env: localLockEnvironment(),
        reporter: collectingReporter(),
      }),
    ).resolves.toEqual([]);
    expect(s3.commandCalls(DeleteObjectCommand)).toHaveLength(0);
  });

  it('explains an access denial on the state bucket', async () => {
    s3.on(ListObjectsV2Command).rejects(
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    const err = await clearStalePulumiLocks({
      store: s3Store(BUCKET, PREFIX, new S3Client({})),
      instance: 'prod',
      ref: REF,
      env: localLockEnvironment(),
      reporter: collectingReporter(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain('Access Denied');
    expect((err as FailureError).message).toContain('list the Pulumi locks');
  });

  it('derives the store from an s3:// backend, with the region of the URL', async () => {
    const regions: Array<string | undefined> = [];
    const store = storeFor(resolveBackend('prod', `s3://${BUCKET}/${PREFIX}?region=eu-west-1`), {
      s3Client: (region) => {
        regions.push(region);
        return new S3Client({ region: region ?? 'us-east-1' });
      },
    });
    expect(regions).toEqual(['eu-west-1']);
    expect(store.location('.pulumi/x.json')).toBe(`s3://${BUCKET}/${PREFIX}/.pulumi/x.json`);

    s3.on(HeadObjectCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    s3.on(HeadObjectCommand, { Key: `${PREFIX}/${stackStateKeys('lookout-prod', 'prod-infra')[0]}` }).resolves({});
    await expect(store.exists(stackStateKeys('lookout-prod', 'prod-infra')[0]!)).resolves.toBe(true);
    await expect(store.exists(stackStateKeys('lookout-prod', 'prod-platform')[0]!)).resolves.toBe(false);
  });
});
