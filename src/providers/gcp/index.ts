/**
 * The GCP provider: a VPC, GKE, GCS, Workload Identity and Cloud DNS per instance. This module
 * only wires the folder's parts to the CloudProvider interface; each part, and with it Pulumi
 * and the Google client libraries, is imported when first used, so loading the provider costs
 * nothing. The parts not built yet refuse with exit 2 (the registry refuses their commands
 * first; these guard direct callers).
 */
import { UsageError } from '../../errors.js';
import type { CloudProvider } from '../types.js';
import { GCP_COST_BASIS, estimateGcpCost } from './cost.js';
import { gcpConfigOf } from './settings.js';

function notBuilt(what: string): never {
  throw new UsageError(`${what} is not supported yet for GCP instances: GCP support comes in a later release`);
}

export const gcpProvider: CloudProvider = {
  id: 'gcp',
  pulumiPackages: ['@pulumi/gcp'],
  importIds: {},
  managesDnsZone: true,
  costBasis: GCP_COST_BASIS,

  plan: async (config) => (await import('./plan.js')).planGcp(config),
  estimateCost: (resources, config) => estimateGcpCost(resources, gcpConfigOf(config)),

  infraSteps: async () => notBuilt('`create`'),
  previewInfra: async () => notBuilt('`upgrade`'),

  clusterLayers: async () => notBuilt('the cluster layers'),
  clusterFingerprint: () => notBuilt('the cluster layers'),
  dnsZone: () => notBuilt('the DNS zone'),
  defaultSolver: async () => notBuilt('the Cloud DNS solver'),

  teardown: {
    before: () => notBuilt('`destroy`'),
    afterGateway: () => notBuilt('`destroy`'),
    after: () => notBuilt('`destroy`'),
    clusterGone: async () => notBuilt('`destroy`'),
    dataBuckets: () => notBuilt('`destroy`'),
    loadBalancerDependents: [],
  },

  describeLocation: () => notBuilt('`status`'),
  describeInfra: () => notBuilt('`status`'),

  kubeToken: async (argv) => (await import('./kube-token.js')).gcpKubeToken(argv),
};
