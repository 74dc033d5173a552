/**
 * The `kubernetes` provider: Lookout in a cluster the user already has, with S3-compatible
 * object storage they provide. It creates no infrastructure: preflight checks the cluster,
 * the infra step records it, and the platform and tenant stacks are the same as on any cloud.
 * This module only wires the folder's parts to the CloudProvider interface; each part is
 * imported when first used.
 */
import { costEstimate } from '../../plan/cost.js';
import type { CloudProvider, RecordedInfra } from '../types.js';
import type { KubernetesInfra } from './cluster.js';
import { writeRecordsStep } from './dns-records.js';
import { describeKubernetesInfra, describeKubernetesLocation } from './describe.js';
import { KUBECONFIG_ENV, expandPath } from './kubeconfig.js';
import { kubernetesConfigOf } from './settings.js';
import { kubernetesTeardown } from './teardown.js';

const recorded = (infra: RecordedInfra) => infra as unknown as KubernetesInfra;

export const kubernetesProvider: CloudProvider = {
  id: 'kubernetes',
  pulumiPackages: [],
  // Every resource is a Kubernetes object: a create left pending is found by its name.
  importIds: {},
  managesDnsZone: false,
  costBasis: 'nothing: the cluster and the object storage are yours',
  // No infra stack: the critical path is the cluster steps alone.
  createDurations: {},

  plan: async (config) => (await import('./plan.js')).planKubernetes(config),
  estimateCost: () =>
    costEstimate([], {
      excludes: ['your cluster’s nodes, volumes and load balancer', 'your object storage'],
      notes: ['Lookout creates no billed resources of its own in a cluster you already have.'],
    }),

  infraSteps: async (c) => (await import('./infra-steps.js')).kubernetesInfraSteps(c),
  // No infrastructure stack: the config's changes show in the platform's preview.
  previewInfra: async () => ({ changes: {} }),

  clusterLayers: async (c, infra) => (await import('./cluster.js')).kubernetesClusterLayers(c.name, recorded(infra), kubernetesConfigOf(c.config)),
  clusterFingerprint: (infra) => {
    const i = recorded(infra);
    return { cluster: i.server, platform: { server: i.server, storageClass: i.storageClass, objectStorage: i.objectStorage, clusterCidrs: i.clusterCidrs } };
  },
  dnsZone: () => ({ nameServers: [], delegated: false }),
  defaultSolver: async () => {
    const { UsageError } = await import('../../errors.js');
    throw new UsageError('tls.rfc2136: an instance in your own cluster has no DNS zone of Lookout’s for ACME DNS-01', {
      hint: 'Set tls.rfc2136 (a DNS server that takes dynamic updates), or provide a certificate in kubernetes.certificate.',
    });
  },

  teardown: kubernetesTeardown,
  // The buckets are the user's: one tenant's objects are deleted by prefix only when asked.
  tenantDataStore: async (record) => {
    const storage = kubernetesConfigOf(record.config).objectStorage;
    const [{ S3Client }, { s3PrefixObjects }, { s3KeysFromEnv }] = await Promise.all([
      import('@aws-sdk/client-s3'),
      import('../../tenants/delete-data.js'),
      import('./storage.js'),
    ]);
    const client = new S3Client({
      endpoint: storage.endpoint,
      region: storage.region,
      forcePathStyle: storage.forcePathStyle,
      credentials: s3KeysFromEnv(storage),
      maxAttempts: 3,
    });
    return { buckets: storage.buckets, objects: await s3PrefixObjects(client), url: (bucket, prefix) => `${storage.endpoint.replace(/\/$/, '')}/${bucket}/${prefix}` };
  },

  describeLocation: (infra) => describeKubernetesLocation(recorded(infra)),
  describeInfra: (infra, o) => describeKubernetesInfra(recorded(infra), o),

  kubeToken: async (argv) => {
    const { kubernetesKubeToken } = await import('./kube-token.js');
    process.stdout.write((await kubernetesKubeToken(argv)) + '\n');
  },

  afterPlatform: (c) => (kubernetesConfigOf(c.config).dnsRecords === 'rfc2136' ? [writeRecordsStep(c)] : []),
  stackEnv: (c) => ({ [KUBECONFIG_ENV]: expandPath(kubernetesConfigOf(c.config).kubeconfig) }),
  providedCertificate: async (c) => {
    const cert = kubernetesConfigOf(c.config).certificate;
    if (!cert) return undefined;
    const { readProvidedFiles } = await import('./certificate.js');
    return readProvidedFiles(cert);
  },
};
