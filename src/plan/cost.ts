/**
 * The shape of a plan's cost estimate, and what every provider's estimate shares: counting
 * what a plan registers. Each provider prices its own resources (CloudProvider.estimateCost),
 * at list prices that change slowly; usage-driven costs (storage, data transfer, logs) are
 * named but not guessed.
 */
import type { MockedResource } from './mock-runtime.js';

export const HOURS_PER_MONTH = 730;

export interface CostLine {
  item: string;
  monthlyUsd: number;
}

export interface CostEstimate {
  /** The region whose prices are used, when the provider prices per region. */
  pricesFrom?: string;
  /** The instance's region; when it differs from `pricesFrom`, the estimate says so plainly. */
  region?: string;
  lines: CostLine[];
  totalMonthlyUsd: number;
  /** What the total leaves out. */
  excludes: string[];
  /** Assumptions the user should know, e.g. an unknown instance type. */
  notes: string[];
}

/** How many resources of `type` the plan registers. */
export function countOfType(resources: readonly MockedResource[], type: string): number {
  return resources.filter((r) => r.type === type).length;
}

/** LoadBalancer Services the plan registers: each becomes a cloud load balancer. */
export function countLoadBalancerServices(resources: readonly MockedResource[]): number {
  return resources.filter((r) => r.type === 'kubernetes:core/v1:Service' && r.inputs?.spec?.type === 'LoadBalancer').length;
}

/** Collects priced lines (rounded to cents, free ones left out) into an estimate. */
export function costEstimate(
  priced: ReadonlyArray<{ item: string; monthlyUsd: number }>,
  o: { excludes: string[]; notes: string[] },
): CostEstimate {
  const lines = priced.filter((l) => l.monthlyUsd > 0).map((l) => ({ item: l.item, monthlyUsd: Math.round(l.monthlyUsd * 100) / 100 }));
  const total = lines.reduce((sum, l) => sum + l.monthlyUsd, 0);
  return { lines, totalMonthlyUsd: Math.round(total * 100) / 100, excludes: o.excludes, notes: o.notes };
}
