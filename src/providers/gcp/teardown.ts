/**
 * What destroying a GCP instance takes besides the shared steps: the credentials must reach the
 * instance's project; once the gateway's Service is deleted, GKE must really delete its
 * forwarding rule and network endpoint groups (the NEGs would block deleting the network);
 * after the platform, deletion protection comes off the cluster (GKE refuses to delete a
 * protected one) and the infra stack goes, with `--delete-data` the buckets are emptied and
 * deleted, and a last scan reports what still carries the instance's label or names.
 */
import type { Step } from '../../engine/index.js';
import { FailureError } from '../../errors.js';
import { BUCKET_PURPOSES, PLATFORM_NAMESPACE } from '../../naming.js';
import type { GcsHttp } from '../../pulumi/gcs-store.js';
import type { InstanceRecord } from '../../state/instance-record.js';
import type { InstanceContext } from '../../steps/context.js';
import type { Teardown } from '../types.js';
import { gcpNames, instanceBucketNames } from './naming.js';
import { explainGoogleError, statusOf, type GoogleHttp } from './preflight.js';
import { gcpConfigOf, gcpLocation } from './settings.js';

/** Google's auth client (Application Default Credentials): GET for the scans, DELETE for the data. */
async function defaultHttp(): Promise<GoogleHttp & GcsHttp> {
  return (await import('./infra-steps.js')).googleHttp();
}

/** The instance's bucket names, derived as the infra stack derives them (the project is the record's account). */
export function gcpDataBuckets(record: Pick<InstanceRecord, 'name' | 'accountId' | 'region'>): string[] {
  const names = instanceBucketNames(record.name, record.accountId, record.region);
  return BUCKET_PURPOSES.map((p) => names[p]);
}

/** True when the instance's GKE cluster no longer exists (an earlier destroy got that far). */
export async function gcpClusterGone(c: Pick<InstanceContext, 'name' | 'config'>, signal: AbortSignal, http: () => Promise<GoogleHttp> = defaultHttp): Promise<boolean> {
  const gcp = gcpConfigOf(c.config);
  const url = `https://container.googleapis.com/v1/projects/${gcp.project}/locations/${gcpLocation(gcp)}/clusters/${gcpNames(c.name).clusterName}`;
  try {
    await (await http()).request({ url, method: 'GET', signal });
    return false;
  } catch (err) {
    if (statusOf(err) === 404) return true;
    throw explainGoogleError(err, 'the GKE cluster lookup', signal);
  }
}

/** First: the credentials work and reach the instance's project. */
export function gcpCredentialsStep(record: InstanceRecord, http: () => Promise<GoogleHttp> = defaultHttp): Step<{ project: string }> {
  return {
    name: 'credentials',
    title: 'Check credentials',
    alwaysRun: true,
    async run(ctx) {
      const project = record.accountId;
      try {
        await (await http()).request({ url: `https://cloudresourcemanager.googleapis.com/v3/projects/${project}`, method: 'GET', signal: ctx.signal });
      } catch (err) {
        if (statusOf(err) === 403 || statusOf(err) === 404) {
          throw new FailureError(`instance "${record.name}" lives in project ${project}, which these credentials cannot see`, {
            hint: 'Use credentials that can manage the instance’s project (`gcloud auth application-default login`).',
          });
        }
        throw explainGoogleError(err, 'the project lookup', ctx.signal);
      }
      return { project };
    },
  };
}

/** The gateway's public address, from the platform stack's outputs; undefined when it never got one. */
async function platformGatewayAddress(c: InstanceContext, signal: AbortSignal): Promise<string | undefined> {
  const { openClusterStack } = await import('../../steps/context.js');
  const stack = await openClusterStack(c, 'platform', async () => ({}), { step: 'load-balancer-gone' });
  await stack.prepare(signal);
  const address = (await stack.outputs()).loadBalancerHostname;
  return typeof address === 'string' && address !== '' ? address : undefined;
}

export interface LoadBalancerWait {
  http?: () => Promise<GoogleHttp>;
  address?: (c: InstanceContext, signal: AbortSignal) => Promise<string | undefined>;
  timing?: { timeoutMs: number; intervalMs: number };
}

/** After the gateway's Service is deleted: waits until GKE has deleted its forwarding rule and NEGs. */
export function gcpLoadBalancerGoneStep(c: InstanceContext, o: LoadBalancerWait = {}): Step<{ address: string | null; waitedMs: number }> {
  const timing = o.timing ?? { timeoutMs: 15 * 60_000, intervalMs: 10_000 };
  return {
    name: 'load-balancer-gone',
    title: 'Wait until GKE has deleted the load balancer',
    async run(ctx) {
      const address = await (o.address ?? platformGatewayAddress)(c, ctx.signal);
      if (!address) return { address: null, waitedMs: 0 };
      const [{ waitUntilLoadBalancerGone }, { GATEWAY_NAMES }] = await Promise.all([import('./teardown-scan.js'), import('@lookout/gateway')]);
      const gcp = gcpConfigOf(c.config);
      const started = Date.now();
      await waitUntilLoadBalancerGone(
        await (o.http ?? defaultHttp)(),
        { project: gcp.project, region: gcp.region, address, networkName: gcpNames(c.name).networkName, service: `${PLATFORM_NAMESPACE}/${GATEWAY_NAMES.publicService}` },
        { timeoutMs: timing.timeoutMs, intervalMs: timing.intervalMs, signal: ctx.signal },
      );
      return { address, waitedMs: Date.now() - started };
    },
  };
}

