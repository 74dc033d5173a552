/**
 * What destroying an instance in a user's cluster takes besides the shared steps: nothing
 * before (the stacks' own credentials are checked by their first call), nothing to wait for
 * after the gateway (a cluster's load balancer is its own business), and no infrastructure
 * after the platform. The buckets are the user's: Lookout never created them and never
 * deletes them or their data.
 */
import type { Step } from '../../engine/index.js';
import type { InstanceRecord } from '../../state/instance-record.js';
import type { Teardown } from '../types.js';
import { removeRecordsStep } from './dns-records.js';
import { kubernetesConfigOf } from './settings.js';

export function dataBuckets(record: Pick<InstanceRecord, 'config'>): string[] {
  const b = kubernetesConfigOf(record.config).objectStorage.buckets;
  return [b.metrics, b.logs, b.rules];
}

/** `--delete-data` on buckets Lookout does not own: say so, and leave them alone. */
function keepUserBucketsStep(record: InstanceRecord): Step<{ kept: string[] }> {
  return {
    name: 'delete-data',
    title: 'Leave the buckets you provided',
    async run(ctx) {
      const kept = dataBuckets(record);
      ctx.log('warn', `The buckets ${kept.join(', ')} are yours (kubernetes.objectStorage): Lookout did not create them and does not delete their data. Empty them with your store's tools.`);
      return { kept };
    },
  };
}

export const kubernetesTeardown: Teardown = {
  before: () => [],
  afterGateway: () => [],
  after: (c, { deleteData, record }) => [
    ...(kubernetesConfigOf(record.config).dnsRecords === 'rfc2136' ? [removeRecordsStep(c)] : []),
    ...(deleteData ? [keepUserBucketsStep(record)] : []),
  ],
  // The cluster is the user's and outlives the instance; its objects are always really deleted.
  clusterGone: async () => false,
  dataBuckets,
  ownsDataBuckets: false,
  loadBalancerDependents: [],
};
