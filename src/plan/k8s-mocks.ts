/**
 * Mock behaviour for the Kubernetes provider, for the offline plan and the
 * stack tests: what the real providers would report back (a load balancer address for a
 * LoadBalancer Service, generated passwords), so programs that use those outputs evaluate.
 * What a cloud's load balancer address looks like is the cloud's to say (its provider's mocks).
 */
import { createHash } from 'node:crypto';
import type * as pulumi from '@pulumi/pulumi';
import type { MockBehaviour } from './mock-runtime.js';

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** A load balancer's entry in a Service's `status.loadBalancer.ingress`: a hostname or an IP. */
export type LoadBalancerIngress = { hostname: string } | { ip: string };

/** A stable placeholder address (under the reserved `.invalid` TLD) when no cloud says otherwise. */
export function placeholderLoadBalancerHostname(serviceName: string): string {
  return `${serviceName}-${digest(serviceName).slice(0, 10)}.lb.invalid`;
}

export interface KubernetesMockOptions {
  /** The cloud's behaviour for every other resource type and provider function. */
  cloud?: MockBehaviour;
  /** The address the cloud gives a LoadBalancer Service; a placeholder hostname by default. */
  loadBalancerIngress?: (serviceName: string) => LoadBalancerIngress;
}

function kubernetesOutputs(args: pulumi.runtime.MockResourceArgs, options: KubernetesMockOptions): Record<string, unknown> | undefined {
  if (args.type === 'kubernetes:core/v1:Service' && args.inputs?.spec?.type === 'LoadBalancer') {
    const name = String(args.inputs?.metadata?.name ?? args.name);
    const ingress = options.loadBalancerIngress?.(name) ?? { hostname: placeholderLoadBalancerHostname(name) };
    return { status: { loadBalancer: { ingress: [ingress] } } };
  }
  if (args.type.startsWith('kubernetes:') && args.inputs?.metadata) {
    // The API server fills in the name from generateName and a uid; programs may read them.
    const metadata = args.inputs.metadata as Record<string, unknown>;
    return { metadata: { ...metadata, name: metadata.name ?? `${args.name}-${digest(args.name).slice(0, 5)}`, uid: digest('uid', args.name).slice(0, 32) } };
  }
  return undefined;
}

/** Combines the Kubernetes behaviour with another (the cloud's) behaviour. */
export function withKubernetesMocks(options: KubernetesMockOptions = {}): MockBehaviour {
  const cloud = options.cloud ?? {};
  return {
    outputs(args) {
      if (args.type.startsWith('kubernetes:')) return kubernetesOutputs(args, options);
      return cloud.outputs?.(args);
    },
    call(args) {
      if (!cloud.call) throw new Error(`no mock for provider function ${args.token}`);
      return cloud.call(args);
    },
    ...(cloud.id ? { id: cloud.id } : {}),
  };
}
