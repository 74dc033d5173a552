/**
 * Cortex's runtime config: per-tenant limit overrides that Cortex re-reads every few seconds
 * without a restart. It lives in its own ConfigMap, so adding a tenant or changing a limit
 * changes that ConfigMap only and rolls no pod.
 */
import type { LimitsConfig } from './config.js';
import { toYaml } from './yaml.js';

/** One tenant's limits, as the platform configures them. */
export interface TenantLimits {
  /** The tenant ID (`X-Scope-OrgID`). */
  id: string;
  /** Remote-write ingestion rate, samples per second, for the whole tenant. */
  samplesPerSecond: number;
  /** Ingestion burst in samples; defaults to twice `samplesPerSecond`. */
  burstSamples?: number;
  /** Active series across the cluster, before replication. */
  activeSeries: number;
  /** Blocks older than this are deleted by the compactor. */
  retentionDays: number;
}

export interface RuntimeConfig {
  overrides: Record<string, LimitsConfig>;
}

// Cortex accepts more, but a DNS label is also safe in an S3 prefix; `.<generation>` marks a
// re-created tenant (a `.` is never in a label, so such an id is never another tenant's name).
const TENANT_ID = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[1-9][0-9]{0,8})?$/;

function positiveInteger(tenant: string, field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`MetricsStore: tenant "${tenant}" ${field} must be a positive integer, got ${value}`);
  }
  return value;
}

/** The overrides of one tenant, in Cortex's limit names. */
export function tenantOverrides(tenant: TenantLimits): LimitsConfig {
  const rate = positiveInteger(tenant.id, 'samplesPerSecond', tenant.samplesPerSecond);
  return {
    ingestion_rate: rate,
    ingestion_burst_size: positiveInteger(tenant.id, 'burstSamples', tenant.burstSamples ?? 2 * rate),
    max_global_series_per_user: positiveInteger(tenant.id, 'activeSeries', tenant.activeSeries),
    compactor_blocks_retention_period: `${positiveInteger(tenant.id, 'retentionDays', tenant.retentionDays)}d`,
  };
}

/**
 * The runtime config for the given tenants (the caller includes `system`). Tenants are sorted
 * by ID, so reordering them in the platform config changes nothing.
 */
export function runtimeConfig(tenants: readonly TenantLimits[]): RuntimeConfig {
  const seen = new Set<string>();
  for (const t of tenants) {
    if (!TENANT_ID.test(t.id)) throw new Error(`MetricsStore: tenant ID "${t.id}" must be a DNS label, optionally with .<generation>`);
    if (seen.has(t.id)) throw new Error(`MetricsStore: tenant "${t.id}" is listed twice`);
    seen.add(t.id);
  }
  const sorted = [...tenants].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { overrides: Object.fromEntries(sorted.map((t) => [t.id, tenantOverrides(t)])) };
}

export function renderRuntimeConfig(tenants: readonly TenantLimits[]): string {
  return toYaml(runtimeConfig(tenants));
}
