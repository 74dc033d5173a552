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
    // Lookout makes no DNS records in a cluster it does not own: the user points the names at the gateway.
    `  DNS         add: ${o.domain} and *.${o.domain} → the gateway address (an A record for an IP, a CNAME for a name)`,
  ];
}
