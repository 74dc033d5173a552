/**
 * The names Lookout derives from an instance or tenant name that are the same on every
 * provider: Pulumi stacks, namespaces, tenant hosts, the platform's service accounts. Each
 * provider derives its cloud's names in its own folder (see derivedNames in its config block);
 * config validation proves that all of them fit.
 */
import type { DerivedName } from './providers/types.js';

/** The purposes of the instance's object storage buckets. */
export const BUCKET_PURPOSES = ['metrics', 'logs', 'rules'] as const;
export type BucketPurpose = (typeof BUCKET_PURPOSES)[number];

/** Pulumi stack names of an instance; one small stack per layer keeps snapshot rewrites cheap. */
export function stackNames(instance: string) {
  return {
    infra: `${instance}-infra`,
    platform: `${instance}-platform`,
    tenant: (tenant: string) => `${instance}-tenant-${tenant}`,
  };
}

export function tenantNamespace(tenant: string): string {
  return `tenant-${tenant}`;
}

export function tenantHost(tenant: string, domain: string): string {
  return `${tenant}.${domain}`;
}

/** Limits of the name fields every provider shares. */
export const NAME_LIMITS = {
  k8sNamespace: 63,
  dnsLabel: 63,
  pulumiStack: 100,
} as const;

/** The names every provider derives from an instance, with the limit each must fit. */
export function derivedInstanceNames(instance: string): DerivedName[] {
  return [{ what: 'Pulumi stack name (platform)', name: stackNames(instance).platform, limit: NAME_LIMITS.pulumiStack }];
}

/** The longest instance name for which every name `derive` gives fits. */
export function longestInstanceName(derive: (instance: string) => DerivedName[]): number {
  let n = 1;
  while (derive('a'.repeat(n + 1)).every((d) => d.name.length <= d.limit)) n++;
  return n;
}

/**
 * The longest tenant name for which its namespace and its stack name (under an instance name
 * of `instanceNameLength`) fit. Its host, `<tenant>.<domain>`, is checked against the domain.
 */
export function longestTenantName(instanceNameLength: number): number {
  return Math.min(
    NAME_LIMITS.dnsLabel,
    NAME_LIMITS.k8sNamespace - tenantNamespace('').length,
    NAME_LIMITS.pulumiStack - stackNames('a'.repeat(instanceNameLength)).tenant('').length,
  );
}

export const RESERVED_TENANTS = ['system'] as const;

/** Namespace of the shared platform components (metrics store, log store, gateway, collector). */
export const PLATFORM_NAMESPACE = 'lookout';

/**
 * Kubernetes service accounts that receive cloud identities. An infra stack binds the
 * workload identities to these names, and the platform stack creates them.
 */
export const WORKLOAD_SERVICE_ACCOUNTS = {
  /** Cortex's blocks workloads (ingesters, queriers, store-gateways, compactor): the metrics bucket. */
  metricsStore: { namespace: PLATFORM_NAMESPACE, name: 'cortex' },
  /** Cortex's ruler and Alertmanager: the rules bucket only (@lookout/metrics-store SERVICE_ACCOUNTS). */
  ruler: { namespace: PLATFORM_NAMESPACE, name: 'cortex-ruler' },
  alertmanager: { namespace: PLATFORM_NAMESPACE, name: 'cortex-alertmanager' },
  logStore: { namespace: PLATFORM_NAMESPACE, name: 'loki' },
} as const;
