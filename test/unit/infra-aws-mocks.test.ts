/**
 * The AWS mocks `lookout plan` shows to users: the outputs must look like AWS's, cover every
 * resource type and invoke the infra stack uses, and refuse anything they do not know.
 */
import type * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_ID, runWithAwsMocks } from '../../components/aws/test/support.js';
import { configSchema } from '../../src/config/schema.js';
import {
  MOCKED_AWS_INVOKES,
  MOCKED_AWS_RESOURCE_TYPES,
  UnmockedAwsError,
  awsMockBehaviour,
  createAwsMockBehaviour,
  partitionOf,
} from '../../src/providers/aws/mocks.js';
import { INFRA_AWS_PROJECT, infraAwsProgram } from '../../src/providers/aws/infra-stack.js';

const CONFIG = configSchema.parse({
  aws: { region: 'ap-southeast-2', apiAllowedCidrs: ['203.0.113.0/24'] },
  dns: { domain: 'obs.example.com', parentZone: 'Z0PARENT' },
});

async function infra(region = 'ap-southeast-2') {
  const config = { ...CONFIG, aws: { ...CONFIG.aws!, region } };
  return runWithAwsMocks(infraAwsProgram({ instance: 'prod', config, parentZoneId: 'Z0PARENT' }), {
    region,
    project: INFRA_AWS_PROJECT,
    stack: 'prod-infra',
  });
}

const resourceArgs = (type: string, name: string, inputs: Record<string, unknown> = {}): pulumi.runtime.MockResourceArgs => ({
  type,
  name,
  inputs,
  custom: true,
});

