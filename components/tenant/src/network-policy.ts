/**
 * Who may talk to a tenant's Grafana, and whom it may talk to. Ingress comes only from the
 * gateway's pods. Egress goes only to DNS, to the gateway's internal listener (which pins every
 * request to this tenant by its token), and to HTTPS outside the cluster (the OIDC provider):
 * a tenant's Grafana can never reach Cortex or Loki directly with a forged `X-Scope-OrgID`.
 */
import type * as k8s from '@pulumi/kubernetes';
import { dnsEgress, internetEgress, podsPeer, tcpPorts } from '@lookout/kube';

export interface GrafanaNetworkPolicySettings {
  /** Labels of the Grafana pods. */
  grafanaSelector: Record<string, string>;
  grafanaPort: number;
  /** Namespace of the gateway (the platform namespace). */
  gatewayNamespace: string;
  /** Labels of the gateway's pods. */
  gatewayPodSelector: Record<string, string>;
  /**
   * The port the gateway's pods listen on for the internal listener. Network policies apply
   * after the Service's address translation, so this is the container port.
   */
  gatewayInternalPort: number;
}

export function grafanaNetworkPolicySpec(s: GrafanaNetworkPolicySettings): k8s.types.input.networking.v1.NetworkPolicySpec {
  const gateway = podsPeer(s.gatewayPodSelector, s.gatewayNamespace);
  return {
    podSelector: { matchLabels: s.grafanaSelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [{ from: [gateway], ports: tcpPorts(s.grafanaPort) }],
    egress: [
      dnsEgress(),
      { to: [gateway], ports: tcpPorts(s.gatewayInternalPort) },
      // Outside the cluster (the OIDC provider): never private, shared or link-local addresses,
      // which hold the pods, Services and nodes, and the instance metadata endpoint.
      internetEgress([], [443]),
    ],
  };
}
