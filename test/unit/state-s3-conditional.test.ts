/** The S3 requests behind the shared state's conditional writes, against a mocked client. */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { s3Store } from '../../src/pulumi/diy-store.js';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const objects = () => s3Store('team-state', 'lookout', new S3Client({ region: 'eu-west-1' })).conditional!;
const KEY = '.lookout/prod/lock.json';
const FULL_KEY = `lookout/${KEY}`;

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

function body(text: string): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body'];
}

describe('conditional writes on S3', () => {
  it('creates with If-None-Match: *, encrypted at rest, and returns the ETag', async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"v1"' });
    await expect(objects().create(KEY, 'lock')).resolves.toBe('"v1"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'team-state',
      Key: FULL_KEY,
      Body: 'lock',
      ServerSideEncryption: 'AES256',
      IfNoneMatch: '*',
    });
  });

  it('reports an existing object (412) as a create that did not happen', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves({ Body: body('their lock'), ETag: '"theirs"' });
    await expect(objects().create(KEY, 'lock')).resolves.toBeUndefined();
  });

  it('counts a write as done when its condition failed because an earlier attempt of it went through', async () => {
    // The SDK retried after losing the answer to an attempt that had succeeded.
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves({ Body: body('lock'), ETag: '"v1"' });
    await expect(objects().create(KEY, 'lock')).resolves.toBe('"v1"');
    await expect(objects().replace(KEY, 'lock', '"v0"')).resolves.toBe('"v1"');
  });

  it('replaces with If-Match: <ETag>; a changed (412) or vanished (404) object is a replace that did not happen', async () => {
    s3.on(PutObjectCommand).resolvesOnce({ ETag: '"v2"' }).rejectsOnce(s3Error('PreconditionFailed', 412)).rejectsOnce(s3Error('NoSuchKey', 404));
    s3.on(GetObjectCommand).resolvesOnce({ Body: body('their renewal'), ETag: '"v9"' }).rejectsOnce(s3Error('NoSuchKey', 404));
    const o = objects();
    await expect(o.replace(KEY, 'renewed', '"v1"')).resolves.toBe('"v2"');
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({ Key: FULL_KEY, IfMatch: '"v1"', ServerSideEncryption: 'AES256' });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.IfNoneMatch).toBeUndefined();
    await expect(o.replace(KEY, 'renewed', '"v1"')).resolves.toBeUndefined();
    await expect(o.replace(KEY, 'renewed', '"v1"')).resolves.toBeUndefined();
  });

  it('retries a 409 ConditionalRequestConflict, which S3 returns while another conditional write is in flight', async () => {
    s3.on(PutObjectCommand).rejectsOnce(s3Error('ConditionalRequestConflict', 409)).resolves({ ETag: '"v1"' });
    await expect(objects().create(KEY, 'lock')).resolves.toBe('"v1"');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('deletes with If-Match: <ETag>: false when it changed, true when gone', async () => {
    s3.on(DeleteObjectCommand).resolvesOnce({}).rejectsOnce(s3Error('PreconditionFailed', 412)).rejectsOnce(s3Error('NoSuchKey', 404));
    const o = objects();
    await expect(o.remove(KEY, '"v1"')).resolves.toBe(true);
    expect(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'team-state', Key: FULL_KEY, IfMatch: '"v1"' });
    await expect(o.remove(KEY, '"v1"')).resolves.toBe(false);
    await expect(o.remove(KEY, '"v1"')).resolves.toBe(true);
  });

  it('reads the content with its ETag as the version, and nothing for a missing key', async () => {
    s3.on(GetObjectCommand).resolvesOnce({ Body: body('{"a":1}'), ETag: '"v7"' }).rejectsOnce(s3Error('NoSuchKey', 404));
    const o = objects();
    await expect(o.get(KEY)).resolves.toEqual({ text: '{"a":1}', version: '"v7"' });
    await expect(o.get(KEY)).resolves.toBeUndefined();
  });

  it('passes other errors on (access denied, throttling)', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(objects().create(KEY, 'lock')).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
