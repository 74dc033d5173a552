/**
 * Tearing an instance down in the only order that works: tenants, then the gateway's load
 * balancer (and a wait until AWS has really deleted it, since its network interfaces would
 * block deleting the VPC), then the platform, then the infrastructure.
 */
import type { Step, StepContext } from '../engine/index.js';
import { FailureError } from '../errors.js';
import { TAG_INSTANCE, awsNames } from '../naming.js';
import type { StateResource } from '../pulumi/deployment.js';
import { openClusterStack, type InstanceContext } from './context.js';

/** True when the instance's EKS cluster no longer exists (an earlier destroy got that far). */
export async function clusterGone(c: InstanceContext, signal: AbortSignal): Promise<boolean> {
  const [{ EKSClient, DescribeClusterCommand }, { explainAwsError, isAwsErrorNamed }] = await Promise.all([
    import('@aws-sdk/client-eks'),
    import('../providers/aws/errors.js'),
  ]);
  try {
    await new EKSClient({ region: c.config.aws!.region }).send(new DescribeClusterCommand({ name: awsNames(c.name).clusterName }), {
      abortSignal: signal,
    });
    return false;
  } catch (err) {
    if (isAwsErrorNamed(err, 'ResourceNotFoundException')) return true;
    throw explainAwsError(err, 'eks:DescribeCluster', signal);
  }
}

/**
 * The engine setting for destroying Kubernetes stacks whose cluster is already gone: their
 * objects went with it, so Pulumi may drop them from the state. Only then, never otherwise.
 */
async function unreachableEnv(c: InstanceContext, ctx: StepContext): Promise<Record<string, string>> {
  if (!(await clusterGone(c, ctx.signal))) return {};
  ctx.log('warn', 'The cluster no longer exists; its Kubernetes objects are removed from the state without contacting it.');
  return { PULUMI_K8S_DELETE_UNREACHABLE: 'true' };
}

export function tenantDestroyStep(c: InstanceContext, name: string): Step<{ destroyed: true }> {
  return {
    name: `tenant-destroy:${name}`,
    title: `Remove tenant ${name}`,
    async run(ctx) {
      const stack = await openClusterStack(c, { tenant: name }, async () => ({}), {
        step: `tenant-destroy:${name}`,
        extraEnv: await unreachableEnv(c, ctx),
      });
      await stack.destroy({ signal: ctx.signal });
      return { destroyed: true };
    },
  };
}

/** The gateway's LoadBalancer Service in the platform state, and what points at it (the DNS record). */
export function loadBalancerTargets(resources: readonly StateResource[]): string[] {
  return resources
    .filter(
      (r) =>
        (r.type === 'kubernetes:core/v1:Service' && (r.inputs?.spec as { type?: string } | undefined)?.type === 'LoadBalancer') ||
        r.type === 'aws:route53/record:Record',
    )
    .filter((r) => !r.delete)
    .map((r) => r.urn);
}

export function gatewayLoadBalancerDestroyStep(c: InstanceContext): Step<{ removed: string[] }> {
  return {
    name: 'gateway-load-balancer',
    title: 'Remove the gateway’s load balancer first',
    async run(ctx) {
      const stack = await openClusterStack(c, 'platform', async () => ({}), {
        step: 'gateway-load-balancer',
        extraEnv: await unreachableEnv(c, ctx),
      });
      await stack.prepare(ctx.signal);
      const targets = loadBalancerTargets(stack.resources());
      if (targets.length > 0) await stack.destroy({ signal: ctx.signal, target: targets });
      return { removed: targets.map((urn) => urn.split('::').pop()!) };
    },
  };
}

/** Load balancers tagged with the instance, as the tagging API lists them. */
export async function taggedLoadBalancers(c: InstanceContext, signal: AbortSignal): Promise<string[]> {
  const [{ ResourceGroupsTaggingAPIClient, GetResourcesCommand }, { explainAwsError }] = await Promise.all([
    import('@aws-sdk/client-resource-groups-tagging-api'),
    import('../providers/aws/errors.js'),
  ]);
  const client = new ResourceGroupsTaggingAPIClient({ region: c.config.aws!.region, maxAttempts: 5, retryMode: 'adaptive' });
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

export function loadBalancerGoneStep(c: InstanceContext, timing = { deadlineMs: 15 * 60_000, intervalMs: 10_000 }): Step<{ waitedMs: number }> {
  return {
    name: 'load-balancer-gone',
    title: 'Wait until AWS has deleted the load balancer',
    async run(ctx) {
      const { default: pWaitFor, TimeoutError } = await import('p-wait-for');
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

export function platformDestroyStep(c: InstanceContext): Step<{ destroyed: true }> {
  return {
    name: 'platform-destroy',
    title: 'Remove the platform',
    async run(ctx) {
      const stack = await openClusterStack(c, 'platform', async () => ({}), {
        step: 'platform-destroy',
        extraEnv: await unreachableEnv(c, ctx),
      });
      await stack.destroy({ signal: ctx.signal });
      return { destroyed: true };
    },
  };
}
