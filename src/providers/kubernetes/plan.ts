/**
 * The offline plan of an instance in a user's cluster: no infrastructure of its own, and the
 * cluster layers' arguments from the config, as `create` would pass them, with placeholders
 * for what only the cluster and the environment know (its server, the object storage keys).
 */
import type { ResolvedConfig } from '../../config/load.js';
import { withKubernetesMocks } from '../../plan/k8s-mocks.js';
import type { InfraPlan } from '../types.js';
import { kubernetesPlatformCloud, kubernetesStackKubeconfig, type KubernetesInfra } from './cluster.js';
import { kubernetesConfigOf } from './settings.js';

/** An address from the documentation range (RFC 5737), as a load balancer controller would give one. */
const PLAN_LOAD_BALANCER_IP = '192.0.2.10';

export function planInfra(config: ResolvedConfig): KubernetesInfra {
  const k = kubernetesConfigOf(config);
  const { endpoint, region, forcePathStyle, buckets } = k.objectStorage;
  return {
    context: k.context,
    server: 'https://kubernetes.plan.invalid',
    version: 'the cluster’s',
    storageClass: k.storageClass,
    objectStorage: { endpoint, region, forcePathStyle, buckets },
    clusterCidrs: k.clusterCidrs,
  };
}

export async function planKubernetes(config: ResolvedConfig): Promise<InfraPlan> {
  const k = kubernetesConfigOf(config);
  const infra = planInfra(config);
  // The plan reads no environment: the keys are placeholders, as `create` would read them.
  const keys = { accessKeyId: `plan: read from $${k.objectStorage.accessKeyIdEnv}`, secretAccessKey: `plan: read from $${k.objectStorage.secretAccessKeyEnv}` };
  return {
    resources: [],
    cluster: { kubeconfig: kubernetesStackKubeconfig(infra), platform: kubernetesPlatformCloud(config.name, infra, k, keys) },
    clusterMocks: withKubernetesMocks({ loadBalancerIngress: () => ({ ip: PLAN_LOAD_BALANCER_IP }) }),
    region: k.context,
    summary: {
      name: `context ${k.context} of ${k.kubeconfig}`,
      kubernetesVersion: `the cluster's (1.29 to 1.35 supported)`,
      apiAllowedCidrs: ['as your cluster allows'],
      nodes: 'your cluster’s nodes',
    },
    delegation:
      k.gateway.address !== undefined
        ? `none: add ${config.dns.domain} and *.${config.dns.domain} pointing at ${k.gateway.address}`
        : `none: add ${config.dns.domain} and *.${config.dns.domain} pointing at the gateway’s load balancer, printed by create`,
  };
}
