/**
 * The AWS provider: a VPC, EKS, S3, IAM and Route53 per instance. This module only wires the
 * folder's parts to the CloudProvider interface; each part, and with it Pulumi and the AWS
 * SDK, is imported when first used, so loading the provider costs nothing.
 */
import type { CloudProvider, RecordedInfra } from '../types.js';
import { awsConfigOf } from './settings.js';
import { AWS_COST_BASIS, estimateAwsCost } from './cost.js';
import { AWS_CREATE_DURATIONS } from './create-durations.js';
import { describeAwsInfra, describeAwsLocation } from './describe.js';
import { AWS_IMPORT_IDS } from './import-ids.js';
import type { InfraStepOutputs } from './infra-steps.js';
import { awsTeardown } from './teardown.js';

/** The infra step's recorded outputs, which the AWS steps wrote. */
const recorded = (infra: RecordedInfra) => infra as unknown as InfraStepOutputs;

export const awsProvider: CloudProvider = {
  id: 'aws',
  pulumiPackages: ['@pulumi/aws'],
  importIds: AWS_IMPORT_IDS,
  managesDnsZone: true,
  costBasis: AWS_COST_BASIS,
  createDurations: AWS_CREATE_DURATIONS,

  plan: async (config) => (await import('./plan.js')).planAws(config),
  estimateCost: (resources, config) => estimateAwsCost(resources, awsConfigOf(config).nodes, awsConfigOf(config).region),

  infraSteps: async (c) => (await import('./infra-steps.js')).awsInfraSteps(c),
  previewInfra: async (c, ctx) => (await import('./infra-steps.js')).previewInfra(c, ctx),

  clusterLayers: async (c, infra) => (await import('./cluster.js')).awsClusterLayers(c.name, recorded(infra)),
  clusterFingerprint: (infra) => {
    const i = recorded(infra);
    return { cluster: i.clusterEndpoint, platform: { endpoint: i.clusterEndpoint, buckets: i.buckets, zoneId: i.zoneId, clusterCidrs: i.clusterCidrs } };
  },
  tenantDataStore: async (record, infra) => {
    const [{ S3Client }, { s3PrefixObjects }] = await Promise.all([import('@aws-sdk/client-s3'), import('../../tenants/delete-data.js')]);
    return {
      buckets: recorded(infra).buckets,
      objects: await s3PrefixObjects(new S3Client({ region: record.region })),
      url: (bucket, prefix) => `s3://${bucket}/${prefix}`,
    };
  },
  dnsZone: (infra) => ({ nameServers: recorded(infra).nameServers, delegated: recorded(infra).delegated }),
  defaultSolver: async (_c, infra) => {
    const [{ Route53Client }, { Route53Solver }] = await Promise.all([import('@aws-sdk/client-route-53'), import('./route53-solver.js')]);
    // Route53's API lives in us-east-1 whatever the instance's region.
    return new Route53Solver({ client: new Route53Client({ region: 'us-east-1', maxAttempts: 5, retryMode: 'adaptive' }), hostedZoneId: recorded(infra).zoneId });
  },

  teardown: awsTeardown,

  describeLocation: (infra) => describeAwsLocation(recorded(infra)),
  describeInfra: (infra, o) => describeAwsInfra(recorded(infra), o),

  kubeToken: async (argv) => (await import('./kube-token.js')).awsKubeToken(argv),
};
