import { describe, expect, it } from 'vitest';
import { deleteTenantData, tenantDataLocations, type ObjectVersion, type PrefixObjects } from '../../src/tenants/delete-data.js';

/** Buckets in memory, listed in pages of `pageSize` like S3; `failAfter` deletions throw once (an interrupted run). */
function memoryBuckets(contents: Record<string, string[]>, pageSize = 3) {
  const buckets = new Map(Object.entries(contents).map(([b, keys]) => [b, new Set(keys)]));
  let failAfter: number | undefined;
  const objects: PrefixObjects = {
    async *list(bucket, prefix) {
      const keys = [...(buckets.get(bucket) ?? [])].filter((k) => k.startsWith(prefix)).sort();
      for (let i = 0; i < keys.length; i += pageSize) yield keys.slice(i, i + pageSize).map((key): ObjectVersion => ({ key }));
    },
    async delete(bucket, batch) {
      for (const v of batch) {
        if (failAfter !== undefined && failAfter-- <= 0) {
          failAfter = undefined;
          throw new Error('connection reset');
        }
        buckets.get(bucket)!.delete(v.key);
      }
    },
  };
  return { objects, buckets, interruptAfter: (n: number) => (failAfter = n) };
}

const BUCKETS = { metrics: 'm', logs: 'l', rules: 'r' };
const CONTENTS = {
  m: ['acme/01HBLOCK/index', 'acme/01HBLOCK/chunks/000001', 'acme/bucket-index.json.gz', 'acme.2/01HNEW/index', 'acme-b/01H/index', 'beta/01H/index'],
  r: ['rules/acme/ns/group', 'rules/acme-b/ns/group', 'alerts/acme', 'alerts/acme-b', 'alertmanager/acme/fullstate'],
  l: ['data/acme/abc/1', 'data/acme/abc/2', 'data/acme.2/x/1', 'data/tsdb_index/index_20500/acme/1.tsdb.gz', 'data/tsdb_index/index_20501/acme/2.tsdb.gz', 'data/tsdb_index/index_20501/acme-b/3.tsdb.gz', 'data/tsdb_index/index_20501/beta/4.tsdb.gz', 'rules/acme/ns/g', 'data/beta/q/1'],
};

describe('tenant remove --delete-data', () => {
  it('deletes exactly the tenant id’s objects in every bucket, and reports them by kind', async () => {
    const { objects, buckets } = memoryBuckets(CONTENTS);
    const report = await deleteTenantData(objects, tenantDataLocations('acme', BUCKETS));
    expect([...buckets.get('m')!]).toEqual(['acme.2/01HNEW/index', 'acme-b/01H/index', 'beta/01H/index']);
    expect([...buckets.get('r')!]).toEqual(['rules/acme-b/ns/group', 'alerts/acme-b']);
    expect([...buckets.get('l')!]).toEqual(['data/acme.2/x/1', 'data/tsdb_index/index_20501/acme-b/3.tsdb.gz', 'data/tsdb_index/index_20501/beta/4.tsdb.gz', 'data/beta/q/1']);
    expect(Object.fromEntries(report.map((r) => [r.what, r.deletedObjects]))).toEqual({
      'metric blocks': 3,
      'metric rule groups': 1,
      'Alertmanager config': 1,
      'Alertmanager state': 1,
      'log chunks': 2,
      'log index': 2,
      'log rule groups': 1,
    });
  });

  it('finishes an interrupted deletion when run again', async () => {
    const { objects, buckets, interruptAfter } = memoryBuckets(CONTENTS, 1);
    interruptAfter(4);
    await expect(deleteTenantData(objects, tenantDataLocations('acme', BUCKETS))).rejects.toThrow(/connection reset/);
    expect([...buckets.get('l')!].filter((k) => k.includes('/acme/')).length).toBeGreaterThan(0);
    const second = await deleteTenantData(objects, tenantDataLocations('acme', BUCKETS));
    expect(second.reduce((n, r) => n + r.deletedObjects, 0)).toBeGreaterThan(0);
    for (const keys of buckets.values()) expect([...keys].filter((k) => /(^|\/)acme(\/|$)/.test(k))).toEqual([]);
    const third = await deleteTenantData(objects, tenantDataLocations('acme', BUCKETS));
    expect(third.every((r) => r.deletedObjects === 0)).toBe(true);
  });

  it('deletes a re-created tenant’s generation only', async () => {
    const { objects, buckets } = memoryBuckets(CONTENTS);
    await deleteTenantData(objects, tenantDataLocations('acme.2', BUCKETS));
    expect(buckets.get('m')!.has('acme/01HBLOCK/index')).toBe(true);
    expect(buckets.get('m')!.has('acme.2/01HNEW/index')).toBe(false);
    expect(buckets.get('l')!.has('data/acme.2/x/1')).toBe(false);
  });
});
