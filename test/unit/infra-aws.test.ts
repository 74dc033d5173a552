/**
 * The AWS infra stack program, run for real under the AWS mocks: the resource graph it
 * registers for example-like configs, its network layout, storage, cluster settings and
 * outputs. Security properties of IAM and tags are in infra-aws-security.test.ts.
 */
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  ACCOUNT_ID,
  countByType,
  keyOf,
  ofType,
  oneOf,
  policyDocuments,
  runWithAwsMocks,
  subnetEgress,
  type MockRun,
} from '../../components/aws/test/support.js';
import { configSchema, type LookoutConfig } from '../../src/config/schema.js';
import { UsageError } from '../../src/errors.js';
import { BUCKET_PURPOSES } from '../../src/naming.js';
import { AWS_ROLE_PURPOSES, accountRegionSuffix, awsNames } from '../../src/providers/aws/naming.js';
import { INFRA_AWS_PROJECT, infraAwsProgram, longestRetentionDays, type InfraAwsArgs, type InfraAwsProgramOutputs } from '../../src/providers/aws/infra-stack.js';

/** Like examples/aws.yaml: 3 AZs, a NAT gateway per AZ, tenants with their own retention. */
const DEFAULT_3AZ = configSchema.parse({
  name: 'prod',
  provider: 'aws',
  aws: { region: 'eu-west-1', apiAllowedCidrs: ['203.0.113.0/24', '198.51.100.10/32'] },
  dns: { domain: 'obs.example.com' },
  tenants: [{ name: 'payments', retention: { metricsDays: 90, logsDays: 21 } }, { name: 'web' }],
});

/** Like examples/aws-small.yaml: 2 AZs, one NAT gateway, a delegating parent zone, long system retention. */
const SMALL_2AZ = configSchema.parse({
  aws: {
    region: 'us-east-1',
    availabilityZones: 2,
    natGateways: 'single',
    kubernetesVersion: '1.33',
    nodes: { instanceType: 'm7g.large', min: 2, desired: 2, max: 3, diskGiB: 50 },
    apiAllowedCidrs: ['192.0.2.0/24'],
  },
  dns: { domain: 'demo.example.com', parentZone: 'Z0PARENTZONE1' },
  system: { retention: { metricsDays: 400, logsDays: 45 } },
  tenants: [{ name: 'dev', retention: { metricsDays: 7, logsDays: 3 } }],
});

type Run = MockRun<InfraAwsProgramOutputs>;

async function infra(config: LookoutConfig, extra: Partial<InfraAwsArgs> = {}): Promise<Run> {
  return runWithAwsMocks(infraAwsProgram({ instance: 'prod', config, ...extra }), {
    region: config.aws!.region,
    project: INFRA_AWS_PROJECT,
    stack: 'prod-infra',
  });
}

/** What the stack must register for a config, derived from the config and the stack's shape. */
function expectedCounts(config: LookoutConfig, delegated: boolean): Record<string, number> {
  const azs = config.aws!.availabilityZones;
  const nats = config.aws!.natGateways === 'single' ? 1 : azs;
  const buckets = BUCKET_PURPOSES.length;
  const workloadIdentities = 4; // metrics store (blocks), its ruler and its Alertmanager (rules), log store
  const nodePolicies = 3; // worker node, ECR pull, CNI
  return {
    'pulumi:providers:aws': 1,
    // Network
    'lookout:aws:Network': 1,
    'aws:ec2/vpc:Vpc': 1,
    'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup': 1,
    'aws:ec2/internetGateway:InternetGateway': 1,
    'aws:ec2/subnet:Subnet': 2 * azs,
    'aws:ec2/eip:Eip': nats,
    'aws:ec2/natGateway:NatGateway': nats,
    'aws:ec2/routeTable:RouteTable': 1 + azs,
    'aws:ec2/route:Route': 1 + azs,
    'aws:ec2/routeTableAssociation:RouteTableAssociation': 2 * azs,
    'aws:ec2/vpcEndpoint:VpcEndpoint': 1,
    // Cluster
    'lookout:aws:EksCluster': 1,
    'aws:eks/cluster:Cluster': 1,
    'aws:cloudwatch/logGroup:LogGroup': 1,
    'aws:kms/key:Key': 2, // secrets, storage
    'aws:kms/alias:Alias': 1,
    'aws:iam/role:Role': AWS_ROLE_PURPOSES.length,
    'aws:iam/openIdConnectProvider:OpenIdConnectProvider': 1, // IRSA for the metrics store
    'aws:iam/rolePolicyAttachment:RolePolicyAttachment': 1 + nodePolicies + 1, // cluster, nodes, EBS CSI
    'aws:iam/rolePolicy:RolePolicy': 1 + workloadIdentities, // cluster's key access, workloads' storage access
    'aws:eks/accessEntry:AccessEntry': 1,
    'aws:eks/accessPolicyAssociation:AccessPolicyAssociation': 1,
    'aws:ec2/launchTemplate:LaunchTemplate': 1,
    'aws:eks/nodeGroup:NodeGroup': 1,
    'aws:eks/addon:Addon': 5,
    // Storage and identities
    'lookout:aws:ObservabilityBuckets': 1,
    'lookout:aws:SecureBucket': buckets,
    'aws:s3/bucket:Bucket': buckets,
    'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock': buckets,
    'aws:s3/bucketOwnershipControls:BucketOwnershipControls': buckets,
    'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration': buckets,
    'aws:s3/bucketPolicy:BucketPolicy': buckets,
    'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration': buckets,
    'lookout:aws:BucketAccessIdentity': workloadIdentities,
    'aws:eks/podIdentityAssociation:PodIdentityAssociation': workloadIdentities,
    // DNS
    'lookout:aws:DnsZone': 1,
    'aws:route53/zone:Zone': 1,
    ...(delegated ? { 'aws:route53/record:Record': 1 } : {}),
  };
}

