import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  EKS_CLUSTER_LOG_TYPES,
  EksCluster,
  POST_NODE_ADDONS,
  PRE_NODE_ADDONS,
  amiTypeFor,
  type EksClusterArgs,
} from '../src/eks-cluster.js';
import { ACCOUNT_ID, REGION, asList, keyOf, ofType, oneOf, policyDocuments, runWithAwsMocks } from './support.js';

const ADMIN = `arn:aws:iam::${ACCOUNT_ID}:role/platform-admin`;
const SUBNETS = ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb', 'subnet-0ccccccccccccccccc'];

function clusterArgs(overrides: Partial<EksClusterArgs> = {}): EksClusterArgs {
  return {
    clusterName: 'acme',
    kubernetesVersion: '1.34',
    subnetIds: SUBNETS,
    publicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
    adminPrincipalArn: ADMIN,
    roleNames: { cluster: 'acme-cluster', nodes: 'acme-nodes', ebsCsiDriver: 'acme-ebs-csi-driver' },
    secretsKeyAlias: 'alias/acme-eks-secrets',
    nodes: {
      nodeGroupName: 'acme-nodes',
      launchTemplateName: 'acme-nodes',
      instanceType: 'm7i.xlarge',
      minSize: 2,
      desiredSize: 3,
      maxSize: 5,
      diskGiB: 80,
    },
    tags: { owner: 'obs' },
    ...overrides,
  };
}

async function cluster(overrides: Partial<EksClusterArgs> = {}) {
  return runWithAwsMocks(async () => {
    const c = new EksCluster('eks', clusterArgs(overrides));
    return {
      kubeconfig: c.kubeconfig,
      endpoint: c.endpoint,
      keyArn: c.secretsKeyArn,
      nodeRoleArn: c.nodeRoleArn,
      ca: c.certificateAuthorityData,
      oidc: c.oidcIssuer,
      sg: c.clusterSecurityGroupId,
    };
  });
}

describe('amiTypeFor', () => {
  it.each([
    ['m7i.xlarge', 'AL2023_x86_64_STANDARD'],
    ['c6a.2xlarge', 'AL2023_x86_64_STANDARD'],
    ['g5.xlarge', 'AL2023_x86_64_STANDARD'],
    ['m7g.xlarge', 'AL2023_ARM_64_STANDARD'],
    ['c7gn.large', 'AL2023_ARM_64_STANDARD'],
    ['r8g.4xlarge', 'AL2023_ARM_64_STANDARD'],
    ['t4g.medium', 'AL2023_ARM_64_STANDARD'],
  ])('%s runs %s', (type, ami) => expect(amiTypeFor(type)).toBe(ami));
});

