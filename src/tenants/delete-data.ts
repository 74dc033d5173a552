/**
 * `tenant remove --delete-data`: deletes a removed tenant's objects from the instance's buckets by
 * their key prefixes (every version, since the buckets are versioned). The stores key everything
 * by tenant id, so the id's prefixes hold exactly that tenant's data:
 *
 * - metrics bucket (Cortex blocks): `<id>/` (the compactor treats each top-level prefix as a tenant);
 * - rules bucket (Cortex ruler and Alertmanager): `rules/<id>/`, `alerts/<id>` and `alertmanager/<id>/`;
 * - logs bucket (Loki): chunks `data/<id>/`, the TSDB index `data/tsdb_index/<table>/<id>/`
 *   (one level of tables in between, so that prefix is filtered), and rules `rules/<id>/`.
 *
 * Resumable by construction: each run lists what is left and deletes it, so an interrupted
 * deletion is finished by running the command again. The report says what was deleted where.
 */

/** One place a tenant's data lives. */
export interface DataLocation {
  bucket: string;
  prefix: string;
  what: string;
  /** Keys under `prefix` that are the tenant's (when the prefix alone is wider). */
  belongs?: (key: string) => boolean;
}

export interface ObjectVersion {
  key: string;
  versionId?: string;
}

/** The object store as this deletion needs it; an S3 implementation is below. */
export interface PrefixObjects {
  /** Pages of every version under the prefix. */
  list(bucket: string, prefix: string, signal?: AbortSignal): AsyncIterable<ObjectVersion[]>;
  delete(bucket: string, objects: readonly ObjectVersion[], signal?: AbortSignal): Promise<void>;
}

export interface DeletionReport {
  bucket: string;
  prefix: string;
  what: string;
  deletedObjects: number;
}

export function tenantDataLocations(id: string, buckets: { metrics: string; logs: string; rules: string }): DataLocation[] {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[1-9][0-9]*)?$/.test(id)) throw new Error(`not a tenant id: ${JSON.stringify(id)}`);
  const indexPrefix = 'data/tsdb_index/';
  return [
    { bucket: buckets.metrics, prefix: `${id}/`, what: 'metric blocks' },
    { bucket: buckets.rules, prefix: `rules/${id}/`, what: 'metric rule groups' },
    // `alerts/<id>` is one object (the Alertmanager config): the exact key, not a prefix of others.
    { bucket: buckets.rules, prefix: `alerts/${id}`, what: 'Alertmanager config', belongs: (key) => key === `alerts/${id}` },
    { bucket: buckets.rules, prefix: `alertmanager/${id}/`, what: 'Alertmanager state' },
    { bucket: buckets.logs, prefix: `data/${id}/`, what: 'log chunks' },
    { bucket: buckets.logs, prefix: indexPrefix, what: 'log index', belongs: (key) => key.slice(indexPrefix.length).split('/')[1] === id },
    { bucket: buckets.logs, prefix: `rules/${id}/`, what: 'log rule groups' },
  ];
}

/** DeleteObjects takes at most 1000 keys. */
const BATCH = 1000;

export async function deleteTenantData(
  objects: PrefixObjects,
  locations: readonly DataLocation[],
  o: { signal?: AbortSignal; onProgress?: (report: DeletionReport) => void } = {},
): Promise<DeletionReport[]> {
  const reports: DeletionReport[] = [];
  for (const location of locations) {
    const report: DeletionReport = { bucket: location.bucket, prefix: location.prefix, what: location.what, deletedObjects: 0 };
    for await (const page of objects.list(location.bucket, location.prefix, o.signal)) {
      const mine = location.belongs ? page.filter((v) => location.belongs!(v.key)) : page;
      for (let i = 0; i < mine.length; i += BATCH) {
        const batch = mine.slice(i, i + BATCH);
        await objects.delete(location.bucket, batch, o.signal);
        report.deletedObjects += batch.length;
        o.onProgress?.(report);
      }
    }
    reports.push(report);
  }
  return reports;
}

/** PrefixObjects over S3 (every version and delete marker). */
export async function s3PrefixObjects(s3: import('@aws-sdk/client-s3').S3Client): Promise<PrefixObjects> {
  const { ListObjectVersionsCommand, DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
  return {
    async *list(bucket, prefix, signal) {
      let keyMarker: string | undefined;
      let versionIdMarker: string | undefined;
      for (;;) {
        const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }), {
          ...(signal ? { abortSignal: signal } : {}),
        });
        yield [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ key: v.Key!, ...(v.VersionId ? { versionId: v.VersionId } : {}) }));
        if (!page.IsTruncated) return;
        keyMarker = page.NextKeyMarker;
        versionIdMarker = page.NextVersionIdMarker;
      }
    },
    async delete(bucket, batch, signal) {
      const result = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((v) => ({ Key: v.key, ...(v.versionId ? { VersionId: v.versionId } : {}) })), Quiet: true } }),
        { ...(signal ? { abortSignal: signal } : {}) },
      );
      if (result.Errors?.length) {
        const first = result.Errors[0]!;
        throw new Error(`could not delete ${result.Errors.length} object(s) from ${bucket}, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim());
      }
    },
  };
}
