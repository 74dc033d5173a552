/**
 * The `infra` stack of a GCP instance: network, GKE cluster and node pool, GCS buckets, the
 * Workload Identity service accounts of the platform's workloads, and the Cloud DNS zone. It
 * composes the `@lookout/gcp` components; every physical name comes from `gcpNames()`, so the
 * preflight and resumed runs compute them without asking GCP.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { BucketAccessIdentity, DnsZone, GkeCluster, GkeNodePool, Network, ObservabilityBuckets } from '@lookout/gcp';
import { longestRetentionDays } from '../../config/retention.js';
import type { LookoutConfig } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { WORKLOAD_SERVICE_ACCOUNTS, type BucketPurpose } from '../../naming.js';
import { gcpVersion } from './config.js';
import { LABEL_INSTANCE, gcpNames, instanceBucketNames, type GcpServiceAccountPurpose } from './naming.js';
import { gcpLocation, gcpZoneCount } from './settings.js';

export const INFRA_GCP_PROJECT = 'lookout-infra-gcp';

export interface InfraGcpArgs {
  instance: string;
  /** Validated config; `config.gcp` must be present. */
  config: LookoutConfig;
  /** Managed zone (in the same project) to add the NS delegation to, as resolved by the preflight. */
  parentZoneName?: string;
  /** Default true; destroy applies false first, because GKE refuses to delete a protected cluster. */
  deletionProtection?: boolean;
  /** The secrets key ring and key that exist already, as the preflight found them: imported, not created. */
  existingSecretsKey?: { keyRing: boolean; key: boolean };
}

/** The stack outputs as the CLI reads them back. */
export interface InfraGcpOutputs {
  project: string;
  region: string;
  /** The cluster's location: the region, or the zone of a zonal cluster. */
  location: string;
  clusterName: string;
  clusterEndpoint: string;
  clusterCertificateAuthority: string;
  buckets: Record<BucketPurpose, string>;
  zoneName: string;
  nameServers: string[];
  delegated: boolean;
  /** Emails of the Google service accounts, by purpose. */
  serviceAccounts: Record<GcpServiceAccountPurpose, string>;
  /** The cluster's own networks: nodes, pods and Services. */
  clusterCidrs: string[];
  networkName: string;
  secretsKeyId: string;
  deletionProtection: boolean;
}

export type InfraGcpProgramOutputs = { [K in keyof InfraGcpOutputs]: pulumi.Output<InfraGcpOutputs[K]> };

export function instanceLabels(instance: string): Record<string, string> {
  return { [LABEL_INSTANCE]: instance };
}

export function infraGcpProgram(args: InfraGcpArgs): () => Promise<InfraGcpProgramOutputs> {
  const config = args.config.gcp;
  if (!config) {
    throw new UsageError(`instance "${args.instance}" has no \`gcp\` section in its config`, {
      hint: 'Add a `gcp:` section with at least `project`, `region` and `apiAllowedCidrs`.',
    });
  }
  return async () => {
    const names = gcpNames(args.instance);
    const labels = instanceLabels(args.instance);
    const { project, region } = config;
    const location = gcpLocation(config);
    // Default labels reach resources the components do not label themselves; they label explicitly too.
    const provider = new gcp.Provider('gcp', { project, region, defaultLabels: labels });
    const opts = { provider };

    const network = new Network('network', { region, namePrefix: names.networkName }, opts);
    const deletionProtection = args.deletionProtection ?? true;
    const cluster = new GkeCluster(
      'gke',
      {
        clusterName: names.clusterName,
        project,
        location,
        version: gcpVersion(config),
        network: network.networkId,
        subnetwork: network.subnetworkSelfLink,
        podRangeName: network.podRangeName,
        serviceRangeName: network.serviceRangeName,
        authorizedNetworks: config.apiAllowedCidrs,
        secretsKey: {
          keyRingName: names.keyRingName,
          keyName: names.secretsKeyName,
          ...(args.existingSecretsKey ? { existing: args.existingSecretsKey } : {}),
        },
        nodeServiceAccountId: names.serviceAccountId('nodes'),
        deletionProtection,
        labels,
      },
      opts,
    );
    const zones = gcpZoneCount(config);
    new GkeNodePool(
      'nodes',
      {
        project,
        cluster: cluster.clusterName,
        location,
        nodePoolName: names.nodePoolName,
        machineType: config.nodes.machineType,
        diskType: config.nodes.diskType,
        diskSizeGb: config.nodes.diskGiB,
        minNodes: config.nodes.min,
        maxNodes: config.nodes.max,
        // GKE creates this many in each zone; the autoscaler then keeps the total within min and max.
        initialNodesPerZone: Math.max(1, Math.ceil(config.nodes.min / zones)),
        serviceAccountEmail: cluster.nodeServiceAccountEmail,
        labels,
      },
      opts,
    );

    const bucketNames = instanceBucketNames(args.instance, project, region);
    const storage = new ObservabilityBuckets(
      'storage',
      { project, location: region, bucketNames, longestRetentionDays: longestRetentionDays(args.config), labels },
      opts,
    );

    // Cortex's blocks workloads get the metrics bucket; its ruler and Alertmanager (whose
    // receivers call URLs tenants choose) an account each, on the rules bucket only.
    const identity = (purpose: Exclude<GcpServiceAccountPurpose, 'nodes'>, bucket: BucketPurpose) =>
      new BucketAccessIdentity(
        purpose === 'metricsStore' ? 'metrics-store' : purpose === 'logStore' ? 'log-store' : purpose,
        {
          project,
          accountId: names.serviceAccountId(purpose),
          workloadPool: cluster.workloadPool,
          serviceAccount: WORKLOAD_SERVICE_ACCOUNTS[purpose],
          bucketNames: [storage.buckets[bucket].name],
        },
        opts,
      );
    const metricsStore = identity('metricsStore', 'metrics');
    const ruler = identity('ruler', 'rules');
    const alertmanager = identity('alertmanager', 'rules');
    const logStore = identity('logStore', 'logs');

    const dns = new DnsZone(
      'dns',
      {
        project,
        zoneName: names.dnsZoneName,
        domain: args.config.dns.domain,
        ...(args.parentZoneName === undefined ? {} : { parentZoneName: args.parentZoneName }),
        description: `Lookout instance ${args.instance}`,
        labels,
      },
      opts,
    );

    return {
      project: pulumi.output(project),
      region: pulumi.output(region),
      location: pulumi.output(location),
      clusterName: cluster.clusterName,
      clusterEndpoint: cluster.endpoint,
      clusterCertificateAuthority: cluster.certificateAuthorityData,
      buckets: storage.bucketNames,
      zoneName: dns.zoneName,
      nameServers: dns.nameServers,
      delegated: pulumi.output(dns.delegated),
      serviceAccounts: pulumi
        .all([metricsStore.email, ruler.email, alertmanager.email, logStore.email, cluster.nodeServiceAccountEmail])
        .apply(([m, r, a, l, n]) => ({ metricsStore: m, ruler: r, alertmanager: a, logStore: l, nodes: n })),
      clusterCidrs: pulumi.output([network.ranges.nodes, network.ranges.pods, network.ranges.services]),
      networkName: network.network.name,
      secretsKeyId: cluster.secretsKeyId,
      deletionProtection: pulumi.output(deletionProtection),
    };
  };
}
