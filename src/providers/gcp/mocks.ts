/**
 * What GCP would answer, for the offline plan and the stack tests: ids, self links, emails,
 * endpoints and name servers in the shapes GCP gives them, for every resource type the GCP
 * infra stack and the platform's DNS record create, and the provider functions they call.
 * Anything else throws, so a new resource type or invoke cannot slip through unmocked.
 *
 * Values are derived from hashes of the logical names, so a plan is the same on every run.
 */
import type * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import type { MockBehaviour } from '../../plan/mock-runtime.js';
import { placeholderCertificateAuthorityData } from '../../plan/placeholder-ca.js';

export interface GcpMockOptions {
  project: string;
  region: string;
  /** The project number `getProject` returns. */
  projectNumber?: string;
}

export class UnmockedGcpError extends Error {}

/** Pulumi type tokens this module knows how to answer for. */
export const MOCKED_GCP_RESOURCE_TYPES = [
  'gcp:compute/network:Network',
  'gcp:compute/subnetwork:Subnetwork',
  'gcp:compute/router:Router',
  'gcp:compute/routerNat:RouterNat',
  'gcp:serviceaccount/account:Account',
  'gcp:serviceaccount/iAMBinding:IAMBinding',
  'gcp:projects/iAMMember:IAMMember',
  'gcp:kms/keyRing:KeyRing',
  'gcp:kms/cryptoKey:CryptoKey',
  'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember',
  'gcp:container/cluster:Cluster',
  'gcp:container/nodePool:NodePool',
  'gcp:storage/bucket:Bucket',
  'gcp:storage/bucketIAMMember:BucketIAMMember',
  'gcp:dns/managedZone:ManagedZone',
  'gcp:dns/recordSet:RecordSet',
] as const;

export const MOCKED_GCP_INVOKES = ['gcp:organizations/getProject:getProject'] as const;

function hex(seed: string, length: number): string {
  let out = '';
  for (let i = 0; out.length < length; i++) out += createHash('sha256').update(`${seed}#${i}`).digest('hex');
  return out.slice(0, length);
}

function digits(seed: string, length: number): string {
  return [...hex(seed, length)].map((c) => String(parseInt(c, 16) % 10)).join('').replace(/^0/, '1');
}

/** An address in 34.0.0.0/8 (Google's), stable per seed. */
function googleAddress(seed: string): string {
  const h = hex(seed, 6);
  return `34.${parseInt(h.slice(0, 2), 16)}.${parseInt(h.slice(2, 4), 16)}.${1 + (parseInt(h.slice(4, 6), 16) % 254)}`;
}

/** A stable external IP of the load balancer GKE makes for a LoadBalancer Service. */
export function mockLoadBalancerIp(serviceName: string): string {
  return googleAddress(`lb:${serviceName}`);
}

/** A fixed instant, so plans do not change from one run to the next. */
const CREATED_AT = '2026-01-05T09:30:00.000Z';
const COMPUTE = 'https://www.googleapis.com/compute/v1';

