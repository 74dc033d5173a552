/**
 * Mock behaviour for the Kubernetes and random providers, for the offline plan and the
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

function randomOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> | undefined {
  const seed = digest('random', args.type, args.name);
  switch (args.type) {
    case 'random:index/randomPassword:RandomPassword':
    case 'random:index/randomString:RandomString': {
      const length = Number(args.inputs?.length ?? 32);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
      let out = '';
      for (let i = 0; out.length < length; i++) out += alphabet[parseInt(digest(seed, String(i)).slice(0, 8), 16) % alphabet.length];
      return { result: out, bcryptHash: `$2a$10$${seed.slice(0, 53)}` };
    }
    case 'random:index/randomBytes:RandomBytes': {
      const length = Number(args.inputs?.length ?? 32);
      const bytes = Buffer.from(digest(seed).repeat(Math.ceil(length / 32)), 'hex').subarray(0, length);
      return { base64: bytes.toString('base64'), hex: bytes.toString('hex') };
    }
    case 'random:index/randomId:RandomId': {
      const bytes = Buffer.from(seed, 'hex').subarray(0, Number(args.inputs?.byteLength ?? 8));
      return { hex: bytes.toString('hex'), b64Url: bytes.toString('base64url'), b64Std: bytes.toString('base64'), dec: BigInt(`0x${bytes.toString('hex')}`).toString() };
    }
    default:
      return undefined;
  }
}

/** Combines the Kubernetes/random behaviour with another (the cloud's) behaviour. */
export function withKubernetesMocks(options: KubernetesMockOptions = {}): MockBehaviour {
  const cloud = options.cloud ?? {};
  return {
    outputs(args) {
      if (args.type.startsWith('kubernetes:')) return kubernetesOutputs(args, options);
      if (args.type.startsWith('random:')) return randomOutputs(args);
      return cloud.outputs?.(args);
    },
    call(args) {
      if (!cloud.call) throw new Error(`no mock for provider function ${args.token}`);
      return cloud.call(args);
    },
    ...(cloud.id ? { id: cloud.id } : {}),
  };
}