let big: Run;
let small: Run;
beforeAll(async () => {
  big = await infra(DEFAULT_3AZ);
  small = await infra(SMALL_2AZ, { parentZoneId: SMALL_2AZ.dns.parentZone! });
});

describe('infra-aws resource graph', () => {
  it('registers what a 3-AZ config with a NAT gateway per AZ implies', () => {
    const expected = expectedCounts(DEFAULT_3AZ, false);
    expect(countByType(big.resources)).toEqual(expected);
    expect(big.resources).toHaveLength(Object.values(expected).reduce((a, b) => a + b, 0));
  });

  it('registers what a 2-AZ config with a single NAT gateway and a parent zone implies', () => {
    expect(countByType(small.resources)).toEqual(expectedCounts(SMALL_2AZ, true));
  });

  it('gives every physical name from awsNames()', () => {
    const names = awsNames('prod');
    expect(oneOf(big.resources, 'aws:eks/cluster:Cluster').inputs.name).toBe(names.clusterName);
    expect(oneOf(big.resources, 'aws:eks/nodeGroup:NodeGroup').inputs.nodeGroupName).toBe(names.nodeGroupName);
    expect(oneOf(big.resources, 'aws:ec2/launchTemplate:LaunchTemplate').inputs.name).toBe(names.launchTemplateName);
    expect(oneOf(big.resources, 'aws:kms/alias:Alias').inputs.name).toBe(names.kmsAlias);
    expect(oneOf(big.resources, 'aws:cloudwatch/logGroup:LogGroup').inputs.name).toBe(names.clusterLogGroup);
    expect(ofType(big.resources, 'aws:iam/role:Role').map((r) => r.inputs.name).sort()).toEqual(
      AWS_ROLE_PURPOSES.map((p) => names.roleName(p)).sort(),
    );
    const suffix = accountRegionSuffix(ACCOUNT_ID, 'eu-west-1');
    expect(ofType(big.resources, 'aws:s3/bucket:Bucket').map((b) => b.inputs.bucket).sort()).toEqual(
      BUCKET_PURPOSES.map((p) => names.bucketName(p, suffix)).sort(),
    );
  });
});

