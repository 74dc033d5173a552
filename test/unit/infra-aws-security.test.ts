/**
 * Security properties of the AWS infra stack that must hold for any config: scoped IAM,
 * trust policies that name one service, and tags on everything that takes tags.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  asList,
  isTaggableAwsType,
  keyOf,
  ofType,
  policyDocuments,
  runWithAwsMocks,
  type FoundPolicy,
  type MockRun,
} from '../../components/aws/test/support.js';
import { configSchema, type LookoutConfig } from '../../src/config/schema.js';
import { WORKLOAD_SERVICE_ACCOUNTS } from '../../src/naming.js';
import { EBS_CSI_SERVICE_ACCOUNT, TAG_INSTANCE, TAG_MANAGED_BY, awsNames } from '../../src/providers/aws/naming.js';
import { INFRA_AWS_PROJECT, infraAwsProgram, type InfraAwsProgramOutputs } from '../../src/providers/aws/infra-stack.js';

const INSTANCE = 'acme-obs';
const CONFIGS: Record<string, LookoutConfig> = {
  '3 AZs, NAT per AZ': configSchema.parse({
    aws: { region: 'eu-central-1', apiAllowedCidrs: ['203.0.113.0/24'] },
    dns: { domain: 'obs.acme.example' },
    tenants: [{ name: 'checkout' }],
  }),
  '2 AZs, single NAT, delegated': configSchema.parse({
    aws: { region: 'us-west-2', availabilityZones: 2, natGateways: 'single', apiAllowedCidrs: ['192.0.2.10/32'] },
    dns: { domain: 'obs.acme.example', parentZone: 'Z0PARENT' },
  }),
};

type Run = MockRun<InfraAwsProgramOutputs>;
const runs = new Map<string, Run>();

beforeAll(async () => {
  for (const [label, config] of Object.entries(CONFIGS)) {
    const parentZoneId = config.dns.parentZone;
    runs.set(
      label,
      await runWithAwsMocks(infraAwsProgram({ instance: INSTANCE, config, ...(parentZoneId ? { parentZoneId } : {}) }), {
        region: config.aws!.region,
        project: INFRA_AWS_PROJECT,
        stack: `${INSTANCE}-infra`,
      }),
    );
  }
});

const SCOPED_SERVICES = /^(s3|kms|route53):/;
const roleNamed = (run: Run, name: string) => ofType(run.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === name)!;
const inlinePolicyOf = (run: Run, roleName: string): FoundPolicy => {
  const found = policyDocuments(ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy')).filter((p) => p.resource.inputs.role === roleName);
  expect(found, `inline policies of ${roleName}`).toHaveLength(1);
  return found[0]!;
};
const resourcesOf = (policy: FoundPolicy, prefix: string) =>
  [...new Set(policy.statements.filter((s) => asList(s.Action).some((a) => a.startsWith(prefix))).flatMap((s) => asList(s.Resource)))].sort();

describe.each(Object.keys(CONFIGS))('infra-aws security (%s)', (label) => {
  let run: Run;
  beforeAll(() => {
    run = runs.get(label)!;
  });

  it('registers no Allow statement on a wildcard resource, in any policy document', () => {
    const documents = policyDocuments(run.resources);
    // Role trust policies, role inline policies, bucket policies (and key policies, were any set).
    const roles = ofType(run.resources, 'aws:iam/role:Role').length;
    const inline = ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy').length;
    const buckets = ofType(run.resources, 'aws:s3/bucketPolicy:BucketPolicy').length;
    const keysWithPolicy = ofType(run.resources, 'aws:kms/key:Key').filter((k) => k.inputs.policy !== undefined).length;
    expect(documents).toHaveLength(roles + inline + buckets + keysWithPolicy);
    expect(documents.length).toBeGreaterThan(0);
    for (const doc of documents) {
      for (const statement of doc.statements.filter((s) => s.Effect === 'Allow')) {
        const where = `${keyOf(doc.resource)}.${doc.field}`;
        const scoped = asList(statement.Action).some((a) => SCOPED_SERVICES.test(a) || a === '*');
        if (scoped) expect(asList(statement.Resource), where).not.toContain('*');
        // Object ARNs end in `/*`; nothing else may hold a wildcard.
        for (const resource of asList(statement.Resource)) {
          expect(resource.replace(/^(arn:aws:s3:::[^/*]+)\/\*$/, '$1'), where).not.toContain('*');
        }
        expect(asList(statement.Action), where).not.toContain('*');
      }
    }
  });

  it('scopes the metrics store to the metrics bucket, its ruler and Alertmanager to the rules bucket, the log store to the logs bucket', () => {
    const names = awsNames(INSTANCE);
    const { buckets, storageKeyArn } = run.outputs;
    const arnOf = (bucket: string) => ofType(run.resources, 'aws:s3/bucket:Bucket').find((b) => b.inputs.bucket === bucket)!.state.arn as string;
    const expected = (list: string[]) => [...list.map(arnOf), ...list.map((b) => `${arnOf(b)}/*`)].sort();

    const metrics = inlinePolicyOf(run, names.roleName('metrics-store'));
    expect(resourcesOf(metrics, 's3:')).toEqual(expected([buckets.metrics]));
    expect(resourcesOf(metrics, 'kms:')).toEqual([storageKeyArn]);
    // The Alertmanager calls URLs its tenants choose, and the ruler runs their rules: neither
    // may read or delete a tenant's blocks.
    const ruler = inlinePolicyOf(run, names.roleName('ruler'));
    const alertmanager = inlinePolicyOf(run, names.roleName('alertmanager'));
    for (const policy of [ruler, alertmanager]) {
      expect(resourcesOf(policy, 's3:')).toEqual(expected([buckets.rules]));
      expect(resourcesOf(policy, 's3:').join(' ')).not.toContain(arnOf(buckets.metrics));
      expect(resourcesOf(policy, 'kms:')).toEqual([storageKeyArn]);
    }
    const logs = inlinePolicyOf(run, names.roleName('log-store'));
    expect(resourcesOf(logs, 's3:')).toEqual(expected([buckets.logs]));
    expect(resourcesOf(logs, 'kms:')).toEqual([storageKeyArn]);

    // Bucket-level actions on bucket ARNs only, object actions on object ARNs only.
    for (const policy of [metrics, ruler, alertmanager, logs]) {
      for (const s of policy.statements) {
        const actions = asList(s.Action);
        const resources = asList(s.Resource);
        if (actions.some((a) => ['s3:ListBucket', 's3:GetBucketLocation'].includes(a))) for (const r of resources) expect(r).not.toMatch(/\/\*$/);
        if (actions.some((a) => /^s3:(Get|Put|Delete)Object$/.test(a))) for (const r of resources) expect(r).toMatch(/\/\*$/);
      }
    }
  });

  it('binds the workload roles to the platform’s service accounts through Pod Identity', () => {
    const names = awsNames(INSTANCE);
    const associations = ofType(run.resources, 'aws:eks/podIdentityAssociation:PodIdentityAssociation');
    const bound = (sa: { namespace: string; name: string }) =>
      associations.find((a) => a.inputs.namespace === sa.namespace && a.inputs.serviceAccount === sa.name)?.inputs.roleArn;
    expect(bound(WORKLOAD_SERVICE_ACCOUNTS.metricsStore)).toBe(roleNamed(run, names.roleName('metrics-store')).state.arn);
    expect(bound(WORKLOAD_SERVICE_ACCOUNTS.ruler)).toBe(roleNamed(run, names.roleName('ruler')).state.arn);
    expect(bound(WORKLOAD_SERVICE_ACCOUNTS.alertmanager)).toBe(roleNamed(run, names.roleName('alertmanager')).state.arn);
    expect(bound(WORKLOAD_SERVICE_ACCOUNTS.logStore)).toBe(roleNamed(run, names.roleName('log-store')).state.arn);
    for (const a of associations) expect(a.inputs.clusterName).toBe(names.clusterName);
    const ebsCsi = ofType(run.resources, 'aws:eks/addon:Addon').find((a) => a.inputs.addonName === 'aws-ebs-csi-driver')!;
    expect(ebsCsi.inputs.podIdentityAssociations).toEqual([
      { roleArn: roleNamed(run, names.roleName('ebs-csi-driver')).state.arn, serviceAccount: EBS_CSI_SERVICE_ACCOUNT.name },
    ]);
  });

  it('lets each role be assumed by exactly one AWS service', () => {
    const names = awsNames(INSTANCE);
    const expectedService: Record<string, string> = {
      [names.roleName('cluster')]: 'eks.amazonaws.com',
      [names.roleName('nodes')]: 'ec2.amazonaws.com',
      [names.roleName('metrics-store')]: 'pods.eks.amazonaws.com',
      [names.roleName('ruler')]: 'pods.eks.amazonaws.com',
      [names.roleName('alertmanager')]: 'pods.eks.amazonaws.com',
      [names.roleName('log-store')]: 'pods.eks.amazonaws.com',
      [names.roleName('ebs-csi-driver')]: 'pods.eks.amazonaws.com',
    };
    const roles = ofType(run.resources, 'aws:iam/role:Role');
    expect(roles.map((r) => r.inputs.name).sort()).toEqual(Object.keys(expectedService).sort());
    for (const role of roles) {
      const trust = JSON.parse(role.inputs.assumeRolePolicy);
      const [service, ...others] = trust.Statement;
      expect(service.Principal, role.inputs.name).toEqual({ Service: expectedService[role.inputs.name] });
      expect(service.Effect).toBe('Allow');
      const ownServiceAccount: Record<string, string> = {
        [names.roleName('metrics-store')]: 'system:serviceaccount:lookout:cortex',
        [names.roleName('ruler')]: 'system:serviceaccount:lookout:cortex-ruler',
        [names.roleName('alertmanager')]: 'system:serviceaccount:lookout:cortex-alertmanager',
      };
      if (!ownServiceAccount[role.inputs.name]) {
        expect(others, role.inputs.name).toEqual([]);
        continue;
      }
      // Cortex's roles are also trusted through the cluster's OIDC provider (Cortex's AWS SDK
      // predates Pod Identity), each for exactly its own service account.
      const oidc = ofType(run.resources, 'aws:iam/openIdConnectProvider:OpenIdConnectProvider');
      expect(oidc).toHaveLength(1);
      expect(others).toHaveLength(1);
      const web = others[0];
      expect(web.Action).toBe('sts:AssumeRoleWithWebIdentity');
      expect(web.Principal.Federated).toMatch(/^arn:aws:iam::\d{12}:oidc-provider\//);
      const conditions = web.Condition.StringEquals as Record<string, string>;
      const sub = Object.entries(conditions).find(([k]) => k.endsWith(':sub'));
      const aud = Object.entries(conditions).find(([k]) => k.endsWith(':aud'));
      expect(sub?.[1]).toBe(ownServiceAccount[role.inputs.name]);
      expect(aud?.[1]).toBe('sts.amazonaws.com');
      expect(oidc[0]!.inputs.clientIdLists).toEqual(['sts.amazonaws.com']);
    }
  });

  it('tags every resource whose type takes tags (per the @pulumi/aws type definitions) with the instance', () => {
    const custom = run.resources.filter((r) => r.custom && r.type.startsWith('aws:'));
    const taggable = custom.filter((r) => isTaggableAwsType(r.type));
    // The check reads the definitions, it does not trust a list: spot-check both answers.
    expect(isTaggableAwsType('aws:ec2/vpc:Vpc')).toBe(true);
    expect(isTaggableAwsType('aws:s3/bucketPolicy:BucketPolicy')).toBe(false);
    expect(taggable.length).toBeGreaterThan(custom.length / 2);
    for (const r of taggable) {
      expect(r.inputs.tags?.[TAG_INSTANCE], keyOf(r)).toBe(INSTANCE);
      expect(r.inputs.tags?.[TAG_MANAGED_BY], keyOf(r)).toBe('lookout');
    }
    // Instances and volumes the node group launches carry them too.
    const lt = ofType(run.resources, 'aws:ec2/launchTemplate:LaunchTemplate')[0]!;
    for (const kind of ['instance', 'volume']) {
      const spec = (lt.inputs.tagSpecifications as any[]).find((s) => s.resourceType === kind);
      expect(spec?.tags?.[TAG_INSTANCE], kind).toBe(INSTANCE);
    }
    // And the provider applies them as default tags to anything created on the stack's behalf.
    const provider = run.resources.find((r) => r.type === 'pulumi:providers:aws')!;
    const defaultTags = typeof provider.inputs.defaultTags === 'string' ? JSON.parse(provider.inputs.defaultTags) : provider.inputs.defaultTags;
    expect(defaultTags.tags).toEqual({ [TAG_INSTANCE]: INSTANCE, [TAG_MANAGED_BY]: 'lookout' });
    expect(provider.inputs.region).toBe(CONFIGS[label]!.aws!.region);
  });

  it('puts every resource on the configured provider, none on a default one', () => {
    const provider = run.resources.find((r) => r.type === 'pulumi:providers:aws')!;
    for (const r of run.resources.filter((r) => r.custom && r.type.startsWith('aws:'))) {
      expect(r.provider, keyOf(r)).toMatch(new RegExp(`^${provider.urn.replace(/[$]/g, '\\$')}::`));
    }
  });
});
