/**
 * What the cluster layers get in a cluster the user already has: a kubeconfig that names the
 * server and its CA and takes credentials from `lookout kube-token --provider kubernetes`
 * (which reads the user's kubeconfig again, so no credential reaches the state), the user's
 * storage class, the S3-compatible store with static keys from the environment, the gateway's
 * Service as configured, and the instance's label on every object.
 */
import { isIP } from 'node:net';
import { internetEgress, tcpPorts, type EgressRule } from '@lookout/kube';
import { SHIM_COMMAND } from '../../k8s/exec-shim.js';
import { execKubeconfig } from '../../k8s/provider-kubeconfig.js';
import type { ClusterLayers, PlatformCloud } from '../types.js';
import type { KubernetesConfig } from './config.js';
import { s3KeysFromEnv, storesEndpoint, type S3Keys } from './storage.js';
import { OWNER_LABEL } from './settings.js';

/** The infra step's recorded outputs: what preflight found and the config chose. Nothing secret. */
export interface KubernetesInfra {
  context: string;
  server: string;
  certificateAuthorityData?: string;
  tlsServerName?: string;
  /** The API server's version at the last preflight. */
  version: string;
  storageClass: string;
  objectStorage: Pick<KubernetesConfig['objectStorage'], 'endpoint' | 'region' | 'forcePathStyle' | 'buckets'>;
  clusterCidrs: string[];
  /** How the tenant hosts’ record is made; printed for the user when absent (the offline plan). */
  dnsRecords?: KubernetesConfig['dnsRecords'];
}

/**
 * The stacks' kubeconfig: the server and CA of the user's context, and `lookout kube-token`
 * for credentials. It names the context, never a path of this machine: the kubeconfig file
 * reaches kube-token through the engine's environment (KUBECONFIG_ENV).
 */
export function kubernetesStackKubeconfig(infra: Pick<KubernetesInfra, 'context' | 'server' | 'certificateAuthorityData' | 'tlsServerName'>): string {
  return execKubeconfig({
    name: 'lookout',
    server: infra.server,
    ...(infra.certificateAuthorityData ? { certificateAuthorityData: infra.certificateAuthorityData } : {}),
    ...(infra.tlsServerName ? { tlsServerName: infra.tlsServerName } : {}),
    exec: { command: SHIM_COMMAND, args: ['kube-token', '--provider', 'kubernetes', '--context', infra.context] },
  });
}

/**
 * Where the stores' pods may connect to reach the object store: the configured CIDRs, the
 * endpoint's own address when it is an IP, or else any public address on its port.
 */
export function objectStorageEgress(storage: Pick<KubernetesConfig['objectStorage'], 'endpoint' | 'egressCidrs'>, clusterCidrs: string[]): EgressRule[] {
  const url = new URL(storage.endpoint);
  const port = Number(url.port || (url.protocol === 'http:' ? 80 : 443));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const cidrs = storage.egressCidrs ?? (isIP(host) === 4 ? [`${host}/32`] : isIP(host) === 6 ? [`${host}/128`] : undefined);
  if (!cidrs) return [internetEgress(clusterCidrs, [port])];
  return [{ to: cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: tcpPorts(port) }];
}

/** The gateway's Service and public address, as configured. */
export function gatewayExposure(gateway: KubernetesConfig['gateway']): PlatformCloud['gateway'] {
  return {
    service: {
      type: gateway.service,
      annotations: gateway.annotations,
      ...(gateway.service !== 'ClusterIP' ? { externalTrafficPolicy: 'Local' as const } : {}),
      ...(gateway.loadBalancerClass ? { loadBalancerClass: gateway.loadBalancerClass } : {}),
      ...(gateway.loadBalancerSourceRanges ? { loadBalancerSourceRanges: gateway.loadBalancerSourceRanges } : {}),
      ...(gateway.nodePort !== undefined ? { nodePort: gateway.nodePort } : {}),
    },
    ...(gateway.address ? { address: gateway.address } : {}),
  };
}

export function kubernetesPlatformCloud(
  instance: string,
  infra: KubernetesInfra,
  config: Pick<KubernetesConfig, 'gateway' | 'objectStorage'>,
  keys: S3Keys,
): PlatformCloud {
  const { endpoint, insecure } = storesEndpoint(infra.objectStorage.endpoint);
  const connection = {
    backend: 's3' as const,
    region: infra.objectStorage.region,
    endpoint,
    ...(infra.objectStorage.forcePathStyle ? { forcePathStyle: true } : {}),
    ...(insecure ? { insecure: true } : {}),
  };
  const buckets = infra.objectStorage.buckets;
  return {
    clusterName: infra.context,
    storageClass: { name: infra.storageClass },
    metricsStore: { storage: { ...connection, blocksBucket: buckets.metrics, rulesBucket: buckets.rules } },
    logStore: { storage: { ...connection, bucket: buckets.logs } },
    storageKeys: keys,
    network: { clusterCidrs: infra.clusterCidrs, objectStorageEgress: objectStorageEgress(config.objectStorage, infra.clusterCidrs) },
    gateway: gatewayExposure(config.gateway),
    ownerLabels: { [OWNER_LABEL]: instance },
  };
}

export function kubernetesClusterLayers(
  instance: string,
  infra: KubernetesInfra,
  config: Pick<KubernetesConfig, 'gateway' | 'objectStorage'>,
  env: NodeJS.ProcessEnv = process.env,
): ClusterLayers {
  return {
    kubeconfig: kubernetesStackKubeconfig(infra),
    platform: kubernetesPlatformCloud(instance, infra, config, s3KeysFromEnv(config.objectStorage, env)),
  };
}
