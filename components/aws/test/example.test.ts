/**
 * The package's example program (examples/index.ts) runs under the mocks as users would run
 * it with `pulumi up`. Importing it here also puts it under the test type-check.
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { countByType, oneOf, runWithAwsMocks } from './support.js';

describe('examples/index.ts', () => {
  it('builds a cluster, buckets, an identity and a zone from the components', async () => {
    pulumi.runtime.setAllConfig({
      'aws:region': 'eu-west-1',
      'aws-example:apiCidr': '198.51.100.0/24',
      'aws-example:domain': 'demo.example.com',
    });
    const run = await runWithAwsMocks(() => import('../examples/index.js'), { project: 'aws-example', stack: 'dev' });
    const counts = countByType(run.resources);
    expect(counts['aws:ec2/natGateway:NatGateway']).toBe(1);
    expect(counts['aws:ec2/subnet:Subnet']).toBe(4);
    expect(counts['aws:s3/bucket:Bucket']).toBe(3);
    expect(counts['aws:eks/podIdentityAssociation:PodIdentityAssociation']).toBe(1);
    expect(oneOf(run.resources, 'aws:eks/cluster:Cluster').inputs.vpcConfig.publicAccessCidrs).toEqual(['198.51.100.0/24']);
    expect(oneOf(run.resources, 'aws:route53/zone:Zone').inputs.name).toBe('demo.example.com');
    expect(await pulumi.isSecret(run.rawOutputs.kubeconfig)).toBe(true);
    expect(Object.keys(run.outputs.buckets).sort()).toEqual(['logs', 'metrics', 'rules']);
  });
});
