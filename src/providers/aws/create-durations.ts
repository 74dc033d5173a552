/**
 * Typical create durations of the AWS infra stack's resource types, for the critical path that
 * `plan aws` estimates (src/plan/critical-path.ts). Every figure is a typical time for a
 * healthy create (Lookout's estimate; not measured by Lookout, and not a bound). The bound is
 * the provider's default create timeout, named for the slow types as the `Timeouts` section of
 * the terraform-provider-aws docs gives it (website/docs/r/<resource>.html.markdown; @pulumi/aws
 * bridges that provider). Types not listed count UNKNOWN_TYPE_SECONDS.
 */
import type { CreateDurationTable } from '../../plan/critical-path.js';

export const AWS_CREATE_DURATIONS: CreateDurationTable = {
  // EC2 networking: synchronous calls, seconds.
  'aws:ec2/vpc:Vpc': { label: 'network', seconds: 15 },
  'aws:ec2/subnet:Subnet': { label: 'subnet', seconds: 10 },
  'aws:ec2/internetGateway:InternetGateway': { label: 'internet gateway', seconds: 10 },
  'aws:ec2/eip:Eip': { label: 'elastic IP', seconds: 5 },
  // Pending to available typically takes one to two minutes.
  'aws:ec2/natGateway:NatGateway': { label: 'NAT gateway', seconds: 120 },
  'aws:ec2/routeTable:RouteTable': { label: 'route table', seconds: 5 },
  'aws:ec2/route:Route': { label: 'route', seconds: 5 },
  'aws:ec2/vpcEndpoint:VpcEndpoint': { label: 'VPC endpoint', seconds: 30 },
  // The slow one: an EKS control plane typically takes about 10 minutes (default create timeout 30 min).
  'aws:eks/cluster:Cluster': { label: 'EKS cluster', seconds: 600 },
  // Instances launched and joined: typically 3 to 5 minutes (default create timeout 60 min).
  'aws:eks/nodeGroup:NodeGroup': { label: 'node group', seconds: 240 },
  // An add-on waits for its pods to run on the nodes: typically a minute (default create timeout 20 min).
  'aws:eks/addon:Addon': { label: 'EKS add-on', seconds: 60 },
  'aws:eks/accessEntry:AccessEntry': { label: 'access entry', seconds: 5 },
  'aws:eks/accessPolicyAssociation:AccessPolicyAssociation': { label: 'access policy', seconds: 5 },
  'aws:eks/podIdentityAssociation:PodIdentityAssociation': { label: 'pod identity', seconds: 10 },
  'aws:iam/openIdConnectProvider:OpenIdConnectProvider': { label: 'OIDC provider', seconds: 5 },
  // IAM is eventually consistent; the provider retries while a new role propagates: seconds.
  'aws:iam/role:Role': { label: 'IAM role', seconds: 10 },
  'aws:iam/rolePolicy:RolePolicy': { label: 'IAM policy', seconds: 5 },
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment': { label: 'IAM policy attachment', seconds: 5 },
  'aws:kms/key:Key': { label: 'KMS key', seconds: 10 },
  'aws:kms/alias:Alias': { label: 'KMS alias', seconds: 5 },
  // Route 53 changes wait until INSYNC: typically under a minute.
  'aws:route53/zone:Zone': { label: 'DNS zone', seconds: 45 },
  'aws:route53/record:Record': { label: 'DNS record', seconds: 45 },
  'aws:s3/bucket:Bucket': { label: 'bucket', seconds: 10 },
  'aws:cloudwatch/logGroup:LogGroup': { label: 'log group', seconds: 5 },
  'aws:ec2/launchTemplate:LaunchTemplate': { label: 'launch template', seconds: 5 },
};