describe('AWS mocks', () => {
  it('know every resource type the infra stack registers, and every one they list is used', async () => {
    const run = await infra();
    const used = new Set(run.resources.filter((r) => r.type.startsWith('aws:')).map((r) => r.type));
    expect([...used].sort()).toEqual([...MOCKED_AWS_RESOURCE_TYPES].sort());
  });

  it('give ARNs in each service’s format', async () => {
    const run = await infra();
    const region = 'ap-southeast-2';
    const service: Record<string, string> = { ec2: 'ec2', iam: 'iam', kms: 'kms', cloudwatch: 'logs', eks: 'eks', s3: 's3', route53: 'route53' };
    const arns = run.resources.flatMap((r) =>
      Object.entries(r.state)
        .filter(([field, value]) => /arn$/i.test(field) && typeof value === 'string' && value.startsWith('arn:') && !(field in r.inputs))
        .map(([field, value]) => ({ r, field, value: value as string })),
    );
    expect(arns.length).toBeGreaterThan(30);
    for (const { r, field, value } of arns) {
      const module = r.type.split(/[:/]/)[1]!;
      const where = `${r.type} ${r.name}.${field}`;
      const [, partition, svc, arnRegion, account, resource] = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(value) ?? [];
      expect(partition, where).toBe('aws');
      expect(svc, where).toBe(service[module]);
      if (svc === 'iam' || svc === 's3' || svc === 'route53') expect(arnRegion, where).toBe('');
      else expect(arnRegion, where).toBe(region);
      if (svc === 's3' || svc === 'route53') expect(account, where).toBe('');
      else expect(account, where).toBe(ACCOUNT_ID);
      expect(resource, where).toBeTruthy();
    }
  });

  it('give ids and endpoints in AWS’s formats', async () => {
    const run = await infra();
    const idFormats: Record<string, RegExp> = {
      'aws:ec2/vpc:Vpc': /^vpc-[0-9a-f]{17}$/,
      'aws:ec2/subnet:Subnet': /^subnet-[0-9a-f]{17}$/,
      'aws:ec2/natGateway:NatGateway': /^nat-[0-9a-f]{17}$/,
      'aws:ec2/eip:Eip': /^eipalloc-[0-9a-f]{17}$/,
      'aws:ec2/routeTable:RouteTable': /^rtb-[0-9a-f]{17}$/,
      'aws:ec2/launchTemplate:LaunchTemplate': /^lt-[0-9a-f]{17}$/,
      'aws:route53/zone:Zone': /^Z[0-9A-Z]{12,31}$/,
      'aws:kms/key:Key': /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    };
    for (const [id, r] of run.byId) if (idFormats[r.type]) expect(id, `${r.type} ${r.name}`).toMatch(idFormats[r.type]!);
    expect(Object.keys(idFormats).every((t) => [...run.byId.values()].some((r) => r.type === t))).toBe(true);

    const eks = run.resources.find((r) => r.type === 'aws:eks/cluster:Cluster')!.state;
    expect(eks.endpoint).toMatch(/^https:\/\/[0-9A-F]{32}\.gr7\.ap-southeast-2\.eks\.amazonaws\.com$/);
    expect(Buffer.from(eks.certificateAuthority.data, 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
    expect(eks.identities[0].oidcs[0].issuer).toMatch(/^https:\/\/oidc\.eks\.ap-southeast-2\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
    const zone = run.resources.find((r) => r.type === 'aws:route53/zone:Zone')!.state;
    expect(zone.nameServers.map((ns: string) => ns.split('.').slice(2).join('.'))).toEqual(['com', 'net', 'org', 'co.uk']);
    for (const subnet of run.resources.filter((r) => r.type === 'aws:ec2/subnet:Subnet')) {
      expect(subnet.state.availabilityZoneId).toMatch(/^apse2-az[1-3]$/);
    }
    for (const nat of run.resources.filter((r) => r.type === 'aws:ec2/natGateway:NatGateway')) {
      const eip = run.byId.get(nat.inputs.allocationId)!;
      expect(nat.state.publicIp).toBe(eip.state.publicIp);
    }
  });

  it('are deterministic, so a plan does not change between runs', async () => {
    const first = await infra();
    const second = await infra();
    expect([...second.byId.keys()]).toEqual([...first.byId.keys()]);
    expect(second.outputs).toEqual(first.outputs);
  });

  it('answer every invoke they list, and throw on any other', () => {
    const mocks = createAwsMockBehaviour({ region: 'eu-west-1', accountId: ACCOUNT_ID });
    const inputs: Record<string, Record<string, unknown>> = {
      'aws:iam/getSessionContext:getSessionContext': { arn: `arn:aws:iam::${ACCOUNT_ID}:user/alice` },
      'aws:eks/getAddonVersion:getAddonVersion': { addonName: 'coredns', kubernetesVersion: '1.34', mostRecent: true },
    };
    for (const token of MOCKED_AWS_INVOKES) expect(mocks.call!({ token, inputs: inputs[token] ?? {} }), token).toBeTypeOf('object');
    expect(() => mocks.call!({ token: 'aws:ec2/getVpc:getVpc', inputs: {} })).toThrow(UnmockedAwsError);
    expect(() => mocks.call!({ token: 'aws:eks/getAddonVersion:getAddonVersion', inputs: { addonName: 'metrics-server', kubernetesVersion: '1.34' } })).toThrow(
      /metrics-server/,
    );
  });

  it('refuse outputs for an AWS resource type they do not know, and leave others alone', () => {
    expect(() => awsMockBehaviour.outputs!(resourceArgs('aws:rds/instance:Instance', 'db'))).toThrow(UnmockedAwsError);
    expect(awsMockBehaviour.outputs!(resourceArgs('lookout:aws:Network', 'net'))).toBeUndefined();
  });

  it('resolve assumed-role sessions to their role, and pass role and user ARNs through', () => {
    const mocks = createAwsMockBehaviour({ region: 'eu-west-1', accountId: ACCOUNT_ID });
    const context = (arn: string) => mocks.call!({ token: 'aws:iam/getSessionContext:getSessionContext', inputs: { arn } });
    expect(context(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Admin/bob`)).toMatchObject({
      issuerArn: `arn:aws:iam::${ACCOUNT_ID}:role/Admin`,
      issuerName: 'Admin',
      sessionName: 'bob',
    });
    expect(context(`arn:aws:iam::${ACCOUNT_ID}:user/alice`)).toMatchObject({ issuerArn: `arn:aws:iam::${ACCOUNT_ID}:user/alice`, sessionName: '' });
    const caller = mocks.call!({ token: 'aws:index/getCallerIdentity:getCallerIdentity', inputs: {} });
    expect(caller.accountId).toBe(ACCOUNT_ID);
    expect(caller.arn).toMatch(new RegExp(`^arn:aws:sts::${ACCOUNT_ID}:assumed-role/`));
  });

  it('use the partition of the region in ARNs', () => {
    expect(partitionOf('cn-north-1')).toMatchObject({ partition: 'aws-cn', dnsSuffix: 'amazonaws.com.cn' });
    expect(partitionOf('us-gov-west-1').partition).toBe('aws-us-gov');
    const mocks = createAwsMockBehaviour({ region: 'cn-north-1', accountId: ACCOUNT_ID });
    const role = mocks.outputs!(resourceArgs('aws:iam/role:Role', 'r', { name: 'x' }));
    expect(role?.arn).toBe(`arn:aws-cn:iam::${ACCOUNT_ID}:role/x`);
    expect(mocks.call!({ token: 'aws:index/getPartition:getPartition', inputs: {} }).partition).toBe('aws-cn');
  });
});
