/**
 * What the cluster layers get on GCP: the kubeconfig of Lookout's own stacks (tokens from
 * `lookout kube-token --provider gcp`, from the Google credentials), and the platform's cloud
 * settings: GCS with the stores' Workload Identity accounts, a passthrough network load
 * balancer in front of the gateway, pd-balanced volumes, and the Cloud DNS record of the
 * tenant hosts.
 */
import * as gcp from '@pulumi/gcp';
import { internetEgress, tcpPorts, type EgressRule } from '@lookout/kube';
import { SHIM_COMMAND } from '../../k8s/exec-shim.js';
import { execKubeconfig } from '../../k8s/provider-kubeconfig.js';
import type { ClusterLayers, PlatformCloud } from '../types.js';
import type { InfraGcpOutputs } from './infra-stack.js';
import { LABEL_INSTANCE } from './naming.js';

/** What the cluster layers read of the infra outputs. */
export type GcpClusterInfra = Pick<
  InfraGcpOutputs,
  'project' | 'clusterName' | 'clusterEndpoint' | 'clusterCertificateAuthority' | 'buckets' | 'zoneName' | 'serviceAccounts' | 'clusterCidrs'
>;

/** Workload Identity: the Kubernetes service account acts as this Google one. */
const WORKLOAD_IDENTITY_ANNOTATION = 'iam.gke.io/gcp-service-account';

type ClusterEndpoint = Pick<GcpClusterInfra, 'clusterName' | 'clusterEndpoint' | 'clusterCertificateAuthority'>;

/**
 * A kubeconfig whose tokens come from `lookout kube-token --provider gcp` (from the Google
 * credentials). The stacks' runs `lookout`, found through the shim (the state is shared, so no
 * machine's paths go into it); the user's, written locally, names this installation's launcher.
 */
export function gcpKubeconfig(infra: ClusterEndpoint, command: string = SHIM_COMMAND): string {
  return execKubeconfig({
    name: infra.clusterName,
    server: infra.clusterEndpoint,
    certificateAuthorityData: infra.clusterCertificateAuthority,
    exec: { command, args: ['kube-token', '--provider', 'gcp'] },
  });
}

/**
 * How pods with a bucket reach GCS and their credentials: HTTPS to public addresses (Private
 * Google Access routes them inside Google's network), and the GKE metadata server, which
 * answers on the link-local metadata address and, with Dataplane V2, on 169.254.169.252:988.
 */
function objectStorageEgress(clusterCidrs: string[]): EgressRule[] {
  return [
    internetEgress(clusterCidrs, [443]),
    { to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: tcpPorts(80) },
    { to: [{ ipBlock: { cidr: '169.254.169.252/32' } }], ports: tcpPorts(988) },
  ];
}

/** The gateway's Service: a backend-service-based external passthrough NLB (with NEGs), client IPs kept. */
export const GATEWAY_SERVICE_ANNOTATIONS = { 'cloud.google.com/l4-rbs': 'enabled' } as const;

export function gcpPlatformCloud(instance: string, infra: Omit<GcpClusterInfra, 'clusterEndpoint' | 'clusterCertificateAuthority'>): PlatformCloud {
  const identity = (email: string): Record<string, string> => ({ [WORKLOAD_IDENTITY_ANNOTATION]: email });
  return {
    clusterName: infra.clusterName,
    storageClass: {
      name: 'lookout-pd-balanced',
      // Persistent disks are encrypted at rest by GCP; the stores keep their data in GCS, the volumes hold WALs and caches.
      create: { resourceName: 'pd-balanced', provisioner: 'pd.csi.storage.gke.io', parameters: { type: 'pd-balanced', 'csi.storage.k8s.io/fstype': 'ext4' } },
    },
    metricsStore: {
      storage: { backend: 'gcs', blocksBucket: infra.buckets.metrics, rulesBucket: infra.buckets.rules },
      serviceAccountAnnotations: {
        blocks: identity(infra.serviceAccounts.metricsStore),
        ruler: identity(infra.serviceAccounts.ruler),
        alertmanager: identity(infra.serviceAccounts.alertmanager),
      },
    },
    logStore: { storage: { backend: 'gcs', bucket: infra.buckets.logs }, serviceAccountAnnotations: identity(infra.serviceAccounts.logStore) },
    network: { clusterCidrs: infra.clusterCidrs, objectStorageEgress: objectStorageEgress(infra.clusterCidrs) },
    gateway: { service: { annotations: { ...GATEWAY_SERVICE_ANNOTATIONS }, externalTrafficPolicy: 'Local' } },
    tenantHostsRecord({ domain, target }) {
      const provider = new gcp.Provider('gcp', { project: infra.project, defaultLabels: { [LABEL_INSTANCE]: instance } });
      new gcp.dns.RecordSet('tenant-hosts', { managedZone: infra.zoneName, name: `*.${domain}.`, type: 'A', ttl: 60, rrdatas: [target] }, { provider });
    },
  };
}

export function gcpClusterLayers(instance: string, infra: GcpClusterInfra): ClusterLayers {
  return { kubeconfig: gcpKubeconfig(infra), platform: gcpPlatformCloud(instance, infra) };
}
