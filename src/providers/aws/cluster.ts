/**
 * What the cluster layers get on AWS: the kubeconfig of Lookout's own stacks (EKS tokens from
 * `lookout kube-token`), and the platform's cloud settings: S3 with the stores' IAM roles, the
 * NLB in front of the gateway, encrypted gp3 volumes, and the Route53 CNAME for the tenant hosts.
 */
import * as aws from '@pulumi/aws';
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
  'clusterName' | 'clusterEndpoint' | 'clusterCertificateAuthority' | 'region' | 'buckets' | 'zoneId' | 'roleArns'
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

/** The platform's AWS settings for an instance, from its infra outputs. */
export function awsPlatformCloud(instance: string, infra: Pick<ClusterInfra, 'region' | 'buckets' | 'zoneId' | 'roleArns'>): PlatformCloud {
  const region = infra.region;
  const metricsRoleArn = infra.roleArns.metricsStore;
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
      // Cortex 1.19 is built with an AWS SDK that predates EKS Pod Identity, so its role is also
      // trusted through the cluster's OIDC provider, for this service account only (IRSA).
      ...(metricsRoleArn ? { serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': metricsRoleArn } } : {}),
    },
    // Loki's role comes from EKS Pod Identity, bound to its service account by the infra stack.
    logStore: { storage: { backend: 's3', region, bucket: infra.buckets.logs! } },
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
