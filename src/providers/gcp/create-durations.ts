/**
 * Typical create durations of the GCP infra stack's resource types, for the critical path that
 * `plan gcp` estimates (src/plan/critical-path.ts). Every figure is a typical time for a
 * healthy create (Lookout's estimate; not measured by Lookout, and not a bound). The bound is
 * the provider's default create timeout, named for the slow types as the `Timeouts` section of
 * the terraform-provider-google docs gives it (website/docs/r/<resource>.html.markdown; @pulumi/gcp
 * bridges that provider). Types not listed count UNKNOWN_TYPE_SECONDS.
 */
import type { CreateDurationTable } from '../../plan/critical-path.js';

export const GCP_CREATE_DURATIONS: CreateDurationTable = {
  // A global operation; typically well under a minute.
  'gcp:compute/network:Network': { label: 'network', seconds: 30 },
  // A regional operation with its secondary ranges; typically tens of seconds.
  'gcp:compute/subnetwork:Subnetwork': { label: 'subnet', seconds: 20 },
  'gcp:compute/router:Router': { label: 'Cloud Router', seconds: 20 },
  // Typically under a minute.
  'gcp:compute/routerNat:RouterNat': { label: 'Cloud NAT', seconds: 40 },
  // The slow one: a regional control plane typically takes 8 to 10 minutes, a zonal one a few
  // less (default create timeout 40 min).
  'gcp:container/cluster:Cluster': { label: 'GKE cluster', seconds: 540 },
  // VMs booted, joined and healthy in each zone: typically 3 to 5 minutes (default create timeout 60 min).
  'gcp:container/nodePool:NodePool': { label: 'node pool', seconds: 240 },
  // KMS: single synchronous calls, seconds.
  'gcp:kms/keyRing:KeyRing': { label: 'KMS key ring', seconds: 5 },
  'gcp:kms/cryptoKey:CryptoKey': { label: 'KMS key', seconds: 5 },
  // IAM members are a read-modify-write of the policy, retried on conflicts: seconds.
  'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember': { label: 'KMS key IAM', seconds: 10 },
  'gcp:projects/iAMMember:IAMMember': { label: 'project IAM', seconds: 15 },
  'gcp:serviceaccount/account:Account': { label: 'service account', seconds: 10 },
  'gcp:serviceaccount/iAMBinding:IAMBinding': { label: 'service account IAM', seconds: 10 },
  'gcp:storage/bucket:Bucket': { label: 'bucket', seconds: 5 },
  'gcp:storage/bucketIAMMember:BucketIAMMember': { label: 'bucket IAM', seconds: 10 },
  // Cloud DNS changes are applied in seconds.
  'gcp:dns/managedZone:ManagedZone': { label: 'DNS zone', seconds: 10 },
  'gcp:dns/recordSet:RecordSet': { label: 'DNS record', seconds: 5 },
};
