/**
 * What destroying an AWS instance takes besides the shared steps: the credentials must be for
 * the instance's account; once the gateway's Service is deleted, AWS must really delete its
 * NLB (its network interfaces would block deleting the VPC); after the platform, the infra
 * stack goes, and with `--delete-data` the buckets are emptied and deleted.
 */
import type { Step } from '../../engine/index.js';
import { FailureError } from '../../errors.js';
import { BUCKET_PURPOSES } from '../../naming.js';
import type { InstanceRecord } from '../../state/instance-record.js';
import type { InstanceContext } from '../../steps/context.js';
import type { Teardown } from '../types.js';
import { awsConfigOf } from './settings.js';
import { TAG_INSTANCE, awsNames, instanceBucketNames } from './naming.js';

/** True when the instance's EKS cluster no longer exists (an earlier destroy got that far). */
export async function clusterGone(c: Pick<InstanceContext, 'name' | 'config'>, signal: AbortSignal): Promise<boolean> {
  const [{ EKSClient, DescribeClusterCommand }, { explainAwsError, isAwsErrorNamed }] = await Promise.all([
    import('@aws-sdk/client-eks'),
    import('./errors.js'),
  ]);
  try {
    await new EKSClient({ region: awsConfigOf(c.config).region }).send(new DescribeClusterCommand({ name: awsNames(c.name).clusterName }), {
      abortSignal: signal,
    });
    return false;
  } catch (err) {
    if (isAwsErrorNamed(err, 'ResourceNotFoundException')) return true;
    throw explainAwsError(err, 'eks:DescribeCluster', signal);
  }
}

/** Load balancers tagged with the instance, as the tagging API lists them. */
export async function taggedLoadBalancers(c: Pick<InstanceContext, 'name' | 'config'>, signal: AbortSignal): Promise<string[]> {
  const [{ ResourceGroupsTaggingAPIClient, GetResourcesCommand }, { explainAwsError }] = await Promise.all([
    import('@aws-sdk/client-resource-groups-tagging-api'),
    import('./errors.js'),
  ]);
  const client = new ResourceGroupsTaggingAPIClient({ region: awsConfigOf(c.config).region, maxAttempts: 5, retryMode: 'adaptive' });
  const arns: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(
        new GetResourcesCommand({
          ResourceTypeFilters: ['elasticloadbalancing:loadbalancer'],
          TagFilters: [{ Key: TAG_INSTANCE, Values: [c.name] }],
          ...(token ? { PaginationToken: token } : {}),
        }),
        { abortSignal: signal },
      );
      for (const r of page.ResourceTagMappingList ?? []) if (r.ResourceARN) arns.push(r.ResourceARN);
      token = page.PaginationToken || undefined;
    } while (token);
  } catch (err) {
    throw explainAwsError(err, 'tag:GetResources', signal);
  }
  return arns;
}

export function loadBalancerGoneStep(
  c: Pick<InstanceContext, 'name' | 'config'>,
  timing = { deadlineMs: 15 * 60_000, intervalMs: 10_000 },
): Step<{ waitedMs: number }> {
  return {
    name: 'load-balancer-gone',
    title: 'Wait until AWS has deleted the load balancer',
    async run(ctx) {
      const { waitFor: pWaitFor, TimeoutError } = await import('../../wait-for.js');
      const started = Date.now();
      let remaining: string[] = [];
      try {
        await pWaitFor(
          async () => {
            remaining = await taggedLoadBalancers(c, ctx.signal);
            if (remaining.length > 0) ctx.progress({ message: `still there: ${remaining.map((a) => a.split('/').slice(-2).join('/')).join(', ')}` });
            return remaining.length === 0;
          },
          { interval: timing.intervalMs, timeout: { milliseconds: timing.deadlineMs } },
        );
      } catch (err) {
        if (err instanceof TimeoutError) {
          throw new FailureError(`AWS has not deleted the load balancer(s) ${remaining.join(', ')} after ${Math.round(timing.deadlineMs / 60_000)} minutes`, {
            hint: 'Delete them in the EC2 console (Load Balancers), then run `lookout destroy` again to carry on.',
          });
        }
        throw err;
      }
      return { waitedMs: Date.now() - started };
    },
  };
}

/** The instance's bucket names, derived as the infra stack derives them. */
export function dataBuckets(record: Pick<InstanceRecord, 'name' | 'accountId' | 'region'>): string[] {
  const names = instanceBucketNames(record.name, record.accountId, record.region);
  return BUCKET_PURPOSES.map((p) => names[p]);
}

function credentialsStep(record: InstanceRecord): Step<{ accountId: string }> {
  return {
    name: 'credentials',
    title: 'Check credentials',
    alwaysRun: true,
    async run(ctx) {
      const [{ STSClient, GetCallerIdentityCommand }, { explainAwsError }] = await Promise.all([
        import('@aws-sdk/client-sts'),
        import('./errors.js'),
      ]);
      let account: string | undefined;
      try {
        const identity = await new STSClient({ region: record.region }).send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal });
        account = identity.Account;
      } catch (err) {
        throw explainAwsError(err, 'sts:GetCallerIdentity', ctx.signal);
      }
      if (account !== record.accountId) {
        throw new FailureError(`instance "${record.name}" lives in account ${record.accountId}, but the credentials are for account ${account}`, {
          hint: 'Use credentials for the instance’s account.',
        });
      }
      return { accountId: account };
    },
  };
}

function infraDestroyStep(c: InstanceContext): Step<{ destroyed: true }> {
  return {
    name: 'infra-destroy',
    title: 'Destroy the cluster, network and DNS zone',
    async run(ctx) {
      const { openInfraStack } = await import('./infra-steps.js');
      const stack = await openInfraStack(c, 'infra-destroy');
      await stack.destroy({ signal: ctx.signal });
      return { destroyed: true };
    },
  };
}

function deleteDataStep(record: InstanceRecord): Step<{ deleted: Array<{ bucket: string; objects: number }> }> {
  return {
    name: 'delete-data',
    title: 'Empty and delete the data buckets',
    async run(ctx) {
      const [{ S3Client }, { emptyAndDeleteBucket }] = await Promise.all([import('@aws-sdk/client-s3'), import('./delete-bucket.js')]);
      const s3 = new S3Client({ region: record.region, maxAttempts: 5, retryMode: 'adaptive' });
      const deleted = [];
      for (const bucket of dataBuckets(record)) {
        const result = await emptyAndDeleteBucket(s3, bucket, {
          signal: ctx.signal,
          onProgress: (n) => ctx.progress({ message: `${bucket}: ${n} objects deleted` }),
        });
        deleted.push({ bucket, objects: result.deletedObjects });
      }
      return { deleted };
    },
  };
}

export const awsTeardown: Teardown = {
  before: (record) => [credentialsStep(record)],
  afterGateway: (c) => [loadBalancerGoneStep(c)],
  after: (c, { deleteData, record }) => [infraDestroyStep(c), ...(deleteData ? [deleteDataStep(record)] : [])],
  clusterGone,
  dataBuckets,
  ownsDataBuckets: true,
  // The CNAME that sends the tenant hosts to the NLB goes with it.
  loadBalancerDependents: ['aws:route53/record:Record'],
};
