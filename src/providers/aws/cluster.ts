/**
 * What the cluster layers get on AWS: the kubeconfig of Lookout's own stacks (EKS tokens from
 * `lookout kube-token`), and the platform's cloud settings: S3 with the stores' IAM roles, the
 * NLB in front of the gateway, encrypted gp3 volumes, and the Route53 CNAME for the tenant hosts.
 */
import * as aws from '@pulumi/aws';
import { internetEgress, tcpPorts, type EgressRule } from '@lookout/kube';
import { FailureError } from '../../errors.js';
import { SHIM_COMMAND } from '../../k8s/exec-shim.js';
import { execKubeconfig } from '../../k8s/provider-kubeconfig.js';
import type { ClusterLayers, PlatformCloud } from '../types.js';
import type { InfraStepOutputs } from './infra-steps.js';
import { TAG_INSTANCE, awsNames } from './naming.js';

/** How Lookout's stacks reach an EKS cluster. */
export interface ClusterAccess {
  clusterName: string;
  endpoint: string;
  /** Base64 PEM of the cluster CA, as EKS returns it. */
  certificateAuthorityData: string;
  region: string;
}

/** What the cluster layers read of the infra outputs. */
export type ClusterInfra = Pick<
  InfraStepOutputs,
  'clusterName' | 'clusterEndpoint' | 'clusterCertificateAuthority' | 'region' | 'buckets' | 'zoneId' | 'roleArns' | 'clusterCidrs'
>;

export function clusterAccess(infra: ClusterInfra): ClusterAccess {
  return {
    clusterName: infra.clusterName,
    endpoint: infra.clusterEndpoint,
    certificateAuthorityData: infra.clusterCertificateAuthority,
    region: infra.region,
  };
}

/**
 * The stacks' kubeconfig. Its exec plugin runs plain `lookout` (the state is shared, so no
 * machine's paths go into it) with exactly these arguments: kubeconfigs in existing state
 * run them, and `lookout kube-token` without `--provider` means AWS for that reason.
 */
export function awsStackKubeconfig(cluster: ClusterAccess): string {
  return execKubeconfig({
    name: cluster.clusterName,
    server: cluster.endpoint,
    certificateAuthorityData: cluster.certificateAuthorityData,
    exec: { command: SHIM_COMMAND, args: ['kube-token', '--cluster', cluster.clusterName, '--region', cluster.region] },
  });
}

/** NLB via the cloud controller built into EKS: internet-facing, client IPs kept, tagged for the teardown's scan. */
export function nlbAnnotations(instance: string): Record<string, string> {
  return {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    'service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled': 'true',
    'service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags': `${TAG_INSTANCE}=${instance}`,
  };
}

/**
 * The cluster's own CIDRs from the infra outputs. Outputs recorded before they were one have
 * none: `upgrade` runs the infra step again and records them; anything else stops here rather
 * than install a platform without its network policies.
 */
function clusterCidrsOf(infra: Pick<ClusterInfra, 'clusterCidrs'>): string[] {
  if (!infra.clusterCidrs?.length) {
    throw new FailureError('the recorded infra outputs have no cluster CIDRs (they were recorded by an older lookout)', {
      hint: 'Run `lookout upgrade` for this instance: it re-applies the infra stack and records them.',
    });
  }
  return infra.clusterCidrs;
}

/**
 * How the stores reach S3 and their credentials: HTTPS to public addresses (S3, STS), and the
 * EKS Pod Identity agent on the node's link-local address.
 */
function objectStorageEgress(clusterCidrs: string[]): EgressRule[] {
  return [internetEgress(clusterCidrs, [443]), { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: tcpPorts(80) }];
}

/**
 * Cortex 1.19 is built with an AWS SDK that predates EKS Pod Identity, so its roles (blocks;
 * ruler and Alertmanager on the rules bucket only) are also trusted through the cluster's OIDC
 * provider, each for its own service account (IRSA).
 */
function cortexRoleAnnotations(roleArns: Record<string, string>): NonNullable<PlatformCloud['metricsStore']['serviceAccountAnnotations']> {
  const identities = { blocks: roleArns.metricsStore, ruler: roleArns.ruler, alertmanager: roleArns.alertmanager };
  return Object.fromEntries(Object.entries(identities).flatMap(([identity, arn]) => (arn ? [[identity, { 'eks.amazonaws.com/role-arn': arn }]] : [])));
}

/** The platform's AWS settings for an instance, from its infra outputs. */
export function awsPlatformCloud(instance: string, infra: Pick<ClusterInfra, 'region' | 'buckets' | 'zoneId' | 'roleArns' | 'clusterCidrs'>): PlatformCloud {
  const region = infra.region;
  const clusterCidrs = clusterCidrsOf(infra);
  return {
    clusterName: awsNames(instance).clusterName,
    storageClass: {
      name: 'lookout-gp3',
      // The stores keep their data in S3; the volumes hold only WALs and caches.
      create: { resourceName: 'gp3', provisioner: 'ebs.csi.aws.com', parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' } },
    },
    metricsStore: {
      // Cortex's S3 client needs the endpoint; Loki's derives it from the region.
      storage: { backend: 's3', region, endpoint: `s3.${region}.amazonaws.com`, blocksBucket: infra.buckets.metrics!, rulesBucket: infra.buckets.rules! },
      serviceAccountAnnotations: cortexRoleAnnotations(infra.roleArns),
    },
    // Loki's role comes from EKS Pod Identity, bound to its service account by the infra stack.
    // Its own S3 client derives the endpoint from the region; its Thanos client (the
    // ruler_storage layout, bundle 2026.12.0 on) needs it given.
    logStore: { storage: { backend: 's3', region, bucket: infra.buckets.logs!, defaultEndpoint: `s3.${region}.amazonaws.com` } },
    // The VPC holds the nodes and, with the VPC CNI, the pods; the Services' CIDR is EKS's choice.
    network: { clusterCidrs, objectStorageEgress: objectStorageEgress(clusterCidrs) },
    gateway: { service: { annotations: nlbAnnotations(instance), externalTrafficPolicy: 'Local' } },
    tenantHostsRecord({ domain, target }) {
      const provider = new aws.Provider('aws', { region, defaultTags: { tags: { [TAG_INSTANCE]: instance } } });
      new aws.route53.Record('tenant-hosts', { zoneId: infra.zoneId, name: `*.${domain}`, type: 'CNAME', ttl: 60, records: [target] }, { provider });
    },
  };
}

export function awsClusterLayers(instance: string, infra: ClusterInfra): ClusterLayers {
  return { kubeconfig: awsStackKubeconfig(clusterAccess(infra)), platform: awsPlatformCloud(instance, infra) };
}