/** First usable host of a CIDR (GCP reserves the network and first address for the gateway). */
function gatewayOf(cidr: string): string {
  const [address = '10.0.0.0'] = cidr.split('/');
  const value = address.split('.').reduce((acc, part) => acc * 256 + Number(part), 0) + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function createGcpMockBehaviour(options: GcpMockOptions): MockBehaviour & {
  /** The physical id the mock gives a resource; tests use it to follow references. */
  idOf(type: string, name: string, inputs: Record<string, any>): string;
} {
  const { project, region } = options;
  const projectNumber = options.projectNumber ?? '123456789012';
  // The cluster reads its secondary ranges from the subnet it is given (by id or self link).
  const subnets = new Map<string, { ranges: Record<string, string> }>();
  const projectOf = (inputs: Record<string, any>) => String(inputs.project ?? project);

  function idOf(type: string, name: string, inputs: Record<string, any>): string {
    const p = projectOf(inputs);
    switch (type) {
      case 'gcp:compute/network:Network':
        return `projects/${p}/global/networks/${inputs.name ?? name}`;
      case 'gcp:compute/subnetwork:Subnetwork':
        return `projects/${p}/regions/${inputs.region ?? region}/subnetworks/${inputs.name ?? name}`;
      case 'gcp:compute/router:Router':
        return `projects/${p}/regions/${inputs.region ?? region}/routers/${inputs.name ?? name}`;
      case 'gcp:compute/routerNat:RouterNat':
        return `${p}/${inputs.region ?? region}/${inputs.router}/${inputs.name ?? name}`;
      case 'gcp:serviceaccount/account:Account':
        return `projects/${p}/serviceAccounts/${inputs.accountId}@${p}.iam.gserviceaccount.com`;
      case 'gcp:serviceaccount/iAMBinding:IAMBinding':
        return `${inputs.serviceAccountId}/${inputs.role}`;
      case 'gcp:projects/iAMMember:IAMMember':
        return `${p}/${inputs.role}/${inputs.member}`;
      case 'gcp:kms/keyRing:KeyRing':
        return `projects/${p}/locations/${inputs.location}/keyRings/${inputs.name}`;
      case 'gcp:kms/cryptoKey:CryptoKey':
        return `${inputs.keyRing}/cryptoKeys/${inputs.name}`;
      case 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember':
        return `${inputs.cryptoKeyId}/${inputs.role}/${inputs.member}`;
      case 'gcp:container/cluster:Cluster':
        return `projects/${p}/locations/${inputs.location}/clusters/${inputs.name ?? name}`;
      case 'gcp:container/nodePool:NodePool':
        return `projects/${p}/locations/${inputs.location}/clusters/${String(inputs.cluster).split('/').pop()}/nodePools/${inputs.name ?? name}`;
      case 'gcp:storage/bucket:Bucket':
        return String(inputs.name ?? name);
      case 'gcp:storage/bucketIAMMember:BucketIAMMember':
        return `b/${inputs.bucket}/${inputs.role}/${inputs.member}`;
      case 'gcp:dns/managedZone:ManagedZone':
        return `projects/${p}/managedZones/${inputs.name ?? name}`;
      case 'gcp:dns/recordSet:RecordSet':
        return `projects/${p}/managedZones/${inputs.managedZone}/rrsets/${inputs.name}/${inputs.type}`;
      default:
        return `${name}-id`;
    }
  }

  function outputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> | undefined {
    const { type, name } = args;
    if (!type.startsWith('gcp:')) return undefined;
    const inputs = args.inputs as Record<string, any>;
    const id = idOf(type, name, inputs);
    const seed = `${type}::${name}`;
    const p = projectOf(inputs);
    switch (type) {
      case 'gcp:compute/network:Network':
      case 'gcp:compute/router:Router':
        return { selfLink: `${COMPUTE}/${id}`, numericId: digits(seed, 19), creationTimestamp: CREATED_AT };
      case 'gcp:compute/subnetwork:Subnetwork': {
        const ranges: Record<string, string> = Object.fromEntries(
          (inputs.secondaryIpRanges ?? []).map((r: { rangeName: string; ipCidrRange: string }) => [r.rangeName, r.ipCidrRange]),
        );
        const selfLink = `${COMPUTE}/${id}`;
        subnets.set(id, { ranges });
        subnets.set(selfLink, { ranges });
        return { selfLink, gatewayAddress: gatewayOf(String(inputs.ipCidrRange)), fingerprint: hex(seed, 12), creationTimestamp: CREATED_AT };
      }
      case 'gcp:compute/routerNat:RouterNat':
        return {};
      case 'gcp:serviceaccount/account:Account': {
        const email = `${inputs.accountId}@${p}.iam.gserviceaccount.com`;
        return { email, name: id, uniqueId: digits(seed, 21), member: `serviceAccount:${email}` };
      }
      case 'gcp:serviceaccount/iAMBinding:IAMBinding':
      case 'gcp:projects/iAMMember:IAMMember':
      case 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember':
      case 'gcp:storage/bucketIAMMember:BucketIAMMember':
        return { etag: `BwY${hex(seed, 9)}=` };
      case 'gcp:kms/keyRing:KeyRing':
        return {};
      case 'gcp:kms/cryptoKey:CryptoKey':
        return { primaries: [{ name: `${id}/cryptoKeyVersions/1`, state: 'ENABLED' }] };
      case 'gcp:container/cluster:Cluster': {
        const ipAllocation = inputs.ipAllocationPolicy ?? {};
        const ranges = subnets.get(String(inputs.subnetwork))?.ranges ?? {};
        const podsCidr = ranges[ipAllocation.clusterSecondaryRangeName] ?? '10.4.0.0/14';
        const servicesCidr = ranges[ipAllocation.servicesSecondaryRangeName] ?? '10.8.0.0/20';
        return {
          endpoint: googleAddress(`${seed}:endpoint`),
          selfLink: `https://container.googleapis.com/v1/${id}`,
          masterAuth: { ...inputs.masterAuth, clusterCaCertificate: placeholderCertificateAuthorityData(String(inputs.name)) },
          ipAllocationPolicy: { ...ipAllocation, clusterIpv4CidrBlock: podsCidr, servicesIpv4CidrBlock: servicesCidr },
          clusterIpv4Cidr: podsCidr,
          masterVersion: `${inputs.minMasterVersion ?? '1.34'}.1-gke.1000000`,
          labelFingerprint: hex(seed, 8),
          operation: null,
        };
      }
      case 'gcp:container/nodePool:NodePool':
        return {
          instanceGroupUrls: [`${COMPUTE}/projects/${p}/zones/${region}-b/instanceGroupManagers/gke-${hex(seed, 8)}-grp`],
          managedInstanceGroupUrls: [`${COMPUTE}/projects/${p}/zones/${region}-b/instanceGroups/gke-${hex(seed, 8)}-grp`],
          version: '1.34.1-gke.1000000',
        };
      case 'gcp:storage/bucket:Bucket':
        return { url: `gs://${id}`, selfLink: `https://www.googleapis.com/storage/v1/b/${id}`, projectNumber: Number(projectNumber) };
      case 'gcp:dns/managedZone:ManagedZone': {
        // Cloud DNS hands out one of its name server groups: ns-cloud-<x>1 to 4.
        const group = 'abcde'[parseInt(hex(seed, 2), 16) % 5];
        return {
          nameServers: [1, 2, 3, 4].map((n) => `ns-cloud-${group}${n}.googledomains.com.`),
          managedZoneId: Number(digits(seed, 15)),
          creationTime: CREATED_AT,
        };
      }
      case 'gcp:dns/recordSet:RecordSet':
        return {};
      default:
        throw new UnmockedGcpError(`no mock outputs for resource type ${type}; add it to src/providers/gcp/mocks.ts`);
    }
  }

  function call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    const inputs = (args.inputs ?? {}) as Record<string, any>;
    switch (args.token) {
      case 'gcp:organizations/getProject:getProject': {
        const projectId = String(inputs.projectId ?? project);
        return { projectId, number: projectNumber, name: projectId, labels: {}, id: `projects/${projectId}` };
      }
      default:
        throw new UnmockedGcpError(`no mock for provider function ${args.token}; add it to src/providers/gcp/mocks.ts`);
    }
  }

  return { outputs, call, id: (args) => idOf(args.type, args.name, args.inputs as Record<string, any>), idOf };
}
