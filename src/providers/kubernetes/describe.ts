/** How an instance in a user's cluster reads in `create`'s summary and in `status`. */
import type { KubernetesInfra } from './cluster.js';

/** "context prod-eu (https://10.0.0.1:6443, v1.34.4)" */
export function describeKubernetesLocation(infra: Pick<KubernetesInfra, 'context' | 'server' | 'version'>): string {
  return `context ${infra.context} (${infra.server}, ${infra.version})`;
}

export function describeKubernetesInfra(infra: KubernetesInfra, o: { domain: string }): string[] {
  const b = infra.objectStorage.buckets;
  return [
    `  cluster     context ${infra.context}  ${infra.server}`,
    `  buckets     ${b.metrics}, ${b.logs}, ${b.rules} at ${infra.objectStorage.endpoint}`,
    infra.dnsRecords === 'rfc2136'
      ? `  DNS         *.${o.domain} → the gateway address, written by RFC 2136`
      : // Without RFC 2136, the user points the tenant hosts at the gateway.
        `  DNS         add: *.${o.domain} → the gateway address above (an A record for an IP, a CNAME for a name)`,
  ];
}
