/**
 * IAM policy documents as typed values. They are built in code (not with the
 * `iam.getPolicyDocument` invoke) so a preview needs no extra API calls and tests can read
 * them straight from the registered inputs.
 */
import * as pulumi from '@pulumi/pulumi';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | { Service?: string | string[]; AWS?: string | string[] };
  Action: string | string[];
  Resource?: pulumi.Input<string> | pulumi.Input<string>[];
  Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** Serializes a document whose resources may still be unknown (ARNs of resources being created). */
export function policyJson(document: PolicyDocument): pulumi.Output<string> {
  return pulumi.jsonStringify(document);
}

/** Trust policy that lets an AWS service assume the role. */
export function serviceTrustPolicy(service: string, actions: string[] = ['sts:AssumeRole']): string {
  const document: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: actions }],
  };
  return JSON.stringify(document);
}

/**
 * Trust policy of an EKS Pod Identity role. The agent assumes the role and tags the session
 * with the cluster, namespace and service account, hence `sts:TagSession`.
 */
export function podIdentityTrustPolicy(): string {
  return serviceTrustPolicy('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']);
}

/** ARN of an AWS managed IAM policy in the given partition (`aws`, `aws-cn`, `aws-us-gov`). */
export function awsManagedPolicyArn(partition: pulumi.Input<string>, policyName: string): pulumi.Output<string> {
  return pulumi.interpolate`arn:${partition}:iam::aws:policy/${policyName}`;
}
