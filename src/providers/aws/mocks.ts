/**
 * What AWS would answer, for the offline plan and the stack tests: realistic ids, ARNs,
 * endpoints and name servers for every resource type the infra stack creates, and answers
 * to every provider function it calls. Anything else throws, so a new resource type or
 * invoke cannot slip through unmocked: add it here.
 *
 * Values are derived from hashes of the logical names, so a plan is the same on every run.
 */
import type * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import type { MockBehaviour } from '../../plan/mock-runtime.js';
import { placeholderCertificateAuthorityData } from '../../plan/placeholder-ca.js';

export interface AwsMockOptions {
  region: string;
  accountId: string;
  /** Identity returned by `getCallerIdentity`. Default: an assumed-role session, as with SSO. */
  callerArn?: string;
  /** Number of zones `getAvailabilityZones` returns. Default 3. */
  availabilityZoneCount?: number;
}

export class UnmockedAwsError extends Error {}

function digest(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** A stable fake hostname of the NLB the cluster makes for a LoadBalancer Service, in the shape AWS gives them. */
export function mockNlbHostname(serviceName: string, region: string): string {
  return `k8s-lookout-${serviceName.slice(0, 8)}-${digest(serviceName).slice(0, 10)}.elb.${region}.amazonaws.com`;
}

/** Lowercase hex of the given length (EC2 ids use 17). */
function hex(seed: string, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += digest(`${seed}#${i}`);
  return out.slice(0, length);
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
function upperAlnum(seed: string, length: number): string {
  const bytes = Buffer.from(hex(seed, length * 2), 'hex');
  return [...bytes].map((b) => UPPER_ALNUM[b % UPPER_ALNUM.length]).join('');
}

function uuid(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function numberFrom(seed: string, modulo: number): number {
  return parseInt(hex(seed, 8), 16) % modulo;
}

/** A fixed instant, so plans do not change from one run to the next. */
const CREATED_AT = '2026-01-05T09:30:00Z';

export function partitionOf(region: string): { partition: string; dnsSuffix: string; reverseDnsPrefix: string } {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', dnsSuffix: 'amazonaws.com.cn', reverseDnsPrefix: 'cn.com.amazonaws' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws' };
  return { partition: 'aws', dnsSuffix: 'amazonaws.com', reverseDnsPrefix: 'com.amazonaws' };
}

/** `eu-west-1` → `euw1`, `ap-southeast-2` → `apse2`, the prefix of AZ ids. */
function regionShortCode(region: string): string {
  const [area = '', ...rest] = region.split('-');
  const number = rest.pop() ?? '';
  const directions = rest.map((word) => {
    const compound = /^(north|south)(east|west)$/.exec(word);
    return compound ? `${compound[1]![0]}${compound[2]![0]}` : word[0];
  });
  return `${area}${directions.join('')}${number}`;
}

/** Latest add-on versions as `eks:DescribeAddonVersions` listed them for recent Kubernetes versions. */
function addonVersion(addonName: string, kubernetesVersion: string): string {
  switch (addonName) {
    case 'vpc-cni':
      return 'v1.20.4-eksbuild.1';
    case 'kube-proxy':
      return `v${kubernetesVersion}.1-eksbuild.2`;
    case 'coredns':
      return 'v1.12.4-eksbuild.1';
    case 'eks-pod-identity-agent':
      return 'v1.3.9-eksbuild.3';
    case 'aws-ebs-csi-driver':
      return 'v1.51.1-eksbuild.1';
    default:
      throw new UnmockedAwsError(`no mocked version for EKS add-on "${addonName}"; add it to src/providers/aws/mocks.ts`);
  }
}

/** First usable host address of a CIDR, offset further by `offset` (AWS reserves the first four). */
function hostIn(cidr: string | undefined, offset: number): string {
  const [address = '10.0.0.0'] = (cidr ?? '10.0.0.0/24').split('/');
  const value = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) + 4 + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Pulumi type tokens this module knows how to answer for. */
export const MOCKED_AWS_RESOURCE_TYPES = [
  'aws:ec2/vpc:Vpc',
  'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup',
  'aws:ec2/internetGateway:InternetGateway',
  'aws:ec2/subnet:Subnet',
  'aws:ec2/eip:Eip',
  'aws:ec2/natGateway:NatGateway',
  'aws:ec2/routeTable:RouteTable',
  'aws:ec2/route:Route',
  'aws:ec2/routeTableAssociation:RouteTableAssociation',
  'aws:ec2/vpcEndpoint:VpcEndpoint',
  'aws:ec2/launchTemplate:LaunchTemplate',
  'aws:iam/role:Role',
  'aws:iam/openIdConnectProvider:OpenIdConnectProvider',
  'aws:iam/rolePolicy:RolePolicy',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
  'aws:kms/key:Key',
  'aws:kms/alias:Alias',
  'aws:cloudwatch/logGroup:LogGroup',
  'aws:eks/cluster:Cluster',
  'aws:eks/accessEntry:AccessEntry',
  'aws:eks/accessPolicyAssociation:AccessPolicyAssociation',
  'aws:eks/nodeGroup:NodeGroup',
  'aws:eks/addon:Addon',
  'aws:eks/podIdentityAssociation:PodIdentityAssociation',
  'aws:s3/bucket:Bucket',
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  'aws:s3/bucketPolicy:BucketPolicy',
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  'aws:route53/zone:Zone',
  'aws:route53/record:Record',
] as const;

/** Provider functions this module answers. */
export const MOCKED_AWS_INVOKES = [
  'aws:index/getCallerIdentity:getCallerIdentity',
  'aws:index/getAvailabilityZones:getAvailabilityZones',
  'aws:index/getRegion:getRegion',
  'aws:index/getPartition:getPartition',
  'aws:iam/getSessionContext:getSessionContext',
  'aws:eks/getAddonVersion:getAddonVersion',
] as const;

const EC2_ID_PREFIX: Record<string, string> = {
  'aws:ec2/vpc:Vpc': 'vpc',
  'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup': 'sg',
  'aws:ec2/internetGateway:InternetGateway': 'igw',
  'aws:ec2/subnet:Subnet': 'subnet',
  'aws:ec2/eip:Eip': 'eipalloc',
  'aws:ec2/natGateway:NatGateway': 'nat',
  'aws:ec2/routeTable:RouteTable': 'rtb',
  'aws:ec2/routeTableAssociation:RouteTableAssociation': 'rtbassoc',
  'aws:ec2/vpcEndpoint:VpcEndpoint': 'vpce',
  'aws:ec2/launchTemplate:LaunchTemplate': 'lt',
};

/** The last segment of an IAM role or user ARN, without its path. */
function principalName(arn: string): string {
  return arn.split('/').pop() ?? arn;
}

export function createAwsMockBehaviour(options: AwsMockOptions): MockBehaviour & {
  /** The physical id the mock gives a resource; tests use it to follow references. */
  idOf(type: string, name: string, inputs: Record<string, any>): string;
} {
  const { region, accountId } = options;
  const { partition, dnsSuffix, reverseDnsPrefix } = partitionOf(region);
  const callerArn =
    options.callerArn ?? `arn:${partition}:sts::${accountId}:assumed-role/AWSReservedSSO_AdministratorAccess_${hex('sso', 16)}/lookout`;
  const azCount = options.availabilityZoneCount ?? 3;
  const regionCode = regionShortCode(region);
  // Resources refer to each other by id; these let outputs reflect what they point at.
  const subnets = new Map<string, { vpcId: string; cidrBlock?: string; availabilityZone?: string }>();
  const eips = new Map<string, string>();

  const arn = (service: string, resource: string, withRegion = true, withAccount = true) =>
    `arn:${partition}:${service}:${withRegion ? region : ''}:${withAccount ? accountId : ''}:${resource}`;

  function idOf(type: string, name: string, inputs: Record<string, any>): string {
    const seed = `${type}::${name}`;
    const ec2Prefix = EC2_ID_PREFIX[type];
    if (ec2Prefix) return `${ec2Prefix}-${hex(seed, 17)}`;
    switch (type) {
      case 'aws:ec2/route:Route':
        return `r-${inputs.routeTableId}${numberFrom(`${seed}:${inputs.destinationCidrBlock}`, 1e10)}`;
      case 'aws:iam/role:Role':
        return inputs.name ?? `${name}-${hex(seed, 7)}`;
      case 'aws:iam/openIdConnectProvider:OpenIdConnectProvider':
        // IAM identifies the provider by its ARN, built from the issuer's host and path.
        return arn('iam', `oidc-provider/${String(inputs.url).replace(/^https:\/\//, '')}`, false);
      case 'aws:iam/rolePolicy:RolePolicy':
        return `${inputs.role}:${inputs.name ?? name}`;
      case 'aws:iam/rolePolicyAttachment:RolePolicyAttachment':
        // The provider's id: the role name and a 20-digit timestamp-like suffix.
        return `${inputs.role}-${hex(seed, 20).replace(/[a-f]/g, (c) => String(c.charCodeAt(0) - 97))}`;
      case 'aws:kms/key:Key':
        return uuid(seed);
      case 'aws:kms/alias:Alias':
        return inputs.name;
      case 'aws:cloudwatch/logGroup:LogGroup':
        return inputs.name;
      case 'aws:eks/cluster:Cluster':
        return inputs.name;
      case 'aws:eks/accessEntry:AccessEntry':
        return `${inputs.clusterName}:${inputs.principalArn}`;
      case 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation':
        return `${inputs.clusterName}#${inputs.principalArn}#${inputs.policyArn}`;
      case 'aws:eks/nodeGroup:NodeGroup':
        return `${inputs.clusterName}:${inputs.nodeGroupName}`;
      case 'aws:eks/addon:Addon':
        return `${inputs.clusterName}:${inputs.addonName}`;
      case 'aws:eks/podIdentityAssociation:PodIdentityAssociation':
        return `a-${hex(seed, 17)},${inputs.clusterName}`;
      case 'aws:s3/bucket:Bucket':
        return inputs.bucket;
      case 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock':
      case 'aws:s3/bucketOwnershipControls:BucketOwnershipControls':
      case 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration':
      case 'aws:s3/bucketPolicy:BucketPolicy':
      case 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration':
        return inputs.bucket;
      case 'aws:route53/zone:Zone':
        return `Z${upperAlnum(seed, 20)}`;
      case 'aws:route53/record:Record':
        return `${inputs.zoneId}_${inputs.name}_${inputs.type}`;
      default:
        return `${name}-id`;
    }
  }

  function outputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> | undefined {
    const { type, name } = args;
    if (!type.startsWith('aws:')) return undefined;
    const inputs = args.inputs as Record<string, any>;
    const id = idOf(type, name, inputs);
    const seed = `${type}::${name}`;
    const ownerId = accountId;
    switch (type) {
      case 'aws:ec2/vpc:Vpc':
        return {
          arn: arn('ec2', `vpc/${id}`),
          ownerId,
          instanceTenancy: 'default',
          defaultSecurityGroupId: `sg-${hex(`${seed}:sg`, 17)}`,
          defaultRouteTableId: `rtb-${hex(`${seed}:rtb`, 17)}`,
          mainRouteTableId: `rtb-${hex(`${seed}:rtb`, 17)}`,
          defaultNetworkAclId: `acl-${hex(`${seed}:acl`, 17)}`,
          dhcpOptionsId: `dopt-${hex(`${seed}:dopt`, 17)}`,
        };
      case 'aws:ec2/defaultSecurityGroup:DefaultSecurityGroup':
        return { arn: arn('ec2', `security-group/${id}`), name: 'default', description: 'default VPC security group', ownerId };
      case 'aws:ec2/internetGateway:InternetGateway':
        return { arn: arn('ec2', `internet-gateway/${id}`), ownerId };
      case 'aws:ec2/subnet:Subnet': {
        subnets.set(id, { vpcId: inputs.vpcId, cidrBlock: inputs.cidrBlock, availabilityZone: inputs.availabilityZone });
        const zoneLetter = String(inputs.availabilityZone ?? `${region}a`).slice(-1);
        return {
          arn: arn('ec2', `subnet/${id}`),
          ownerId,
          availabilityZoneId: `${regionCode}-az${zoneLetter.charCodeAt(0) - 96}`,
          mapPublicIpOnLaunch: inputs.mapPublicIpOnLaunch ?? false,
          privateDnsHostnameTypeOnLaunch: 'ip-name',
        };
      }
      case 'aws:ec2/eip:Eip': {
        const publicIp = `203.0.113.${1 + numberFrom(seed, 254)}`;
        eips.set(id, publicIp);
        const computeDomain = region === 'us-east-1' ? 'compute-1' : `${region}.compute`;
        return {
          arn: arn('ec2', `elastic-ip/${id}`),
          allocationId: id,
          domain: 'vpc',
          publicIp,
          publicDns: `ec2-${publicIp.replaceAll('.', '-')}.${computeDomain}.${dnsSuffix}`,
          publicIpv4Pool: 'amazon',
          networkBorderGroup: region,
        };
      }
      case 'aws:ec2/natGateway:NatGateway':
        return {
          publicIp: eips.get(inputs.allocationId) ?? `203.0.113.${1 + numberFrom(seed, 254)}`,
          privateIp: hostIn(subnets.get(inputs.subnetId)?.cidrBlock, numberFrom(seed, 200)),
          networkInterfaceId: `eni-${hex(`${seed}:eni`, 17)}`,
          connectivityType: inputs.connectivityType ?? 'public',
          availabilityMode: 'zonal',
        };
      case 'aws:ec2/routeTable:RouteTable':
        return { arn: arn('ec2', `route-table/${id}`), ownerId, routes: [], propagatingVgws: [] };
      case 'aws:ec2/route:Route':
        return { state: 'active', origin: 'CreateRoute' };
      case 'aws:ec2/routeTableAssociation:RouteTableAssociation':
        return {};
      case 'aws:ec2/vpcEndpoint:VpcEndpoint':
        return {
          arn: arn('ec2', `vpc-endpoint/${id}`),
          ownerId,
          prefixListId: `pl-${hex(`${seed}:pl`, 8)}`,
          state: 'available',
          requesterManaged: false,
        };
      case 'aws:ec2/launchTemplate:LaunchTemplate':
        return { arn: arn('ec2', `launch-template/${id}`), latestVersion: 1, defaultVersion: 1 };
      case 'aws:iam/role:Role':
        return {
          arn: arn('iam', `role${inputs.path ?? '/'}${id}`, false),
          name: id,
          path: inputs.path ?? '/',
          uniqueId: `AROA${upperAlnum(seed, 17)}`,
          createDate: CREATED_AT,
          maxSessionDuration: inputs.maxSessionDuration ?? 3600,
        };
      case 'aws:iam/rolePolicy:RolePolicy':
      case 'aws:iam/rolePolicyAttachment:RolePolicyAttachment':
        return {};
      case 'aws:iam/openIdConnectProvider:OpenIdConnectProvider':
        return { arn: id, thumbprintLists: inputs.thumbprintLists ?? ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'] };
      case 'aws:kms/key:Key':
        return {
          arn: arn('kms', `key/${id}`),
          keyId: id,
          keyUsage: 'ENCRYPT_DECRYPT',
          customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
          isEnabled: true,
          multiRegion: false,
          rotationPeriodInDays: inputs.enableKeyRotation ? 365 : undefined,
        };
      case 'aws:kms/alias:Alias':
        return { arn: arn('kms', String(inputs.name)), targetKeyArn: arn('kms', `key/${inputs.targetKeyId}`) };
      case 'aws:cloudwatch/logGroup:LogGroup':
        return { arn: arn('logs', `log-group:${inputs.name}`), logGroupClass: 'STANDARD' };
      case 'aws:eks/cluster:Cluster': {
        const subnetIds: string[] = inputs.vpcConfig?.subnetIds ?? [];
        return {
          arn: arn('eks', `cluster/${id}`),
          clusterId: uuid(`${seed}:cluster`),
          endpoint: `https://${hex(`${seed}:endpoint`, 32).toUpperCase()}.gr7.${region}.eks.${dnsSuffix}`,
          certificateAuthority: { data: placeholderCertificateAuthorityData(id) },
          identities: [{ oidcs: [{ issuer: `https://oidc.eks.${region}.${dnsSuffix}/id/${hex(`${seed}:oidc`, 32).toUpperCase()}` }] }],
          vpcConfig: {
            ...inputs.vpcConfig,
            clusterSecurityGroupId: `sg-${hex(`${seed}:cluster-sg`, 17)}`,
            vpcId: subnets.get(subnetIds[0] ?? '')?.vpcId ?? `vpc-${hex(`${seed}:vpc`, 17)}`,
            securityGroupIds: inputs.vpcConfig?.securityGroupIds ?? [],
          },
          kubernetesNetworkConfig: { ipFamily: 'ipv4', serviceIpv4Cidr: '172.20.0.0/16', elasticLoadBalancing: { enabled: false } },
          platformVersion: 'eks.12',
          status: 'ACTIVE',
          createdAt: CREATED_AT,
        };
      }
      case 'aws:eks/accessEntry:AccessEntry': {
        const principal = String(inputs.principalArn);
        const kind = principal.includes(':user/') ? 'user' : 'role';
        return {
          accessEntryArn: arn('eks', `access-entry/${inputs.clusterName}/${kind}/${accountId}/${principalName(principal)}/${uuid(seed)}`),
          kubernetesGroups: inputs.kubernetesGroups ?? [],
          type: inputs.type ?? 'STANDARD',
          userName: principal,
          createdAt: CREATED_AT,
          modifiedAt: CREATED_AT,
        };
      }
      case 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation':
        return { associatedAt: CREATED_AT, modifiedAt: CREATED_AT };
      case 'aws:eks/nodeGroup:NodeGroup':
        return {
          arn: arn('eks', `nodegroup/${inputs.clusterName}/${inputs.nodeGroupName}/${uuid(seed)}`),
          status: 'ACTIVE',
          releaseVersion: `${inputs.version}.0-20260101`,
          resources: [{ autoscalingGroups: [{ name: `eks-${inputs.nodeGroupName}-${uuid(seed)}` }], remoteAccessSecurityGroupId: '' }],
        };
      case 'aws:eks/addon:Addon':
        return {
          arn: arn('eks', `addon/${inputs.clusterName}/${inputs.addonName}/${uuid(seed)}`),
          createdAt: CREATED_AT,
          modifiedAt: CREATED_AT,
        };
      case 'aws:eks/podIdentityAssociation:PodIdentityAssociation': {
        const associationId = id.split(',')[0]!;
        return {
          associationId,
          associationArn: arn('eks', `podidentityassociation/${inputs.clusterName}/${associationId}`),
          externalId: uuid(`${seed}:external`),
        };
      }
      case 'aws:s3/bucket:Bucket':
        return {
          arn: `arn:${partition}:s3:::${id}`,
          bucket: id,
          bucketDomainName: `${id}.s3.${dnsSuffix}`,
          bucketRegionalDomainName: `${id}.s3.${region}.${dnsSuffix}`,
          region,
          bucketRegion: region,
        };
      case 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock':
      case 'aws:s3/bucketOwnershipControls:BucketOwnershipControls':
      case 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration':
      case 'aws:s3/bucketPolicy:BucketPolicy':
      case 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration':
        return {};
      case 'aws:route53/zone:Zone': {
        // Route53 hands out one name server in each of its four TLDs.
        const tlds = ['com', 'net', 'org', 'co.uk'];
        const nameServers = tlds.map((tld, i) => {
          const server = i * 512 + numberFrom(`${seed}:${tld}`, 512);
          const group = String(numberFrom(`${seed}:${tld}:n`, 64)).padStart(2, '0');
          return `ns-${server}.awsdns-${group}.${tld}`;
        });
        return {
          zoneId: id,
          arn: `arn:${partition}:route53:::hostedzone/${id}`,
          nameServers,
          primaryNameServer: nameServers[0],
          comment: inputs.comment ?? 'Managed by Pulumi',
        };
      }
      case 'aws:route53/record:Record':
        return { fqdn: inputs.name };
      default:
        throw new UnmockedAwsError(`no mock outputs for resource type ${type}; add it to src/providers/aws/mocks.ts`);
    }
  }

  function call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = (args.inputs ?? {}) as Record<string, any>;
    switch (args.token) {
      case 'aws:index/getCallerIdentity:getCallerIdentity':
        return { accountId, arn: callerArn, userId: `AROA${upperAlnum(callerArn, 17)}:lookout`, id: accountId };
      case 'aws:index/getAvailabilityZones:getAvailabilityZones': {
        const letters = 'abcdef'.slice(0, azCount).split('');
        return {
          names: letters.map((l) => `${region}${l}`),
          zoneIds: letters.map((_, i) => `${regionCode}-az${i + 1}`),
          groupNames: letters.map(() => region),
          id: region,
          region,
          state: inputs.state,
        };
      }
      case 'aws:index/getRegion:getRegion':
        return { region, name: region, endpoint: `ec2.${region}.${dnsSuffix}`, description: region, id: region };
      case 'aws:index/getPartition:getPartition':
        return { partition, dnsSuffix, reverseDnsPrefix, id: partition };
      case 'aws:iam/getSessionContext:getSessionContext': {
        const given = String(inputs.arn);
        const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/(.+)\/([^/]+)$/.exec(given);
        if (session) {
          const [, part, account, role, sessionName] = session;
          return {
            arn: given,
            issuerArn: `arn:${part}:iam::${account}:role/${role}`,
            issuerId: `AROA${upperAlnum(role!, 17)}`,
            issuerName: role,
            sessionName,
            id: given,
          };
        }
        return { arn: given, issuerArn: given, issuerId: '', issuerName: principalName(given), sessionName: '', id: given };
      }
      case 'aws:eks/getAddonVersion:getAddonVersion':
        return {
          addonName: inputs.addonName,
          kubernetesVersion: inputs.kubernetesVersion,
          mostRecent: inputs.mostRecent,
          version: addonVersion(String(inputs.addonName), String(inputs.kubernetesVersion)),
          region,
          id: inputs.addonName,
        };
      default:
        throw new UnmockedAwsError(`no mock for provider function ${args.token}; add it to src/providers/aws/mocks.ts`);
    }
  }

  return {
    outputs,
    call,
    id: (args) => idOf(args.type, args.name, args.inputs as Record<string, any>),
    idOf,
  };
}

/** Mocks for a sample account in eu-west-1. */
export const awsMockBehaviour: MockBehaviour = createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' });
