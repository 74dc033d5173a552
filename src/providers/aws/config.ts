/**
 * The `aws` block of lookout.yaml: region, zones, NAT gateways, the node group, the EKS
 * version, cluster admins and who may reach the API. Loaded by the config schema; zod only.
 */
import { z } from 'zod';
import type { ProviderConfigBlock } from '../types.js';
import { controlPlaneAccessFields, refuseWholeInternet, wholeInternetWarnings, type ControlPlaneAccess } from '../../config/cidrs.js';
import { derivedAwsNames } from './naming.js';

/** EKS quota "Public endpoint access CIDR ranges per cluster" (not adjustable). */
export const MAX_API_ALLOWED_CIDRS = 40;
/** Each admin is an EKS access entry and a policy association in the infra stack; keep that stack small. */
export const MAX_CLUSTER_ADMINS = 100;

const ACCESS: ControlPlaneAccess = { provider: 'aws', endpoint: 'the Kubernetes API endpoint' };

const nodesSchema = z
  .strictObject({
    instanceType: z
      .string()
      .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: 'must be an EC2 instance type such as m7i.xlarge' })
      .default('m7i.xlarge')
      .meta({ description: 'EC2 instance type of the nodes.' }),
    min: z.number().int().min(1).max(100).default(3).meta({ description: 'Minimum number of nodes.' }),
    desired: z.number().int().min(1).max(100).default(3).meta({ description: 'Number of nodes to run.' }),
    max: z.number().int().min(1).max(100).default(6).meta({ description: 'Maximum number of nodes.' }),
    diskGiB: z.number().int().min(20).max(2000).default(100).meta({ description: 'Root volume size (gp3, encrypted).' }),
  })
  .prefault({})
  .meta({ description: 'The managed node group, in the private subnets.' })
  .superRefine(
    (n, ctx) => {
      const num = (v: unknown): v is number => typeof v === 'number';
      if (num(n?.min) && num(n?.desired) && n.min > n.desired) {
        ctx.addIssue({ code: 'custom', path: ['desired'], message: `must be at least min (${n.min}), found ${n.desired}` });
      }
      if (num(n?.desired) && num(n?.max) && n.desired > n.max) {
        ctx.addIssue({ code: 'custom', path: ['max'], message: `must be at least desired (${n.desired}), found ${n.max}` });
      }
    },
    { when: () => true },
  );

export const awsSchema = z.strictObject({
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, { message: 'must be an AWS region such as eu-west-1' })
    .meta({ description: 'AWS region of the instance.' }),
  availabilityZones: z.number().int().min(2).max(3).default(3).meta({ description: 'Number of availability zones (2–3).' }),
  natGateways: z
    .enum(['one-per-az', 'single'])
    .default('one-per-az')
    .meta({ description: '`one-per-az` survives an AZ outage; `single` saves cost.' }),
  nodes: nodesSchema,
  kubernetesVersion: z
    .string()
    .regex(/^1\.(2[89]|3[0-9])$/, { message: 'must be an EKS Kubernetes version such as 1.34' })
    .default('1.34')
    .meta({ description: 'EKS Kubernetes version (quote it: 1.30 unquoted is the number 1.3).' }),
  clusterAdmins: z
    .array(
      z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/, {
        message: 'must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/platform-team',
      }),
    )
    .max(MAX_CLUSTER_ADMINS)
    .default([])
    .meta({
      description:
        'IAM roles or users that get cluster admin besides the identity that created the instance; anyone who runs ' +
        '`upgrade` or `destroy` needs to be one of them.',
    }),
  ...controlPlaneAccessFields({
    ...ACCESS,
    ipv6Message: 'must be an IPv4 CIDR: Lookout creates an IPv4 cluster, and EKS accepts IPv6 CIDRs only for the endpoint of an IPv6 cluster',
    max: MAX_API_ALLOWED_CIDRS,
    maxMessage: `must have at most ${MAX_API_ALLOWED_CIDRS} CIDRs (an EKS limit that cannot be raised)`,
    description: 'IPv4 CIDRs allowed to reach the public Kubernetes API endpoint. Include the address of the machine that runs lookout.',
  }),
}).superRefine((aws, ctx) => refuseWholeInternet(aws, ctx, ACCESS), { when: () => true });

export type AwsConfig = z.output<typeof awsSchema>;

export const awsConfigBlock: ProviderConfigBlock<typeof awsSchema> = {
  id: 'aws',
  schema: awsSchema,
  description: 'AWS settings; required when the provider is aws.',
  requiredFields: 'it needs at least region and apiAllowedCidrs',
  derivedNames: derivedAwsNames,
  location: (aws) => ({ field: 'aws.region', value: aws.region }),
  warnings: (aws) => wholeInternetWarnings(aws.apiAllowedCidrs, ACCESS),
  summary(aws) {
    return [
      ['region', aws.region],
      ['zones', `${aws.availabilityZones} availability zones, NAT ${aws.natGateways}`],
      ['nodes', `${aws.nodes.desired} × ${aws.nodes.instanceType} (min ${aws.nodes.min}, max ${aws.nodes.max})`],
    ];
  },
};
