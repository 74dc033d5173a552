/**
 * What the NetworkPolicies a stack renders allow, evaluated as Kubernetes defines them: a pod
 * selected by no policy of a direction is not isolated in it; once selected, a connection
 * passes if any selecting policy's rule allows it, and a connection to a pod needs both the
 * source's egress and the destination's ingress. Ports are numbers (Lookout writes no named
 * ports in policies); `ipBlock` peers match addresses, pod and namespace selectors match pods.
 */
import type { MockedResource } from '../../src/plan/mock-runtime.js';
import { kubernetesObjects, kubernetesTypeOf, workloads } from './kubernetes.js';

export interface PolicyPod {
  namespace: string;
  labels: Record<string, string>;
  /** For messages. */
  name: string;
}

/** A connection's destination: a pod, or an address outside any pod. */
export type Destination = { pod: PolicyPod } | { ip: string };

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  to?: Peer[];
  from?: Peer[];
  ports?: Array<{ port?: number; protocol?: string }>;
}
interface Policy {
  name: string;
  namespace: string;
  podSelector: LabelSelector;
  policyTypes: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && (e.values ?? []).includes(labels[e.key]!);
      case 'NotIn':
        return !has || !(e.values ?? []).includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
  return byLabel && byExpression;
}

function ipv4(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether an IPv4 address is in an IPv4 CIDR (IPv6 CIDRs never match an IPv4 address). */
export function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  if (base!.includes(':')) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
}

export class NetworkPolicies {
  readonly policies: Policy[];
  /** Labels of each namespace, from the stack's Namespace objects (plus the name label every namespace has). */
  private readonly namespaceLabels: Map<string, Record<string, string>>;

  constructor(resources: readonly MockedResource[]) {
    const objects = kubernetesObjects(resources);
    this.policies = objects
      .filter((r) => kubernetesTypeOf(r.type)!.kind === 'NetworkPolicy')
      .map((r) => ({ name: r.inputs.metadata.name, namespace: r.inputs.metadata.namespace, ...r.inputs.spec }));
    this.namespaceLabels = new Map(
      objects.filter((r) => kubernetesTypeOf(r.type)!.kind === 'Namespace').map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels ?? {}]),
    );
  }

  private labelsOfNamespace(namespace: string): Record<string, string> {
    return { ...this.namespaceLabels.get(namespace), 'kubernetes.io/metadata.name': namespace };
  }

  private peerMatches(peer: Peer, policyNamespace: string, to: Destination): boolean {
    if (peer.ipBlock) {
      if (!('ip' in to)) return false;
      return inCidr(to.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(to.ip, c));
    }
    if (!('pod' in to)) return false;
    const namespaceOk = peer.namespaceSelector ? selects(peer.namespaceSelector, this.labelsOfNamespace(to.pod.namespace)) : to.pod.namespace === policyNamespace;
    return namespaceOk && selects(peer.podSelector, to.pod.labels);
  }

  private allowedBy(rules: Rule[] | undefined, peers: 'to' | 'from', policyNamespace: string, other: Destination, port: number, protocol: string): boolean {
    return (rules ?? []).some((rule) => {
      const portOk = !rule.ports || rule.ports.length === 0 || rule.ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port));
      const list = rule[peers];
      const peerOk = !list || list.length === 0 || list.some((peer) => this.peerMatches(peer, policyNamespace, other));
      return portOk && peerOk;
    });
  }

  /** Whether `from` may send to `to` on a port, as far as the source's egress is concerned. */
  egressAllows(from: PolicyPod, to: Destination, port: number, protocol = 'TCP'): boolean {
    const selecting = this.policies.filter((p) => p.namespace === from.namespace && p.policyTypes.includes('Egress') && selects(p.podSelector, from.labels));
    return selecting.length === 0 || selecting.some((p) => this.allowedBy(p.egress, 'to', p.namespace, to, port, protocol));
  }

  /** Whether `to` accepts a connection from `from` on a port. */
  ingressAllows(from: PolicyPod, to: PolicyPod, port: number, protocol = 'TCP'): boolean {
    const selecting = this.policies.filter((p) => p.namespace === to.namespace && p.policyTypes.includes('Ingress') && selects(p.podSelector, to.labels));
    return selecting.length === 0 || selecting.some((p) => this.allowedBy(p.ingress, 'from', p.namespace, { pod: from }, port, protocol));
  }

  /** Whether a connection passes both ends' policies. */
  allows(from: PolicyPod, to: Destination, port: number, protocol = 'TCP'): boolean {
    return this.egressAllows(from, to, port, protocol) && ('pod' in to ? this.ingressAllows(from, to.pod, port, protocol) : true);
  }
}

/** The pods of each workload a stack renders (one stands for all replicas), by `<namespace>/<workload>`. */
export function podsOf(resources: readonly MockedResource[]): Map<string, PolicyPod> {
  return new Map(
    workloads(resources).map((w) => [
      `${w.inputs.metadata.namespace}/${w.inputs.metadata.name}`,
      { name: w.inputs.metadata.name, namespace: w.inputs.metadata.namespace, labels: w.inputs.spec.template.metadata.labels },
    ]),
  );
}
