/**
 * Empties and deletes a bucket, for `destroy --delete-data`. Buckets are kept by Pulumi
 * (`retainOnDelete`), so removing the data is always this explicit second action.
 * Idempotent: a bucket that is already gone counts as deleted.
 */
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import { FailureError } from '../../errors.js';
import { explainAwsError, isAwsErrorNamed } from './errors.js';

/** DeleteObjects accepts at most this many keys per request. */
const DELETE_BATCH = 1000;

export interface DeleteBucketResult {
  bucket: string;
  deletedObjects: number;
  existed: boolean;
}

export async function emptyAndDeleteBucket(
  s3: S3Client,
  bucket: string,
  options: { signal?: AbortSignal; onProgress?: (deleted: number) => void } = {},
): Promise<DeleteBucketResult> {
  const { signal } = options;
  let deleted = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  try {
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
        { abortSignal: signal },
      );
      const objects: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
        Key: v.Key!,
        VersionId: v.VersionId,
      }));
      for (let i = 0; i < objects.length; i += DELETE_BATCH) {
        const batch = objects.slice(i, i + DELETE_BATCH);
        const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }), {
          abortSignal: signal,
        });
        if (result.Errors?.length) {
          const first = result.Errors[0]!;
          throw new FailureError(
            `could not delete ${result.Errors.length} object(s) from ${bucket}, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim(),
            { hint: 'Check the bucket policy and object lock settings, then run the command again.' },
          );
        }
        deleted += batch.length;
        options.onProgress?.(deleted);
      }
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return { bucket, deletedObjects: deleted, existed: true };
  } catch (err) {
    if (isAwsErrorNamed(err, 'NoSuchBucket')) return { bucket, deletedObjects: deleted, existed: deleted > 0 };
    throw explainAwsError(err, `deleting bucket ${bucket}`, signal);
  }
}
