import type { LookoutConfig } from './schema.js';

/** Longest retention per kind of data over the system tenant and every tenant: what a bucket's expiry must outlast. */
export function longestRetentionDays(config: LookoutConfig): { metrics: number; logs: number } {
  const all = [config.system.retention, ...config.tenants.map((t) => t.retention)];
  return {
    metrics: Math.max(...all.map((r) => r.metricsDays)),
    logs: Math.max(...all.map((r) => r.logsDays)),
  };
}
