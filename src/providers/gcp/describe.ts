/** How a GCP instance's infrastructure reads in `create`'s summary and in `status`. */
import type { InfraGcpOutputs } from './infra-stack.js';

/** "europe-west1 (project acme-observability)" */
export function describeGcpLocation(infra: Pick<InfraGcpOutputs, 'location' | 'project'>): string {
  return `${infra.location} (project ${infra.project})`;
}

export function describeGcpInfra(infra: InfraGcpOutputs, o: { domain: string; kubeconfigPath: string; view: 'created' | 'status' }): string[] {
  const lines = [
    `  cluster     ${infra.clusterName}  ${infra.clusterEndpoint}`,
    o.view === 'created'
      ? `  kubeconfig  ${o.kubeconfigPath}   (export KUBECONFIG=${o.kubeconfigPath}; its tokens come from \`lookout kube-token --provider gcp\`)`
      : `  kubeconfig  ${o.kubeconfigPath}`,
    `  buckets     ${Object.values(infra.buckets ?? {}).join(', ')}`,
  ];
  if (o.view === 'created') return [...lines, `  DNS zone    ${o.domain} (${infra.zoneName}), delegation checked at the parent zone's servers`];
  return [
    ...lines,
    `  DNS zone    ${o.domain} (${infra.zoneName}), ${infra.delegated ? 'delegated from the parent zone' : 'delegate with NS:'}`,
    ...(infra.delegated ? [] : (infra.nameServers ?? []).map((ns) => `                ${ns}`)),
  ];
}
