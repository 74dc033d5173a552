/**
 * Every physical name the GCP provider derives from an instance name, in one place, so config
 * validation proves up front that each fits GCP's limits (service account ids are 6–30
 * characters, GKE cluster names 40), and so that a resumed run, the preflight and the leftover
 * scan all compute them without asking GCP.
 */
import { createHash } from 'node:crypto';
import { BUCKET_PURPOSES, type BucketPurpose } from '../../naming.js';
import type { DerivedName } from '../types.js';

/** The label every labelable resource carries; destroy's leftover scan and the preflight find the instance by it. */
export const LABEL_INSTANCE = 'lookout-instance';

/** The Google service accounts the infra stack creates, by purpose, with the short name their id ends in. */
export const GCP_SERVICE_ACCOUNTS = { nodes: 'nodes', metricsStore: 'cortex', ruler: 'ruler', alertmanager: 'am', logStore: 'loki' } as const;
export type GcpServiceAccountPurpose = keyof typeof GCP_SERVICE_ACCOUNTS;

/** Limits of GCP's name fields that derived names must respect. */
export const GCP_NAME_LIMITS = {
  gkeCluster: 40,
  serviceAccountId: 30,
  gcsBucket: 63,
  computeName: 63,
  kmsKeyRing: 63,
  dnsZone: 63,
} as const;

/**
 * Short, stable suffix that makes global names (GCS buckets) unique per project and region,
 * so two projects can both run an instance called `prod`.
 */
export function projectRegionSuffix(project: string, region: string): string {
  return createHash('sha256').update(`${project}:${region}`).digest('hex').slice(0, 8);
}

export function gcpNames(instance: string) {
  const prefix = `lookout-${instance}`;
  return {
    clusterName: prefix,
    networkName: prefix,
    nodePoolName: 'lookout-nodes',
    keyRingName: prefix,
    secretsKeyName: 'gke-secrets',
    dnsZoneName: prefix,
    // `lk-`: service account ids are at most 30 characters, and the instance name must still fit.
    serviceAccountId: (purpose: GcpServiceAccountPurpose) => `lk-${instance}-${GCP_SERVICE_ACCOUNTS[purpose]}`,
    bucketName: (purpose: BucketPurpose, suffix: string) => `${prefix}-${purpose}-${suffix}`,
  };
}

/** Each GCP name derived from an instance, with the limit it must fit. */
export function derivedGcpNames(instance: string): DerivedName[] {
  const n = gcpNames(instance);
  const sampleSuffix = 'f'.repeat(projectRegionSuffix('0', 'x').length);
  return [
    { what: 'GKE cluster name', name: n.clusterName, limit: GCP_NAME_LIMITS.gkeCluster },
    // The subnet, router and NAT are named after the network with at most 7 more characters.
    { what: 'VPC router name', name: `${n.networkName}-router`, limit: GCP_NAME_LIMITS.computeName },
    { what: 'KMS key ring name', name: n.keyRingName, limit: GCP_NAME_LIMITS.kmsKeyRing },
    { what: 'Cloud DNS zone name', name: n.dnsZoneName, limit: GCP_NAME_LIMITS.dnsZone },
    ...(Object.keys(GCP_SERVICE_ACCOUNTS) as GcpServiceAccountPurpose[]).map((p) => ({
      what: `service account id (${GCP_SERVICE_ACCOUNTS[p]})`,
      name: n.serviceAccountId(p),
      limit: GCP_NAME_LIMITS.serviceAccountId,
    })),
    ...BUCKET_PURPOSES.map((p) => ({ what: `GCS bucket name (${p})`, name: n.bucketName(p, sampleSuffix), limit: GCP_NAME_LIMITS.gcsBucket })),
  ];
}

/** The instance's bucket names in a project and region, as the infra stack derives them. */
export function instanceBucketNames(instance: string, project: string, region: string): Record<BucketPurpose, string> {
  const names = gcpNames(instance);
  const suffix = projectRegionSuffix(project, region);
  return Object.fromEntries(BUCKET_PURPOSES.map((p) => [p, names.bucketName(p, suffix)])) as Record<BucketPurpose, string>;
}
