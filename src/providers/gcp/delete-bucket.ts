/**
 * Deleting objects in the instance's GCS buckets, through the storage JSON API: every
 * generation under a prefix (for `tenant remove --delete-data`, through the PrefixObjects seam),
 * and a whole bucket with its contents (for `destroy --delete-data`). The buckets are kept by
 * Pulumi (`retainOnDelete`), so removing the data is always this explicit second action.
 * Idempotent: what is already gone counts as deleted.
 */
import { FailureError } from '../../errors.js';
import type { GcsHttp } from '../../pulumi/gcs-store.js';
import { deleteTenantData, type PrefixObjects } from '../../tenants/delete-data.js';
import { explainGoogleError, statusOf } from './preflight.js';

const STORAGE = 'https://storage.googleapis.com/storage/v1/b';
/** Deletes in flight at once: GCS has no multi-object delete in its JSON API, one request per object. */
const PARALLEL = 16;

/** PrefixObjects over GCS: every generation (noncurrent ones too), deleted one request each. */
export function gcsPrefixObjects(http: GcsHttp): PrefixObjects {
  return {
    async *list(bucket, prefix, signal) {
      let pageToken: string | undefined;
      do {
        const page = await http.request<{ items?: Array<{ name: string; generation: string }>; nextPageToken?: string }>({
          url: `${STORAGE}/${encodeURIComponent(bucket)}/o`,
          method: 'GET',
          params: { versions: 'true', fields: 'items(name,generation),nextPageToken', ...(prefix ? { prefix } : {}), ...(pageToken ? { pageToken } : {}) },
          responseType: 'json',
          ...(signal ? { signal } : {}),
        });
        yield (page.data.items ?? []).map((o) => ({ key: o.name, versionId: String(o.generation) }));
        pageToken = page.data.nextPageToken;
      } while (pageToken);
    },
    async delete(bucket, objects, signal) {
      const queue = [...objects];
      const worker = async () => {
        for (let o = queue.shift(); o; o = queue.shift()) {
          try {
            await http.request({
              url: `${STORAGE}/${encodeURIComponent(bucket)}/o/${encodeURIComponent(o.key)}`,
              method: 'DELETE',
              ...(o.versionId ? { params: { generation: o.versionId } } : {}),
              ...(signal ? { signal } : {}),
            });
          } catch (err) {
            if (statusOf(err) !== 404) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARALLEL, objects.length) }, worker));
    },
  };
}

export interface DeleteBucketResult {
  bucket: string;
  deletedObjects: number;
  existed: boolean;
}

/** Empties a bucket (every generation) and deletes it; a bucket already gone counts as deleted. */
export async function emptyAndDeleteGcsBucket(
  http: GcsHttp,
  bucket: string,
  o: { signal?: AbortSignal; onProgress?: (deleted: number) => void } = {},
): Promise<DeleteBucketResult> {
  let deleted = 0;
  try {
    const [report] = await deleteTenantData(gcsPrefixObjects(http), [{ bucket, prefix: '', what: 'every object' }], {
      ...(o.signal ? { signal: o.signal } : {}),
      onProgress: (r) => o.onProgress?.((deleted = r.deletedObjects)),
    });
    deleted = report!.deletedObjects;
    await http.request({ url: `${STORAGE}/${encodeURIComponent(bucket)}`, method: 'DELETE', ...(o.signal ? { signal: o.signal } : {}) });
    return { bucket, deletedObjects: deleted, existed: true };
  } catch (err) {
    if (statusOf(err) === 404) return { bucket, deletedObjects: deleted, existed: deleted > 0 };
    if (statusOf(err) === 409) {
      throw new FailureError(`bucket ${bucket} is not empty after deleting its objects: something still writes to it, or a retention policy holds them`, {
        hint: 'Check the bucket’s retention policy and holds in the console, then run the command again.',
        cause: err,
      });
    }
    throw explainGoogleError(err, `deleting bucket ${bucket}`, o.signal);
  }
}