const CLUSTER_TYPE = 'gcp:container/cluster:Cluster';

/**
 * GKE refuses to delete a cluster whose deletion protection is on, and Pulumi reads the flag
 * from its state: so it is applied off first, by an `up` of the cluster alone (targeted, so
 * nothing that an earlier destroy removed is created again). Skipped when the cluster is no
 * longer in the state or already unprotected.
 */
export function gcpUnprotectStep(c: InstanceContext): Step<{ unprotected: boolean }> {
  return {
    name: 'infra-unprotect',
    title: 'Turn off the cluster’s deletion protection',
    async run(ctx) {
      const { openGcpInfraStack } = await import('./infra-steps.js');
      const stack = await openGcpInfraStack(c, 'infra-unprotect', { deletionProtection: false });
      await stack.prepare(ctx.signal);
      const clusters = stack.resources().filter((r) => r.type === CLUSTER_TYPE && !r.delete && r.inputs?.deletionProtection !== false);
      if (clusters.length === 0) return { unprotected: false };
      await stack.up({ signal: ctx.signal, target: clusters.map((r) => r.urn) });
      return { unprotected: true };
    },
  };
}

export function gcpInfraDestroyStep(c: InstanceContext): Step<{ destroyed: true }> {
  return {
    name: 'infra-destroy',
    title: 'Destroy the cluster, network, service accounts and DNS zone',
    async run(ctx) {
      const { openGcpInfraStack } = await import('./infra-steps.js');
      const stack = await openGcpInfraStack(c, 'infra-destroy', { deletionProtection: false });
      await stack.destroy({ signal: ctx.signal });
      return { destroyed: true };
    },
  };
}

/** `--delete-data`: empties (every generation) and deletes the instance's buckets. */
export function gcpDeleteDataStep(record: InstanceRecord, http: () => Promise<GcsHttp> = defaultHttp): Step<{ deleted: Array<{ bucket: string; objects: number }> }> {
  return {
    name: 'delete-data',
    title: 'Empty and delete the data buckets',
    async run(ctx) {
      const { emptyAndDeleteGcsBucket } = await import('./delete-bucket.js');
      const client = await http();
      const deleted = [];
      for (const bucket of gcpDataBuckets(record)) {
        const result = await emptyAndDeleteGcsBucket(client, bucket, {
          signal: ctx.signal,
          onProgress: (n) => ctx.progress({ message: `${bucket}: ${n} objects deleted` }),
        });
        deleted.push({ bucket, objects: result.deletedObjects });
      }
      return { deleted };
    },
  };
}

/**
 * Last: what still carries the instance's label or names in the project, reported (not an
 * error: the infra stack is gone, and what is left is for a person to look at). Buckets kept
 * on purpose (no `--delete-data`) are not leftovers.
 */
export function gcpLeftoversStep(record: InstanceRecord, o: { deleteData: boolean; http?: () => Promise<GoogleHttp> }): Step<{ leftovers: Array<{ kind: string; name: string }> }> {
  return {
    name: 'leftovers',
    title: 'Look for anything left with the instance’s label',
    alwaysRun: true,
    async run(ctx) {
      const { leftoverScan } = await import('./teardown-scan.js');
      const kept = new Set(o.deleteData ? [] : gcpDataBuckets(record));
      const found = await leftoverScan(await (o.http ?? defaultHttp)(), { project: record.accountId, instance: record.name, signal: ctx.signal });
      const leftovers = found.filter((l) => !(l.kind === 'bucket' && kept.has(l.name)));
      for (const l of leftovers) ctx.log('warn', `still in project ${record.accountId}: ${l.kind} ${l.name}`);
      return { leftovers };
    },
  };
}

export const gcpTeardown: Teardown = {
  before: (record) => [gcpCredentialsStep(record)],
  afterGateway: (c) => [gcpLoadBalancerGoneStep(c)],
  after: (c, { deleteData, record }) => [
    gcpUnprotectStep(c),
    gcpInfraDestroyStep(c),
    ...(deleteData ? [gcpDeleteDataStep(record)] : []),
    gcpLeftoversStep(record, { deleteData }),
  ],
  clusterGone: (c, signal) => gcpClusterGone(c, signal),
  dataBuckets: gcpDataBuckets,
  ownsDataBuckets: true,
  // The A record that sends the tenant hosts to the load balancer goes with it.
  loadBalancerDependents: ['gcp:dns/recordSet:RecordSet'],
};
