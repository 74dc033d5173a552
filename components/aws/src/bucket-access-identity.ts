/**
 * An IAM role that one Kubernetes service account assumes through EKS Pod Identity, allowed
 * to read and write the objects of the given buckets and to use their KMS key, and nothing
 * else. No statement names a wildcard resource.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { podIdentityTrustPolicy, policyJson, type PolicyDocument } from './policies.js';
import type { Tags } from './tags.js';

export const BUCKET_LEVEL_ACTIONS = ['s3:ListBucket', 's3:GetBucketLocation'] as const;
export const OBJECT_LEVEL_ACTIONS = ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] as const;
/** SSE-KMS: reading needs Decrypt, writing needs GenerateDataKey. */
export const KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

export interface BucketAccessIdentityArgs {
  /** Physical IAM role name. */
  roleName: string;
  clusterName: pulumi.Input<string>;
  serviceAccount: { namespace: string; name: string };
  /** ARNs of the buckets the workload may use (at least one). */
  bucketArns: pulumi.Input<string>[];
  /** The buckets' SSE-KMS key. */
  kmsKeyArn: pulumi.Input<string>;
  /**
   * Also trust the cluster's OIDC provider (IRSA) for the same service account, for workloads
   * built with an AWS SDK that predates Pod Identity (Cortex 1.19 ships aws-sdk-go-v2/config
   * v1.15, which cannot use the Pod Identity agent). The SDKs try web identity first.
   */
  webIdentity?: { providerArn: pulumi.Input<string>; issuerUrl: pulumi.Input<string> };
  tags?: Tags;
}

/** Pod Identity, and optionally web identity for exactly one service account. */
export function workloadTrustPolicy(
  serviceAccount: { namespace: string; name: string },
  webIdentity?: { providerArn: pulumi.Input<string>; issuerUrl: pulumi.Input<string> },
): pulumi.Output<string> {
  const podIdentity = JSON.parse(podIdentityTrustPolicy()) as PolicyDocument;
  if (!webIdentity) return pulumi.output(JSON.stringify(podIdentity));
  return pulumi.all([webIdentity.providerArn, webIdentity.issuerUrl]).apply(([providerArn, issuerUrl]) => {
    const issuer = issuerUrl.replace(/^https:\/\//, '');
    return JSON.stringify({
      ...podIdentity,
      Statement: [
        ...podIdentity.Statement,
        {
          Sid: 'ServiceAccountWebIdentity',
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: {
            StringEquals: {
              [`${issuer}:sub`]: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
              [`${issuer}:aud`]: 'sts.amazonaws.com',
            },
          },
        },
      ],
    });
  });
}

/** The role's permissions as a document; exported so the scoping can be tested without a program. */
export function bucketAccessPolicy(
  bucketArns: pulumi.Input<string>[],
  kmsKeyArn: pulumi.Input<string>,
  region: pulumi.Input<string>,
): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Buckets', Effect: 'Allow', Action: [...BUCKET_LEVEL_ACTIONS], Resource: bucketArns },
      {
        Sid: 'Objects',
        Effect: 'Allow',
        Action: [...OBJECT_LEVEL_ACTIONS],
        Resource: bucketArns.map((arn) => pulumi.interpolate`${arn}/*`),
      },
      {
        Sid: 'StorageKey',
        Effect: 'Allow',
        Action: [...KEY_ACTIONS],
        Resource: kmsKeyArn,
        // Only when S3 uses the key on the workload's behalf, not for direct KMS calls.
        Condition: { StringEquals: { 'kms:ViaService': pulumi.interpolate`s3.${region}.amazonaws.com` } },
      },
    ],
  };
}

export class BucketAccessIdentity extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly roleArn: pulumi.Output<string>;
  readonly association: aws.eks.PodIdentityAssociation;
  readonly policy: pulumi.Output<string>;

  constructor(name: string, args: BucketAccessIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering, so a bad argument leaves no half-registered component.
    if (args.bucketArns.length === 0) throw new Error(`BucketAccessIdentity ${name}: give at least one bucket ARN`);
    super('lookout:aws:BucketAccessIdentity', name, {}, opts);
    const parent = { parent: this };
    const tags = args.tags ?? {};
    const region = aws.getRegionOutput({}, parent).region;
    const { namespace, name: serviceAccount } = args.serviceAccount;

    this.role = new aws.iam.Role(
      name,
      {
        name: args.roleName,
        description: `Pod Identity role of ${namespace}/${serviceAccount}`,
        assumeRolePolicy: workloadTrustPolicy(args.serviceAccount, args.webIdentity),
        tags,
      },
      parent,
    );
    this.roleArn = this.role.arn;
    this.policy = policyJson(bucketAccessPolicy(args.bucketArns, args.kmsKeyArn, region));
    new aws.iam.RolePolicy(name, { role: this.role.name, name: 'object-storage', policy: this.policy }, parent);
    this.association = new aws.eks.PodIdentityAssociation(
      name,
      { clusterName: args.clusterName, namespace, serviceAccount, roleArn: this.role.arn, tags },
      parent,
    );

    this.registerOutputs({ roleArn: this.roleArn, associationArn: this.association.associationArn });
  }
}
