/**
 * Every physical name Lookout derives from an instance or tenant name, in one place, so that
 * config validation can prove up front that each of them fits its cloud's limits, and so that
 * names are deterministic (a resumed run, a preflight check and a pending-create import can
 * all compute them without asking the cloud).
 */
import { createHash } from 'node:crypto';

export const TAG_INSTANCE = 'lookout:instance';
export const TAG_MANAGED_BY = 'lookout:managed-by';

/** The purposes of the instance's object storage buckets. */
export const BUCKET_PURPOSES = ['metrics', 'logs', 'rules'] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

/** IAM roles the AWS infra stack creates, by purpose. */
export const AWS_ROLE_PURPOSES = ['cluster', 'nodes', 'metrics-store', 'log-store', 'ebs-csi-driver'] as const;
export type AwsRolePurpose = (typeof AWS_ROLE_PURPOSES)[number];

/**
 * Short, stable suffix that makes global names (S3 buckets) unique per account and region,
 * so two accounts can both run an instance called `prod`.
 */
export function accountRegionSuffix(accountId: string, region: string): string {
  return createHash('sha256').update(`${accountId}:${region}`).digest('hex').slice(0, 8);
}

export function awsNames(instance: string) {
  const prefix = `lookout-${instance}`;
  return {
    clusterName: prefix,
    nodeGroupName: `${prefix}-nodes`,
    launchTemplateName: `${prefix}-nodes`,
    kmsAlias: `alias/${prefix}-eks-secrets`,
    roleName: (purpose: AwsRolePurpose) => `${prefix}-${purpose}`,
    bucketName: (purpose: BucketPurpose, suffix: string) => `${prefix}-${purpose}-${suffix}`,
    clusterLogGroup: `/aws/eks/${prefix}/cluster`,
  };
}

/** Pulumi stack names of an instance; one small stack per layer keeps snapshot rewrites cheap. */
export function stackNames(instance: string) {
  return {
    infra: `${instance}-infra`,
    platform: `${instance}-platform`,
    tenant: (tenant: string) => `${instance}-tenant-${tenant}`,
  };
}

export function tenantNamespace(tenant: string): string {
  return `tenant-${tenant}`;
}

export function tenantHost(tenant: string, domain: string): string {
  return `${tenant}.${domain}`;
}

/** Limits of the clouds' name fields that derived names must respect. */
export const NAME_LIMITS = {
  s3Bucket: 63,
  iamRole: 64,
  eksCluster: 100,
  eksNodeGroup: 63,
  launchTemplate: 128,
  kmsAlias: 256,
  k8sNamespace: 63,
  dnsLabel: 63,
  pulumiStack: 100,
} as const;

/** Each derived name of an instance, with the limit it must fit. */
export function derivedInstanceNames(instance: string): Array<{ what: string; name: string; limit: number }> {
  const n = awsNames(instance);
  const sampleSuffix = 'f'.repeat(accountRegionSuffix('0', 'x').length);
  const stacks = stackNames(instance);
  return [
    { what: 'EKS cluster name', name: n.clusterName, limit: NAME_LIMITS.eksCluster },
    { what: 'EKS node group name', name: n.nodeGroupName, limit: NAME_LIMITS.eksNodeGroup },
    { what: 'launch template name', name: n.launchTemplateName, limit: NAME_LIMITS.launchTemplate },
    { what: 'KMS alias', name: n.kmsAlias, limit: NAME_LIMITS.kmsAlias },
    ...AWS_ROLE_PURPOSES.map((p) => ({ what: `IAM role name (${p})`, name: n.roleName(p), limit: NAME_LIMITS.iamRole })),
    ...BUCKET_PURPOSES.map((p) => ({
      what: `S3 bucket name (${p})`,
      name: n.bucketName(p, sampleSuffix),
      limit: NAME_LIMITS.s3Bucket,
    })),
    { what: 'Pulumi stack name (platform)', name: stacks.platform, limit: NAME_LIMITS.pulumiStack },
  ];
}

/** The longest instance name for which every derived name fits. */
export const MAX_INSTANCE_NAME_LENGTH: number = (() => {
  let n = 1;
  while (derivedInstanceNames('a'.repeat(n + 1)).every((d) => d.name.length <= d.limit)) n++;
  return n;
})();

/**
 * The longest tenant name for which its namespace and its stack name (under the longest
 * instance name) fit. Its host, `<tenant>.<domain>`, is checked against the domain in the config.
 */
export const MAX_TENANT_NAME_LENGTH: number = Math.min(
  NAME_LIMITS.dnsLabel,
  NAME_LIMITS.k8sNamespace - tenantNamespace('').length,
  NAME_LIMITS.pulumiStack - stackNames('a'.repeat(MAX_INSTANCE_NAME_LENGTH)).tenant('').length,
);

export const RESERVED_TENANTS = ['system'] as const;

/** Namespace of the shared platform components (metrics store, log store, gateway, collector). */
export const PLATFORM_NAMESPACE = 'lookout';

/**
 * Kubernetes service accounts that receive cloud identities. The infra stack binds the
 * pod identity roles to these names, and the platform stack creates them.
 */
export const WORKLOAD_SERVICE_ACCOUNTS = {
  metricsStore: { namespace: PLATFORM_NAMESPACE, name: 'cortex' },
  logStore: { namespace: PLATFORM_NAMESPACE, name: 'loki' },
  ebsCsiController: { namespace: 'kube-system', name: 'ebs-csi-controller-sa' },
} as const;
