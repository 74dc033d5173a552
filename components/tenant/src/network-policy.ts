/**
 * Who may talk to a tenant's Grafana, and whom it may talk to. Ingress comes only from the
 * gateway's pods. Egress goes only to DNS, to the gateway's internal listener (which pins every
 * request to this tenant by its token), and to HTTPS outside the cluster (the OIDC provider):
 * a tenant's Grafana can never reach Cortex or Loki directly with a forged `X-Scope-OrgID`.
 */
import type * as k8s from '@pulumi/kubernetes';

/**
 * Private, shared and link-local ranges: pod and Service addresses (VPC CNI pods take VPC
 * addresses, and some clusters use 100.64.0.0/10), and the instance metadata endpoint.
 * Excluding them keeps the "outside the cluster" rule from reaching anything inside it.
 */
export const CLUSTER_INTERNAL_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];

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

const namespaceSelector = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

export function grafanaNetworkPolicySpec(s: GrafanaNetworkPolicySettings): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: s.grafanaSelector },
    policyTypes: ['Ingress', 'Egress'],
    ingress: [
      {
        from: [{ namespaceSelector: namespaceSelector(s.gatewayNamespace), podSelector: { matchLabels: s.gatewayPodSelector } }],
        ports: [{ protocol: 'TCP', port: s.grafanaPort }],
      },
    ],
    egress: [
      {
        to: [{ namespaceSelector: namespaceSelector('kube-system') }],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      {
        to: [{ namespaceSelector: namespaceSelector(s.gatewayNamespace), podSelector: { matchLabels: s.gatewayPodSelector } }],
        ports: [{ protocol: 'TCP', port: s.gatewayInternalPort }],
      },
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: CLUSTER_INTERNAL_RANGES } }],
        ports: [{ protocol: 'TCP', port: 443 }],
      },
    ],
  };
}
