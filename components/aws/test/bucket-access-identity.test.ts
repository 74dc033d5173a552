import * as aws from '@pulumi/aws';
import { describe, expect, it } from 'vitest';
import { BucketAccessIdentity } from '../src/bucket-access-identity.js';
import { REGION, asList, oneOf, policyDocuments, runWithAwsMocks } from './support.js';

describe('BucketAccessIdentity', () => {
  it('lets one service account, through Pod Identity, use exactly the given buckets and key', async () => {
    const run = await runWithAwsMocks(async () => {
      const key = new aws.kms.Key('key', { enableKeyRotation: true });
      const metrics = new aws.s3.Bucket('metrics', { bucket: 'acme-metrics' });
      const rules = new aws.s3.Bucket('rules', { bucket: 'acme-rules' });
      const identity = new BucketAccessIdentity('cortex', {
        roleName: 'acme-metrics-store',
        clusterName: 'acme',
        serviceAccount: { namespace: 'lookout', name: 'cortex' },
        bucketArns: [metrics.arn, rules.arn],
        kmsKeyArn: key.arn,
        tags: { owner: 'obs' },
      });
      return { keyArn: key.arn, buckets: [metrics.arn, rules.arn], roleArn: identity.roleArn };
    });
    const role = oneOf(run.resources, 'aws:iam/role:Role');
    expect(role.inputs.name).toBe('acme-metrics-store');
    const trust = JSON.parse(role.inputs.assumeRolePolicy);
    expect(trust.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'pods.eks.amazonaws.com' }, Action: ['sts:AssumeRole', 'sts:TagSession'] },
    ]);

    const [policy] = policyDocuments([oneOf(run.resources, 'aws:iam/rolePolicy:RolePolicy')]);
    const statements = policy!.statements;
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      // No wildcard anywhere but the `/*` that names a bucket's objects.
      for (const r of asList(s.Resource)) expect(r.replace(/^(arn:aws:s3:::[^/*]+)\/\*$/, '$1')).not.toContain('*');
    }
    const resourcesFor = (action: string) =>
      statements.filter((s) => asList(s.Action).includes(action)).flatMap((s) => asList(s.Resource)).sort();
    const buckets = run.outputs.buckets;
    expect(resourcesFor('s3:ListBucket')).toEqual([...buckets].sort());
    expect(resourcesFor('s3:GetBucketLocation')).toEqual([...buckets].sort());
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      expect(resourcesFor(action)).toEqual(buckets.map((b) => `${b}/*`).sort());
    }
    expect(resourcesFor('kms:Decrypt')).toEqual([run.outputs.keyArn]);
    expect(resourcesFor('kms:GenerateDataKey')).toEqual([run.outputs.keyArn]);
    const kms = statements.find((s) => asList(s.Action).includes('kms:Decrypt'))!;
    expect(kms.Condition).toEqual({ StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } });
    const allActions = statements.flatMap((s) => asList(s.Action)).sort();
    expect(allActions).toEqual(
      ['s3:ListBucket', 's3:GetBucketLocation', 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:Decrypt', 'kms:GenerateDataKey'].sort(),
    );

    const association = oneOf(run.resources, 'aws:eks/podIdentityAssociation:PodIdentityAssociation');
    expect(association.inputs).toMatchObject({ clusterName: 'acme', namespace: 'lookout', serviceAccount: 'cortex', roleArn: run.outputs.roleArn });
    expect(association.inputs.tags).toEqual({ owner: 'obs' });
  });

  it('refuses to make a role without buckets', () => {
    expect(
      () =>
        new BucketAccessIdentity('none', {
          roleName: 'x',
          clusterName: 'acme',
          serviceAccount: { namespace: 'lookout', name: 'x' },
          bucketArns: [],
          kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1',
        }),
    ).toThrow(/at least one bucket/);
  });
});