describe('EksCluster', () => {
  it('uses access entries, encrypts secrets with its own rotating key, logs with a retention, and limits the public endpoint', async () => {
    const run = await cluster();
    const eks = oneOf(run.resources, 'aws:eks/cluster:Cluster');
    expect(eks.inputs.name).toBe('acme');
    expect(eks.inputs.version).toBe('1.34');
    expect(eks.inputs.accessConfig).toEqual({ authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false });
    expect(eks.inputs.vpcConfig).toMatchObject({
      subnetIds: SUBNETS,
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
    });
    expect(eks.inputs.encryptionConfig).toEqual({ provider: { keyArn: run.outputs.keyArn }, resources: ['secrets'] });
    expect([...eks.inputs.enabledClusterLogTypes].sort()).toEqual(['api', 'audit', 'authenticator']);
    expect(EKS_CLUSTER_LOG_TYPES).toEqual(eks.inputs.enabledClusterLogTypes);

    const key = oneOf(run.resources, 'aws:kms/key:Key');
    expect(key.inputs.enableKeyRotation).toBe(true);
    const alias = oneOf(run.resources, 'aws:kms/alias:Alias');
    expect(alias.inputs.name).toBe('alias/acme-eks-secrets');
    expect(alias.inputs.targetKeyId).toBe(key.state.keyId);

    const logGroup = oneOf(run.resources, 'aws:cloudwatch/logGroup:LogGroup');
    expect(logGroup.inputs.name).toBe('/aws/eks/acme/cluster');
    expect(logGroup.inputs.retentionInDays).toBeGreaterThan(0);
    expect(run.options.get(keyOf(eks))!.dependsOn).toContain(keyOf(logGroup));

    // The control plane may use the secrets key, and only that key.
    const clusterRole = ofType(run.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === 'acme-cluster')!;
    const keyPolicies = policyDocuments(ofType(run.resources, 'aws:iam/rolePolicy:RolePolicy')).filter(
      (p) => p.resource.inputs.role === clusterRole.inputs.name,
    );
    expect(keyPolicies).toHaveLength(1);
    for (const s of keyPolicies[0]!.statements) expect(asList(s.Resource)).toEqual([run.outputs.keyArn]);
  });

  it('makes the admin principal (and extra ones) cluster admins through access entries, with stable names', async () => {
    const extra = [`arn:aws:iam::${ACCOUNT_ID}:role/break-glass`, `arn:aws:iam::${ACCOUNT_ID}:user/ci`];
    const run = await cluster({ extraAdminPrincipalArns: extra });
    const entries = ofType(run.resources, 'aws:eks/accessEntry:AccessEntry');
    expect(entries.map((e) => e.inputs.principalArn).sort()).toEqual([ADMIN, ...extra].sort());
    for (const e of entries) expect(e.inputs.type).toBe('STANDARD');
    const associations = ofType(run.resources, 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation');
    expect(associations.map((a) => a.inputs.principalArn).sort()).toEqual([ADMIN, ...extra].sort());
    for (const a of associations) {
      expect(a.inputs.policyArn).toBe('arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy');
      expect(a.inputs.accessScope).toEqual({ type: 'cluster' });
    }
    // Dropping one extra admin keeps the logical names of the others.
    const fewer = await cluster({ extraAdminPrincipalArns: [extra[1]!] });
    const names = (r: typeof run) => Object.fromEntries(ofType(r.resources, 'aws:eks/accessEntry:AccessEntry').map((e) => [e.inputs.principalArn, e.name]));
    expect(names(fewer)[extra[1]!]).toBe(names(run)[extra[1]!]);
    expect(names(fewer)[ADMIN]).toBe(names(run)[ADMIN]);
  });

  it('runs nodes in the given subnets from an IMDSv2-only launch template with an encrypted gp3 root volume', async () => {
    const run = await cluster();
    const lt = oneOf(run.resources, 'aws:ec2/launchTemplate:LaunchTemplate');
    expect(lt.inputs.name).toBe('acme-nodes');
    expect(lt.inputs.instanceType).toBe('m7i.xlarge');
    expect(lt.inputs.metadataOptions).toMatchObject({ httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled' });
    expect(lt.inputs.blockDeviceMappings).toHaveLength(1);
    expect(lt.inputs.blockDeviceMappings[0].ebs).toMatchObject({ volumeType: 'gp3', encrypted: 'true', volumeSize: 80 });
    const specs = Object.fromEntries((lt.inputs.tagSpecifications as any[]).map((s) => [s.resourceType, s.tags]));
    expect(specs.instance).toMatchObject({ owner: 'obs' });
    expect(specs.volume).toMatchObject({ owner: 'obs' });

    const ng = oneOf(run.resources, 'aws:eks/nodeGroup:NodeGroup');
    expect(ng.inputs.nodeGroupName).toBe('acme-nodes');
    expect(ng.inputs.subnetIds).toEqual(SUBNETS);
    expect(ng.inputs.scalingConfig).toEqual({ minSize: 2, desiredSize: 3, maxSize: 5 });
    expect(run.byId.get(ng.inputs.launchTemplate.id)).toBe(lt);
    expect(ng.inputs.launchTemplate.version).toBe(String(lt.state.latestVersion));
    expect(ng.inputs.amiType).toBe('AL2023_x86_64_STANDARD');
    expect(ng.inputs.nodeRoleArn).toBe(run.outputs.nodeRoleArn);
    // Managed node groups create the node role's access entry themselves.
    expect(ofType(run.resources, 'aws:eks/accessEntry:AccessEntry').map((e) => e.inputs.principalArn)).not.toContain(run.outputs.nodeRoleArn);

    const nodeRole = ofType(run.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === 'acme-nodes')!;
    const attached = ofType(run.resources, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment')
      .filter((a) => a.inputs.role === nodeRole.inputs.name)
      .map((a) => a.inputs.policyArn)
      .sort();
    expect(attached).toEqual([
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly',
      'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
    ]);
  });

  it('owns the desired node count unless told an autoscaler does', async () => {
    const owned = await cluster();
    const ngKey = keyOf(oneOf(owned.resources, 'aws:eks/nodeGroup:NodeGroup'));
    expect(owned.options.get(ngKey)!.ignoreChanges).toEqual([]);
    const autoscaled = await cluster({ nodes: { ...clusterArgs().nodes, ignoreDesiredSizeChanges: true } });
    expect(autoscaled.options.get(ngKey)!.ignoreChanges).toEqual(['scalingConfig.desiredSize']);
  });

  it('installs the network add-ons and the pod identity agent before nodes, coredns and EBS CSI after', async () => {
    const run = await cluster();
    const addons = ofType(run.resources, 'aws:eks/addon:Addon');
    expect(addons.map((a) => a.inputs.addonName).sort()).toEqual([...PRE_NODE_ADDONS, ...POST_NODE_ADDONS].sort());
    const byName = (n: string) => addons.find((a) => a.inputs.addonName === n)!;
    const ng = keyOf(oneOf(run.resources, 'aws:eks/nodeGroup:NodeGroup'));
    for (const pre of PRE_NODE_ADDONS) expect(run.options.get(ng)!.dependsOn).toContain(keyOf(byName(pre)));
    for (const post of POST_NODE_ADDONS) expect(run.options.get(keyOf(byName(post)))!.dependsOn).toContain(ng);
    for (const a of addons) expect(a.inputs.addonVersion, a.inputs.addonName).toMatch(/^v\d+\.\d+\.\d+-eksbuild\.\d+$/);
    expect(byName('kube-proxy').inputs.addonVersion).toMatch(/^v1\.34\./);
    expect(JSON.parse(byName('vpc-cni').inputs.configurationValues)).toEqual({ enableNetworkPolicy: 'true' });

    const ebs = byName('aws-ebs-csi-driver');
    const [association] = ebs.inputs.podIdentityAssociations;
    expect(association.serviceAccount).toBe('ebs-csi-controller-sa');
    const ebsRole = ofType(run.resources, 'aws:iam/role:Role').find((r) => r.inputs.name === 'acme-ebs-csi-driver')!;
    expect(association.roleArn).toBe(ebsRole.state.arn);
    const trust = JSON.parse(ebsRole.inputs.assumeRolePolicy);
    expect(trust.Statement[0].Principal).toEqual({ Service: 'pods.eks.amazonaws.com' });
    expect(trust.Statement[0].Action).toEqual(['sts:AssumeRole', 'sts:TagSession']);
    expect(
      ofType(run.resources, 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').find((a) => a.inputs.role === 'acme-ebs-csi-driver')
        ?.inputs.policyArn,
    ).toBe('arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy');
  });

  it('returns a secret kubeconfig for the cluster that gets tokens from the AWS CLI', async () => {
    const run = await cluster();
    expect(await pulumi.isSecret(run.rawOutputs.kubeconfig)).toBe(true);
    const config = parse(run.outputs.kubeconfig);
    expect(config['current-context']).toBe('acme');
    expect(config.clusters[0].cluster.server).toBe(run.outputs.endpoint);
    expect(config.clusters[0].cluster['certificate-authority-data']).toBe(run.outputs.ca);
    expect(config.users[0].user.exec.args).toEqual(['eks', 'get-token', '--cluster-name', 'acme', '--region', REGION, '--output', 'json']);
    expect(run.outputs.oidc).toMatch(/^https:\/\/oidc\.eks\.eu-west-1\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
    expect(run.outputs.sg).toMatch(/^sg-[0-9a-f]{17}$/);
  });

  it('refuses an empty list of API CIDRs (EKS would open the endpoint to everyone)', () => {
    expect(() => new EksCluster('eks', clusterArgs({ publicAccessCidrs: [] }))).toThrow(/publicAccessCidrs is empty/);
  });
});
