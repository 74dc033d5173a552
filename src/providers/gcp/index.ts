/**
 * The GCP provider: a VPC, GKE, GCS, Workload Identity and Cloud DNS per instance. This module
 * only wires the folder's parts to the CloudProvider interface; each part, and with it Pulumi
 * and the Google client libraries, is imported when first used, so loading the provider costs
 * nothing.
 */
import type { CloudProvider, RecordedInfra } from '../types.js';
import { GCP_COST_BASIS, estimateGcpCost } from './cost.js';
import { GCP_CREATE_DURATIONS } from './create-durations.js';
import { describeGcpInfra, describeGcpLocation } from './describe.js';
import type { GcpInfraStepOutputs } from './infra-steps.js';
import { gcpConfigOf } from './settings.js';
import { gcpTeardown } from './teardown.js';

/** The infra step's recorded outputs, which the GCP steps wrote. */
const recorded = (infra: RecordedInfra) => infra as unknown as GcpInfraStepOutputs;

export const gcpProvider: CloudProvider = {
  id: 'gcp',
  pulumiPackages: ['@pulumi/gcp'],
  importIds: {},
  managesDnsZone: true,
  costBasis: GCP_COST_BASIS,
  createDurations: GCP_CREATE_DURATIONS,

  plan: async (config) => (await import('./plan.js')).planGcp(config),
  estimateCost: (resources, config) => estimateGcpCost(resources, gcpConfigOf(config)),

  infraSteps: async (c) => (await import('./infra-steps.js')).gcpInfraSteps(c),
  previewInfra: async (c, ctx) => (await import('./infra-steps.js')).previewGcpInfra(c, ctx),

  clusterLayers: async (c, infra) => (await import('./cluster.js')).gcpClusterLayers(c.name, recorded(infra)),
  clusterFingerprint: (infra) => {
    const i = recorded(infra);
    return { cluster: i.clusterEndpoint, platform: { endpoint: i.clusterEndpoint, buckets: i.buckets, zoneName: i.zoneName, clusterCidrs: i.clusterCidrs } };
  },
  dnsZone: (infra) => ({ nameServers: recorded(infra).nameServers, delegated: recorded(infra).delegated }),
  defaultSolver: async (_c, infra) => {
    const [{ DNS }, { CloudDnsSolver }] = await Promise.all([import('@google-cloud/dns'), import('../../tls/solvers/cloud-dns.js')]);
    return new CloudDnsSolver({ dns: new DNS({ projectId: recorded(infra).project }), managedZone: recorded(infra).zoneName });
  },

  teardown: gcpTeardown,
  tenantDataStore: async (_record, infra) => {
    const [{ googleHttp }, { gcsPrefixObjects }] = await Promise.all([import('./infra-steps.js'), import('./delete-bucket.js')]);
    return {
      buckets: recorded(infra).buckets,
      objects: gcsPrefixObjects(await googleHttp()),
      url: (bucket, prefix) => `gs://${bucket}/${prefix}`,
    };
  },

  describeLocation: (infra) => describeGcpLocation(recorded(infra)),
  describeInfra: (infra, o) => describeGcpInfra(recorded(infra), o),

  kubeToken: async (argv) => (await import('./kube-token.js')).gcpKubeToken(argv),
};