describe('infra-aws network', () => {
  it('keeps nodes and the control plane in private subnets that map no public IPs', () => {
    for (const run of [big, small]) {
      const egress = subnetEgress(run);
      const privateKeys = egress.filter((e) => e.via === 'nat-gateway').map((e) => keyOf(e.subnet));
      expect(privateKeys).toHaveLength(run === big ? 3 : 2);
      for (const e of egress) expect(e.subnet.inputs.mapPublicIpOnLaunch, e.subnet.name).toBe(false);
      const nodeSubnets = (oneOf(run.resources, 'aws:eks/nodeGroup:NodeGroup').inputs.subnetIds as string[]).map((id) =>
        keyOf(run.byId.get(id)!),
      );
      expect(nodeSubnets.sort()).toEqual([...privateKeys].sort());
      const controlPlaneSubnets = (oneOf(run.resources, 'aws:eks/cluster:Cluster').inputs.vpcConfig.subnetIds as string[]).map((id) =>
        keyOf(run.byId.get(id)!),
      );
      expect(controlPlaneSubnets.sort()).toEqual([...privateKeys].sort());
    }
  });

  it('sends each private subnet through the NAT gateway of its own AZ (one-per-az)', () => {
    const privateEgress = subnetEgress(big).filter((e) => e.via === 'nat-gateway');
    expect(new Set(privateEgress.map((e) => e.availabilityZone)).size).toBe(DEFAULT_3AZ.aws!.availabilityZones);
    for (const e of privateEgress) expect(e.natAvailabilityZone).toBe(e.availabilityZone);
    expect(new Set(privateEgress.map((e) => keyOf(e.nat!))).size).toBe(DEFAULT_3AZ.aws!.availabilityZones);
  });

  it('sends every private subnet through the one NAT gateway (single)', () => {
    const privateEgress = subnetEgress(small).filter((e) => e.via === 'nat-gateway');
    expect(privateEgress).toHaveLength(2);
    expect(ofType(small.resources, 'aws:ec2/natGateway:NatGateway')).toHaveLength(1);
    expect(new Set(privateEgress.map((e) => keyOf(e.nat!))).size).toBe(1);
  });
});

describe('infra-aws storage', () => {
  const T = {
    bucket: 'aws:s3/bucket:Bucket',
    pab: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
    sse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
    policy: 'aws:s3/bucketPolicy:BucketPolicy',
    lifecycle: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  };

  it('blocks public access, encrypts with the storage key and refuses plain HTTP on every bucket', () => {
    for (const run of [big, small]) {
      const storageKeyArn = run.outputs.storageKeyArn;
      for (const bucket of ofType(run.resources, T.bucket)) {
        const name = bucket.inputs.bucket;
        const of = (type: string) => ofType(run.resources, type).find((r) => r.inputs.bucket === name)!;
        expect(of(T.pab).inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
        expect(of(T.sse).inputs.rules).toEqual([
          { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: storageKeyArn }, bucketKeyEnabled: true },
        ]);
        const [doc] = policyDocuments([of(T.policy)]);
        const arn = bucket.state.arn;
        expect(doc!.statements).toContainEqual({
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 's3:*',
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        });
      }
    }
  });

  it('expires data only after the longest retention of any tenant, including the system tenant', () => {
    for (const [run, config] of [
      [big, DEFAULT_3AZ],
      [small, SMALL_2AZ],
    ] as const) {
      const longest = longestRetentionDays(config);
      const all = [config.system.retention, ...config.tenants.map((t) => t.retention)];
      expect(longest.metrics).toBe(Math.max(...all.map((r) => r.metricsDays)));
      expect(longest.logs).toBe(Math.max(...all.map((r) => r.logsDays)));
      const expiry = (purpose: string) => {
        const lifecycle = ofType(run.resources, T.lifecycle).find((l) => l.inputs.bucket === run.outputs.buckets[purpose as 'logs'])!;
        return (lifecycle.inputs.rules as any[]).find((r) => r.expiration)?.expiration.days as number | undefined;
      };
      expect(expiry('metrics')).toBeGreaterThan(longest.metrics);
      expect(expiry('logs')).toBeGreaterThan(longest.logs);
      expect(expiry('rules')).toBeUndefined();
    }
    // The fixtures make the tenants' and the system's retention the longest in turn.
    expect(longestRetentionDays(DEFAULT_3AZ).metrics).toBe(90);
    expect(longestRetentionDays(SMALL_2AZ).metrics).toBe(400);
  });

  it('keeps the buckets, their protections and their key when the stack is destroyed', () => {
    const storageTypes = [...Object.values(T), 'aws:s3/bucketOwnershipControls:BucketOwnershipControls'];
    const kept = big.resources.filter((r) => storageTypes.includes(r.type));
    expect(kept).toHaveLength(BUCKET_PURPOSES.length * storageTypes.length);
    for (const r of kept) expect(big.options.get(keyOf(r))?.retainOnDelete, keyOf(r)).toBe(true);
    const storageKey = ofType(big.resources, 'aws:kms/key:Key').find((k) => k.state.arn === big.outputs.storageKeyArn)!;
    expect(big.options.get(keyOf(storageKey))?.retainOnDelete).toBe(true);
    // Nothing else is kept: the rest of the instance goes with `destroy`.
    const others = big.resources.filter((r) => r.custom && !storageTypes.includes(r.type) && r !== storageKey);
    for (const r of others) expect(big.options.get(keyOf(r))?.retainOnDelete, keyOf(r)).toBeUndefined();
  });
});

