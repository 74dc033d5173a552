/**
 * Network isolation every Lookout namespace follows, in one place: which addresses are never
 * "the internet", how pods reach cluster DNS, and a namespace's default policies (traffic only
 * from its own pods, and no egress but DNS), on which each component adds exactly what it
 * needs. NetworkPolicies are additive: a pod may do what any policy selecting it allows.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { isIPv4, isIPv6 } from 'node:net';
import { labels } from './index.js';

export type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
export type NetworkPeer = k8s.types.input.networking.v1.NetworkPolicyPeer;
export type NetworkPolicyPort = k8s.types.input.networking.v1.NetworkPolicyPort;

/**
 * IPv4 ranges that are never a destination on the internet: "this network" (0.0.0.0 reaches
 * the local host), RFC 1918, shared address space (RFC 6598, which some pod networks use),
 * loopback, and link-local (instance metadata services at 169.254.169.254, node-local
 * credential agents such as one at 169.254.170.23).
 */
export const NON_PUBLIC_IPV4_RANGES: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
];

/** Throws an Error naming `what` unless every entry is an IPv4 or IPv6 CIDR (`10.0.0.0/16`, `fd00::/8`). */
export function checkCidrs(what: string, cidrs: readonly string[]): void {
  for (const cidr of cidrs) {
    const [address = '', prefix = '', ...rest] = cidr.split('/');
    const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : undefined;
    if (max === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) {
      throw new Error(`${what} must be IPv4 or IPv6 CIDRs such as 10.0.0.0/16, got ${JSON.stringify(cidr)}`);
    }
  }
}

/** The cluster DNS pods (CoreDNS keeps kube-dns's `k8s-app` label on the managed clusters and kubeadm). */
export const CLUSTER_DNS: NetworkPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

export function tcpPorts(...ports: number[]): NetworkPolicyPort[] {
  return ports.map((port) => ({ protocol: 'TCP', port }));
}

/** Name resolution through the cluster DNS, over UDP and TCP. */
export function dnsEgress(dns: NetworkPeer = CLUSTER_DNS): EgressRule {
  return { to: [dns], ports: [{ protocol: 'UDP', port: 53 }, ...tcpPorts(53)] };
}

/**
 * Any public IPv4 address, optionally on some ports only: everything but the non-public
 * ranges and the given ones (the cluster's own CIDRs where they are public addresses).
 * IPv6 destinations stay closed.
 */
export function internetEgress(blocked: readonly string[] = [], ports?: readonly number[]): EgressRule {
  const except = [...new Set([...NON_PUBLIC_IPV4_RANGES, ...blocked.filter((c) => isIPv4(c.split('/')[0]!) && c !== '0.0.0.0/0')])];
  return { to: [{ ipBlock: { cidr: '0.0.0.0/0', except } }], ...(ports ? { ports: tcpPorts(...ports) } : {}) };
}

/** Pods with these labels, in the policy's own namespace or in another one. */
export function podsPeer(selector: Record<string, string>, namespace?: string): NetworkPeer {
  return {
    podSelector: { matchLabels: selector },
    ...(namespace ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } } : {}),
  };
}

/** Every pod of a namespace. */
export function namespacePeer(namespace: string): NetworkPeer {
  return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } } };
}

export interface NetworkPolicyArgs {
  name: string;
  namespace: pulumi.Input<string>;
  /** `app.kubernetes.io/name` of what the policy belongs to (its labels). */
  app: string;
  podSelector: Record<string, string>;
  ingress?: IngressRule[];
  egress?: EgressRule[];
}

/**
 * A NetworkPolicy for the pods selected. A direction given (even as an empty list) is
 * isolated for them: only what the rules allow, or what another policy allows, passes.
 */
export function networkPolicy(resourceName: string, args: NetworkPolicyArgs, opts: pulumi.CustomResourceOptions): k8s.networking.v1.NetworkPolicy {
  const policyTypes = [...(args.ingress ? ['Ingress'] : []), ...(args.egress ? ['Egress'] : [])];
  return new k8s.networking.v1.NetworkPolicy(
    resourceName,
    {
      metadata: { name: args.name, namespace: args.namespace, labels: labels(args.app, 'network-policy') },
      spec: {
        podSelector: { matchLabels: args.podSelector },
        policyTypes,
        ...(args.ingress ? { ingress: args.ingress } : {}),
        ...(args.egress ? { egress: args.egress } : {}),
      },
    },
    opts,
  );
}

/**
 * A namespace's defaults: its pods accept traffic only from pods of the same namespace, and
 * send none but DNS lookups. Components add, with policies of their own, what their pods need.
 * Create them after those (`dependsOn`), so that a running installation never spends a moment
 * with the defaults and without the allowances.
 */
export function isolateNamespace(namespace: string, opts: pulumi.CustomResourceOptions, dns: NetworkPeer = CLUSTER_DNS) {
  const all = { podSelector: {} };
  const ingress = new k8s.networking.v1.NetworkPolicy(
    `${namespace}-default-ingress`,
    {
      metadata: { name: 'default-ingress', namespace, labels: labels(namespace, 'network-policy') },
      spec: { ...all, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
    },
    opts,
  );
  const egress = new k8s.networking.v1.NetworkPolicy(
    `${namespace}-default-egress`,
    {
      metadata: { name: 'default-egress', namespace, labels: labels(namespace, 'network-policy') },
      spec: { ...all, policyTypes: ['Egress'], egress: [dnsEgress(dns)] },
    },
    opts,
  );
  return { ingress, egress };
}

/** Pod Security Standards levels. */
export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

/**
 * Namespace labels enforcing a Pod Security Standards level, and warning and auditing at it. A
 * `privileged` namespace is audited at `baseline`, so the API server's audit log records what
 * it runs beyond that (without a warning on every apply).
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  const enforce = { 'pod-security.kubernetes.io/enforce': level, 'pod-security.kubernetes.io/enforce-version': 'latest' };
  if (level === 'privileged') return { ...enforce, 'pod-security.kubernetes.io/audit': 'baseline' };
  return { ...enforce, 'pod-security.kubernetes.io/audit': level, 'pod-security.kubernetes.io/warn': level };
}
