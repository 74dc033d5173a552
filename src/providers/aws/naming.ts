/**
 * Every physical name the AWS provider derives from an instance name, in one place, so that
 * config validation can prove up front that each fits AWS's limits, and so that names are
 * deterministic: a resumed run, a preflight check and a pending-create import all compute
 * them without asking AWS.
 */
import { createHash } from 'node:crypto';
import { BUCKET_PURPOSES, type BucketPurpose } from '../../naming.js';
import type { DerivedName } from '../types.js';

/** Tags every taggable resource carries; destroy and the preflight find the instance by them. */
export const TAG_INSTANCE = 'lookout:instance';
export const TAG_MANAGED_BY = 'lookout:managed-by';

/** IAM roles the infra stack creates, by purpose. */
export const AWS_ROLE_PURPOSES = ['cluster', 'nodes', 'metrics-store', 'ruler', 'alertmanager', 'log-store', 'ebs-csi-driver'] as const;
export type AwsRolePurpose = (typeof AWS_ROLE_PURPOSES)[number];

/** The EBS CSI driver's controller, which the infra stack gives a pod identity role. */
export const EBS_CSI_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'ebs-csi-controller-sa' } as const;

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

/** Limits of AWS's name fields that derived names must respect. */
export const AWS_NAME_LIMITS = {
  s3Bucket: 63,
  iamRole: 64,
  eksCluster: 100,
  eksNodeGroup: 63,
  launchTemplate: 128,
  kmsAlias: 256,
} as const;

/** Each AWS name derived from an instance, with the limit it must fit. */
export function derivedAwsNames(instance: string): DerivedName[] {
  const n = awsNames(instance);
  const sampleSuffix = 'f'.repeat(accountRegionSuffix('0', 'x').length);
  return [
    { what: 'EKS cluster name', name: n.clusterName, limit: AWS_NAME_LIMITS.eksCluster },
    { what: 'EKS node group name', name: n.nodeGroupName, limit: AWS_NAME_LIMITS.eksNodeGroup },
    { what: 'launch template name', name: n.launchTemplateName, limit: AWS_NAME_LIMITS.launchTemplate },
    { what: 'KMS alias', name: n.kmsAlias, limit: AWS_NAME_LIMITS.kmsAlias },
    ...AWS_ROLE_PURPOSES.map((p) => ({ what: `IAM role name (${p})`, name: n.roleName(p), limit: AWS_NAME_LIMITS.iamRole })),
    ...BUCKET_PURPOSES.map((p) => ({ what: `S3 bucket name (${p})`, name: n.bucketName(p, sampleSuffix), limit: AWS_NAME_LIMITS.s3Bucket })),
  ];
}

/** The instance's bucket names in an account and region, as the infra stack derives them. */
export function instanceBucketNames(instance: string, accountId: string, region: string): Record<BucketPurpose, string> {
  const names = awsNames(instance);
  const suffix = accountRegionSuffix(accountId, region);
  return Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, names.bucketName(p, suffix)])) as Record<BucketPurpose, string>;
}