describe('infra-aws cluster', () => {
  it('applies the config: version, API CIDRs, node sizes, and the EKS security settings', () => {
    for (const [run, config] of [
      [big, DEFAULT_3AZ],
      [small, SMALL_2AZ],
    ] as const) {
      const aws = config.aws!;
      const eks = oneOf(run.resources, 'aws:eks/cluster:Cluster');
      expect(eks.inputs.version).toBe(aws.kubernetesVersion);
      expect(eks.inputs.vpcConfig.publicAccessCidrs).toEqual(aws.apiAllowedCidrs);
      expect(eks.inputs.vpcConfig.endpointPrivateAccess).toBe(true);
      expect(eks.inputs.accessConfig).toEqual({ authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false });
      const secretsKey = oneOf(run.resources, 'aws:kms/alias:Alias').inputs.targetKeyId;
      const key = ofType(run.resources, 'aws:kms/key:Key').find((k) => k.state.keyId === secretsKey)!;
      expect(key.inputs.enableKeyRotation).toBe(true);
      expect(eks.inputs.encryptionConfig).toEqual({ provider: { keyArn: key.state.arn }, resources: ['secrets'] });
      expect([...eks.inputs.enabledClusterLogTypes].sort()).toEqual(['api', 'audit', 'authenticator']);

      const lt = oneOf(run.resources, 'aws:ec2/launchTemplate:LaunchTemplate');
      expect(lt.inputs.metadataOptions.httpTokens).toBe('required');
      expect(lt.inputs.instanceType).toBe(aws.nodes.instanceType);
      expect(lt.inputs.blockDeviceMappings[0].ebs).toMatchObject({ volumeType: 'gp3', encrypted: 'true', volumeSize: aws.nodes.diskGiB });
      const ng = oneOf(run.resources, 'aws:eks/nodeGroup:NodeGroup');
      expect(ng.inputs.scalingConfig).toEqual({ minSize: aws.nodes.min, desiredSize: aws.nodes.desired, maxSize: aws.nodes.max });
      expect(ng.inputs.version).toBe(aws.kubernetesVersion);
      // `nodes.desired` is a config field, so upgrades must apply it.
      expect(run.options.get(keyOf(ng))!.ignoreChanges).toEqual([]);
    }
    expect(oneOf(small.resources, 'aws:eks/nodeGroup:NodeGroup').inputs.amiType).toBe('AL2023_ARM_64_STANDARD');
    expect(oneOf(big.resources, 'aws:eks/nodeGroup:NodeGroup').inputs.amiType).toBe('AL2023_x86_64_STANDARD');
  });

  it('makes the caller’s role, not its STS session, the cluster admin', () => {
    const entry = oneOf(big.resources, 'aws:eks/accessEntry:AccessEntry');
    expect(entry.inputs.principalArn).toMatch(new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:role/AWSReservedSSO_AdministratorAccess_[0-9a-f]+$`));
  });

  it.each([
    [`arn:aws:iam::${ACCOUNT_ID}:user/alice`, `arn:aws:iam::${ACCOUNT_ID}:user/alice`],
    [`arn:aws:iam::${ACCOUNT_ID}:role/ops/Platform`, `arn:aws:iam::${ACCOUNT_ID}:role/ops/Platform`],
    [`arn:aws:sts::${ACCOUNT_ID}:assumed-role/Platform/alice@example.com`, `arn:aws:iam::${ACCOUNT_ID}:role/Platform`],
  ])('makes the given admin principal %s the cluster admin as %s', async (given, expected) => {
    const run = await infra(DEFAULT_3AZ, { adminPrincipalArn: given });
    const association = oneOf(run.resources, 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation');
    expect(oneOf(run.resources, 'aws:eks/accessEntry:AccessEntry').inputs.principalArn).toBe(expected);
    expect(association.inputs.principalArn).toBe(expected);
    expect(association.inputs.policyArn).toBe('arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy');
  });
});

describe('infra-aws outputs', () => {
  it('returns the kubeconfig as a secret, readable as YAML, for the cluster', async () => {
    expect(await pulumi.isSecret(big.rawOutputs.kubeconfig)).toBe(true);
    const kubeconfig = parse(big.outputs.kubeconfig);
    const current = kubeconfig.contexts.find((c: any) => c.name === kubeconfig['current-context']).context;
    const cluster = kubeconfig.clusters.find((c: any) => c.name === current.cluster).cluster;
    expect(current.cluster).toBe(awsNames('prod').clusterName);
    expect(cluster.server).toBe(big.outputs.clusterEndpoint);
    expect(kubeconfig.users[0].user.exec.args).toEqual(
      expect.arrayContaining(['--cluster-name', awsNames('prod').clusterName, '--region', 'eu-west-1']),
    );
    expect(await pulumi.isSecret(big.rawOutputs.clusterEndpoint)).toBe(false);
  });

  it('reports what the CLI needs, consistent with the resources', () => {
    const o = big.outputs;
    expect(o.region).toBe('eu-west-1');
    expect(o.accountId).toBe(ACCOUNT_ID);
    expect(o.clusterName).toBe(awsNames('prod').clusterName);
    expect(o.clusterEndpoint).toMatch(/^https:\/\/[0-9A-F]{32}\.gr7\.eu-west-1\.eks\.amazonaws\.com$/);
    const bucketNames = ofType(big.resources, 'aws:s3/bucket:Bucket').map((b) => b.inputs.bucket);
    expect(Object.keys(o.buckets).sort()).toEqual([...BUCKET_PURPOSES].sort());
    for (const p of BUCKET_PURPOSES) expect(bucketNames).toContain(o.buckets[p]);
    const roleArn = (purpose: (typeof AWS_ROLE_PURPOSES)[number]) =>
      ofType(big.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === awsNames('prod').roleName(purpose))!.state.arn;
    expect(o.roleArns).toEqual({
      metricsStore: roleArn('metrics-store'),
      ruler: roleArn('ruler'),
      alertmanager: roleArn('alertmanager'),
      logStore: roleArn('log-store'),
      nodes: roleArn('nodes'),
      cluster: roleArn('cluster'),
    });
    expect(o.storageKeyArn).toMatch(/^arn:aws:kms:eu-west-1:123456789012:key\/[0-9a-f-]{36}$/);
    expect(o.zoneId).toBe(oneOf(big.resources, 'aws:route53/zone:Zone').state.zoneId);
    expect(o.nameServers).toHaveLength(4);
    expect(o.delegated).toBe(false);
    expect(big.byId.get(o.vpcId)?.type).toBe('aws:ec2/vpc:Vpc');
    // The cluster's own networks, for the platform's receivers firewall and network policies:
    // the VPC (nodes, and pods with the VPC CNI) and the Services' CIDR EKS chose.
    expect(o.clusterCidrs).toEqual([oneOf(big.resources, 'aws:ec2/vpc:Vpc').inputs.cidrBlock, oneOf(big.resources, 'aws:eks/cluster:Cluster').state.kubernetesNetworkConfig.serviceIpv4Cidr]);
    expect(o.clusterCidrs).toEqual(['10.0.0.0/16', '172.20.0.0/16']);
    const egress = subnetEgress(big);
    const subnetKeys = (ids: string[]) => ids.map((id) => keyOf(big.byId.get(id)!)).sort();
    expect(subnetKeys(o.privateSubnetIds)).toEqual(egress.filter((e) => e.via === 'nat-gateway').map((e) => keyOf(e.subnet)).sort());
    expect(subnetKeys(o.publicSubnetIds)).toEqual(egress.filter((e) => e.via === 'internet-gateway').map((e) => keyOf(e.subnet)).sort());
  });

  it('delegates from the parent zone the preflight found, with the zone’s name servers', () => {
    expect(small.outputs.delegated).toBe(true);
    const record = oneOf(small.resources, 'aws:route53/record:Record');
    expect(record.inputs).toMatchObject({ zoneId: SMALL_2AZ.dns.parentZone, name: SMALL_2AZ.dns.domain, type: 'NS', ttl: 300 });
    expect(record.inputs.records).toEqual(small.outputs.nameServers);
    expect(oneOf(small.resources, 'aws:route53/zone:Zone').inputs).toMatchObject({ name: SMALL_2AZ.dns.domain, forceDestroy: false });
  });

  it('refuses a config without an aws section, naming the instance', () => {
    const { aws: _omitted, ...withoutAws } = DEFAULT_3AZ;
    expect(() => infraAwsProgram({ instance: 'prod', config: withoutAws })).toThrow(UsageError);
    expect(() => infraAwsProgram({ instance: 'prod', config: withoutAws })).toThrow(/"prod" has no `aws` section/);
  });
});
