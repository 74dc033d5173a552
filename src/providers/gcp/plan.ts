/**
 * The offline plan of a GCP instance: the real infra program under the GCP mocks, and the
 * cluster layers' arguments from its mocked outputs, as `create` would pass them.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { stackNames } from '../../naming.js';
import { withKubernetesMocks } from '../../plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../plan/mock-runtime.js';
import type { InfraPlan } from '../types.js';
import { gcpClusterLayers } from './cluster.js';
import { gcpVersion } from './config.js';
import { INFRA_GCP_PROJECT, infraGcpProgram, type InfraGcpOutputs } from './infra-stack.js';
import { createGcpMockBehaviour, mockLoadBalancerIp } from './mocks.js';
import { gcpNames } from './naming.js';
import { gcpConfigOf } from './settings.js';

export async function planGcp(config: ResolvedConfig): Promise<InfraPlan> {
  const gcp = gcpConfigOf(config);
  const behaviour = () => createGcpMockBehaviour({ project: gcp.project, region: gcp.region });
  const infra = await runProgramUnderMocks(
    infraGcpProgram({ instance: config.name, config, ...(config.dns.parentZone ? { parentZoneName: config.dns.parentZone } : {}) }),
    { project: INFRA_GCP_PROJECT, stack: stackNames(config.name).infra, behaviour: behaviour() },
  );
  const outputs = infra.outputs as unknown as InfraGcpOutputs;
  const version = gcpVersion(gcp);
  return {
    resources: infra.resources,
    cluster: gcpClusterLayers(config.name, outputs),
    // The platform stack registers the tenant hosts' Cloud DNS record, and the gateway a load balancer with an IP.
    clusterMocks: withKubernetesMocks({ cloud: behaviour(), loadBalancerIngress: (name) => ({ ip: mockLoadBalancerIp(name) }) }),
    region: gcp.region,
    summary: {
      name: gcpNames(config.name).clusterName,
      kubernetesVersion: 'kubernetesVersion' in version ? version.kubernetesVersion : `${version.releaseChannel} release channel`,
      apiAllowedCidrs: gcp.apiAllowedCidrs,
      nodes: `${gcp.nodes.machineType}, ${gcp.nodes.min}–${gcp.nodes.max} nodes (autoscaled)`,
    },
    delegation: config.dns.parentZone
      ? `NS records added to parent zone ${config.dns.parentZone}`
      : 'NS records added to the parent zone if it is in the project, otherwise printed for you to add',
  };
}
