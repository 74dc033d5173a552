/**
 * The teardown steps every provider shares, in the only order that works: tenants, then the
 * gateway's load balancer (the provider then waits until its cloud has really released it,
 * since what it holds can block deleting the network), then the platform. The provider's own
 * steps come before, between and after (CloudProvider.teardown).
 */
import type { Step, StepContext } from '../engine/index.js';
import type { StateResource } from '../pulumi/deployment.js';
import { openClusterStack, type InstanceContext } from './context.js';
import { DEFAULT_TENANT_PARALLELISM } from './tenant-parallelism.js';

/**
 * The engine setting for destroying Kubernetes stacks whose cluster is already gone: their
 * objects went with it, so Pulumi may drop them from the state. Only then, never otherwise.
 */
async function unreachableEnv(c: InstanceContext, ctx: StepContext): Promise<Record<string, string>> {
  if (!(await c.provider.teardown.clusterGone(c, ctx.signal))) return {};
  ctx.log('warn', 'The cluster no longer exists; its Kubernetes objects are removed from the state without contacting it.');
  return { PULUMI_K8S_DELETE_UNREACHABLE: 'true' };
}

export function tenantDestroyStep(c: InstanceContext, name: string): Step<{ destroyed: true }> {
  return {
    name: `tenant-destroy:${name}`,
    title: `Remove tenant ${name}`,
    // Tenant stacks are independent of each other: removed a few at once.
    parallel: { group: 'tenant-destroy', limit: c.tenantParallelism ?? DEFAULT_TENANT_PARALLELISM },
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

/**
 * The gateway's LoadBalancer Service in the platform state, and what points at it: resources
 * of the `dependents` types (the provider's DNS record for the tenant hosts).
 */
export function loadBalancerTargets(resources: readonly StateResource[], dependents: readonly string[]): string[] {
  return resources
    .filter(
      (r) =>
        (r.type === 'kubernetes:core/v1:Service' && (r.inputs?.spec as { type?: string } | undefined)?.type === 'LoadBalancer') ||
        dependents.includes(r.type),
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
      const targets = loadBalancerTargets(stack.resources(), c.provider.teardown.loadBalancerDependents);
      if (targets.length > 0) await stack.destroy({ signal: ctx.signal, target: targets });
      return { removed: targets.map((urn) => urn.split('::').pop()!) };
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
