import { describe, expect, it } from 'vitest';
import { BUCKET_ROLE, BucketAccessIdentity, workloadIdentityMember } from '../src/bucket-access-identity.js';
import { DnsZone } from '../src/dns-zone.js';
import { ObservabilityBuckets } from '../src/observability-buckets.js';
import { PROJECT, keyOf, ofType, oneOf, runWithGcpMocks } from './support.js';

const names = { metrics: 'acme-metrics', logs: 'acme-logs', rules: 'acme-rules' };

describe('ObservabilityBuckets', () => {
  it('make three buckets with uniform access, public access prevention, an expiry past the retention, kept on delete', async () => {
    const run = await runWithGcpMocks(async () => {
      const b = new ObservabilityBuckets('storage', { project: PROJECT, location: 'europe-west1', bucketNames: names, longestRetentionDays: { metrics: 395, logs: 30 } });
      return { names: b.bucketNames };
    });
    const buckets = ofType(run.resources, 'gcp:storage/bucket:Bucket');
    expect(buckets.map((b) => b.inputs.name).sort()).toEqual(['acme-logs', 'acme-metrics', 'acme-rules']);
    for (const bucket of buckets) {
      expect(bucket.inputs).toMatchObject({ location: 'EUROPE-WEST1', uniformBucketLevelAccess: true, publicAccessPrevention: 'enforced', forceDestroy: false });
      expect(run.options.get(keyOf(bucket))!.retainOnDelete).toBe(true);
    }
    const expiry = (name: string) => buckets.find((b) => b.inputs.name === name)!.inputs.lifecycleRules.find((r: any) => r.action.type === 'Delete')?.condition.age;
    expect([expiry('acme-metrics'), expiry('acme-logs'), expiry('acme-rules')]).toEqual([402, 37, undefined]);
    expect(run.outputs.names).toEqual(names);
  });

  it('refuse a retention that is not a whole number of days', () => {
    expect(() => new ObservabilityBuckets('s', { project: PROJECT, location: 'x', bucketNames: names, longestRetentionDays: { metrics: 0, logs: 3 } })).toThrow(
      /longestRetentionDays.metrics must be a whole number ≥ 1/,
    );
  });
});

describe('BucketAccessIdentity', () => {
  it('binds one Kubernetes service account, and gives object access on its own buckets only', async () => {
    const run = await runWithGcpMocks(async () => {
      const id = new BucketAccessIdentity('cortex', {
        project: PROJECT,
        accountId: 'lk-prod-cortex',
        workloadPool: 'acme-obs.svc.id.goog',
        serviceAccount: { namespace: 'lookout', name: 'cortex' },
        bucketNames: ['acme-metrics'],
      });
      return { annotations: id.serviceAccountAnnotations };
    });
    const email = `lk-prod-cortex@${PROJECT}.iam.gserviceaccount.com`;
    const binding = oneOf(run.resources, 'gcp:serviceaccount/iAMBinding:IAMBinding').inputs;
    expect(binding).toEqual({
      serviceAccountId: `projects/${PROJECT}/serviceAccounts/${email}`,
      role: 'roles/iam.workloadIdentityUser',
      members: ['serviceAccount:acme-obs.svc.id.goog[lookout/cortex]'],
    });
    expect(ofType(run.resources, 'gcp:storage/bucketIAMMember:BucketIAMMember').map((m) => m.inputs)).toEqual([
      { bucket: 'acme-metrics', role: BUCKET_ROLE, member: `serviceAccount:${email}` },
    ]);
    expect(ofType(run.resources, 'gcp:projects/iAMMember:IAMMember')).toEqual([]);
    expect(run.outputs.annotations).toEqual({ 'iam.gke.io/gcp-service-account': email });
    expect(workloadIdentityMember('p.svc.id.goog', { namespace: 'a', name: 'b' })).toBe('serviceAccount:p.svc.id.goog[a/b]');
  });

  it('refuses an account id GCP would refuse', () => {
    const args = { project: PROJECT, workloadPool: 'p', serviceAccount: { namespace: 'a', name: 'b' }, bucketNames: ['x'] };
    expect(() => new BucketAccessIdentity('i', { ...args, accountId: 'lk-a-very-long-instance-name-cortex' })).toThrow(/accountId must be 6–30/);
  });
});

describe('DnsZone', () => {
  it('makes a public zone, and delegates to it from a parent zone in the project', async () => {
    const run = await runWithGcpMocks(async () => {
      const z = new DnsZone('dns', { project: PROJECT, zoneName: 'lookout-prod', domain: 'obs.example.com', parentZoneName: 'example-com' });
      return { ns: z.nameServers, delegated: z.delegated };
    });
    expect(oneOf(run.resources, 'gcp:dns/managedZone:ManagedZone').inputs).toMatchObject({ name: 'lookout-prod', dnsName: 'obs.example.com.', visibility: 'public', forceDestroy: false });
    expect(run.outputs.ns).toHaveLength(4);
    expect(oneOf(run.resources, 'gcp:dns/recordSet:RecordSet').inputs).toEqual({
      project: PROJECT,
      managedZone: 'example-com',
      name: 'obs.example.com.',
      type: 'NS',
      ttl: 300,
      rrdatas: run.outputs.ns,
    });
    expect(run.outputs.delegated).toBe(true);
  });

  it('writes no delegation without a parent zone', async () => {
    const run = await runWithGcpMocks(async () => new DnsZone('dns', { project: PROJECT, zoneName: 'lookout-prod', domain: 'obs.example.com' }).delegated);
    expect(ofType(run.resources, 'gcp:dns/recordSet:RecordSet')).toEqual([]);
  });
});
