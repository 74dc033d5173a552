import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { emptyAndDeleteBucket } from '../../src/providers/aws/delete-bucket.js';
import { FailureError } from '../../src/errors.js';

const s3 = mockClient(S3Client);
const client = () => new S3Client({ region: 'eu-west-1' });

beforeEach(() => s3.reset());

describe('emptyAndDeleteBucket', () => {
  it('deletes every version and delete marker across pages, in batches of at most 1000, then the bucket', async () => {
    const versions = Array.from({ length: 1500 }, (_, i) => ({ Key: `k${i}`, VersionId: `v${i}` }));
    s3.on(ListObjectVersionsCommand, { Bucket: 'b', KeyMarker: undefined, VersionIdMarker: undefined }).resolves({
      Versions: versions,
      DeleteMarkers: [{ Key: 'gone', VersionId: 'dm1' }],
      IsTruncated: true,
      NextKeyMarker: 'k1499',
      NextVersionIdMarker: 'v1499',
    });
    s3.on(ListObjectVersionsCommand, { Bucket: 'b', KeyMarker: 'k1499', VersionIdMarker: 'v1499' }).resolves({
      Versions: [{ Key: 'last', VersionId: 'vl' }],
      IsTruncated: false,
    });
    s3.on(DeleteObjectsCommand).resolves({});
    s3.on(DeleteBucketCommand).resolves({});
    const progress: number[] = [];
    const result = await emptyAndDeleteBucket(client(), 'b', { onProgress: (n) => progress.push(n) });

    expect(result).toEqual({ bucket: 'b', deletedObjects: 1502, existed: true });
    const batches = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!.Objects!);
    expect(batches.map((b) => b.length)).toEqual([1000, 501, 1]);
    expect(batches.flat()).toContainEqual({ Key: 'gone', VersionId: 'dm1' });
    expect(progress).toEqual([1000, 1501, 1502]);
    // The bucket goes last, after it is empty.
    const order = s3.calls().map((c) => c.args[0].constructor.name);
    expect(order.at(-1)).toBe('DeleteBucketCommand');
  });

  it('is idempotent: a bucket that is already gone counts as deleted', async () => {
    s3.on(ListObjectVersionsCommand).rejects(Object.assign(new Error('nope'), { name: 'NoSuchBucket' }));
    await expect(emptyAndDeleteBucket(client(), 'b')).resolves.toEqual({ bucket: 'b', deletedObjects: 0, existed: false });
    expect(s3.commandCalls(DeleteBucketCommand)).toHaveLength(0);
  });

  it('stops and names the object when S3 refuses to delete some, keeping the bucket', async () => {
    s3.on(ListObjectVersionsCommand).resolves({ Versions: [{ Key: 'locked', VersionId: 'v' }], IsTruncated: false });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'locked', Code: 'AccessDenied', Message: 'object lock' }] });
    const err = await emptyAndDeleteBucket(client(), 'b').catch((e) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toMatch(/could not delete 1 object\(s\) from b, e.g. locked: AccessDenied object lock/);
    expect(s3.commandCalls(DeleteBucketCommand)).toHaveLength(0);
  });
});
