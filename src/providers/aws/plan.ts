/**
 * The offline plan of an AWS instance: the real infra program under the AWS mocks, and the
 * cluster layers' arguments from its mocked outputs, as `create` would pass them.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { stackNames } from '../../naming.js';
import { withKubernetesMocks } from '../../plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../plan/mock-runtime.js';
import type { InfraPlan } from '../types.js';
import { awsClusterLayers } from './cluster.js';
import { awsConfigOf } from './settings.js';
import { INFRA_AWS_PROJECT, infraAwsProgram, type InfraAwsOutputs } from './infra-stack.js';
import { createAwsMockBehaviour, mockNlbHostname } from './mocks.js';
import { awsNames } from './naming.js';

/** Placeholder identity for the offline plan; real runs use the caller's identity. */
const PLAN_ACCOUNT_ID = '123456789012';
/** The offline plan never sees a real cluster CA. */
const PLAN_CA = 'UExBTg==';

export async function planAws(config: ResolvedConfig): Promise<InfraPlan> {
  const aws = awsConfigOf(config);
  const infra = await runProgramUnderMocks(
    infraAwsProgram({
      instance: config.name,
      config,
      adminPrincipalArn: `arn:aws:iam::${PLAN_ACCOUNT_ID}:role/admin`,
      ...(config.dns.parentZone ? { parentZoneId: config.dns.parentZone } : {}),
    }),
    {
      project: INFRA_AWS_PROJECT,
      stack: stackNames(config.name).infra,
      behaviour: createAwsMockBehaviour({ region: aws.region, accountId: PLAN_ACCOUNT_ID }),
    },
  );
  const outputs = infra.outputs as unknown as InfraAwsOutputs;
  return {
    resources: infra.resources,
    cluster: awsClusterLayers(config.name, {
      clusterName: outputs.clusterName,
      clusterEndpoint: outputs.clusterEndpoint,
      clusterCertificateAuthority: PLAN_CA,
      region: aws.region,
      buckets: outputs.buckets,
      zoneId: outputs.zoneId,
      roleArns: outputs.roleArns,
      clusterCidrs: outputs.clusterCidrs,
    }),
    // The platform stack registers the tenant hosts' Route53 record, and the gateway an NLB.
    clusterMocks: withKubernetesMocks({
      cloud: createAwsMockBehaviour({ region: aws.region, accountId: PLAN_ACCOUNT_ID }),
      loadBalancerIngress: (name) => ({ hostname: mockNlbHostname(name, aws.region) }),
    }),
    region: aws.region,
    summary: {
      name: awsNames(config.name).clusterName,
      kubernetesVersion: aws.kubernetesVersion,
      apiAllowedCidrs: aws.apiAllowedCidrs,
      nodes: `${aws.nodes.desired} × ${aws.nodes.instanceType} (min ${aws.nodes.min}, max ${aws.nodes.max})`,
    },
    delegation: config.dns.parentZone
      ? `NS records added to parent zone ${config.dns.parentZone}`
      : 'NS records added to the parent zone if it is in the account, otherwise printed for you to add',
  };
}
