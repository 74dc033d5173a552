/**
 * Egress of each Cortex workload: DNS, exactly the components it calls (from the layout),
 * memberlist gossip, its bucket and, for the Alertmanager alone, receivers on the internet.
 * Ingress stays the namespace's to decide (its own pods, the gateway, the collector).
 *
 * The Alertmanager is the workload a tenant steers (its receivers' URLs), so it may reach no
 * private, link-local or cluster address whatever Cortex's receivers firewall does: that
 * firewall only guards some integrations (in Cortex 1.19, not MS Teams or email).
 */
import type * as pulumi from '@pulumi/pulumi';
import { CLUSTER_DNS, dnsEgress, internetEgress, networkPolicy, podsPeer, tcpPorts, type EgressRule, type NetworkPeer } from '@lookout/kube';
import { receiverBlockedCidrs } from './config.js';
import { APP_NAME, COMPONENT_LAYOUT, CORTEX_COMPONENTS, GOSSIP_PORT, GRPC_PORT, HTTP_PORT, resourceName, type CortexComponent } from './layout.js';
import { componentSelector, gossipSelector } from './pod-spec.js';

export interface CortexEgressArgs {
  namespace: string;
  /** The cluster's own networks (pod, Service, node CIDRs), closed to receivers like the private ranges. */
  clusterCidrs: readonly string[];
  /** How workloads with a bucket reach it and their cloud credentials. */
  objectStorage: readonly EgressRule[];
  /** The cluster DNS pods (default: `k8s-app: kube-dns` in `kube-system`). */
  dns?: NetworkPeer;
}

/** The egress rules of one workload. */
export function cortexEgressRules(component: CortexComponent, args: Omit<CortexEgressArgs, 'namespace'>): EgressRule[] {
  const layout = COMPONENT_LAYOUT[component];
  const calls = (targets: readonly CortexComponent[], port: number): EgressRule[] =>
    targets.length === 0 ? [] : [{ to: targets.map((c) => podsPeer(componentSelector(c))), ports: tcpPorts(port) }];
  return [
    dnsEgress(args.dns ?? CLUSTER_DNS),
    { to: [podsPeer(gossipSelector())], ports: tcpPorts(GOSSIP_PORT) },
    ...calls(layout.calls.grpc, GRPC_PORT),
    ...calls(layout.calls.http, HTTP_PORT),
    ...(layout.identity ? args.objectStorage : []),
    // Webhooks and chat, paging and mail services on any port, but never inside the cluster.
    ...(layout.callsReceivers ? [internetEgress(receiverBlockedCidrs(args.clusterCidrs))] : []),
  ];
}

/** One egress NetworkPolicy per workload, named `cortex-<target>-egress`. */
export function cortexNetworkPolicies(args: CortexEgressArgs, opts: pulumi.CustomResourceOptions) {
  return CORTEX_COMPONENTS.map((component) =>
    networkPolicy(
      `${resourceName(component)}-egress`,
      {
        name: `${resourceName(component)}-egress`,
        namespace: args.namespace,
        app: APP_NAME,
        podSelector: componentSelector(component),
        egress: cortexEgressRules(component, args),
      },
      opts,
    ),
  );
}
