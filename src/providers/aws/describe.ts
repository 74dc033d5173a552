/** How an AWS instance's infrastructure reads in `create`'s summary and in `status`. */
import type { InfraStepOutputs } from './infra-steps.js';

/** "eu-west-1 (account 123456789012)" */
export function describeAwsLocation(infra: Pick<InfraStepOutputs, 'region' | 'accountId'>): string {
  return `${infra.region} (account ${infra.accountId})`;
}

export function describeAwsInfra(
  infra: InfraStepOutputs,
  o: { domain: string; kubeconfigPath: string; view: 'created' | 'status' },
): string[] {
  const cluster = `  cluster     ${infra.clusterName}  ${infra.clusterEndpoint}`;
  const buckets = `  buckets     ${Object.values(infra.buckets ?? {}).join(', ')}`;
  if (o.view === 'created') {
    return [
      cluster,
      // The written kubeconfig authenticates with `aws eks get-token`, as kubectl users expect.
      `  kubeconfig  ${o.kubeconfigPath}   (export KUBECONFIG=${o.kubeconfigPath}; needs the aws CLI)`,
      buckets,
      `  DNS zone    ${o.domain} (${infra.zoneId}), delegation checked at the parent zone's servers`,
    ];
  }
  return [
    cluster,
    `  kubeconfig  ${o.kubeconfigPath}`,
    buckets,
    `  DNS zone    ${o.domain} (${infra.zoneId}), ${infra.delegated ? 'delegated from the parent zone' : 'delegate with NS:'}`,
    ...(infra.delegated ? [] : (infra.nameServers ?? []).map((ns) => `                ${ns}`)),
  ];
}
