/**
 * `--parallel <n>`: how many tenant stacks `create` and `upgrade` install at the same time.
 * Each one is a Pulumi engine with its Kubernetes provider (a few hundred MB of memory, and
 * requests to the API server), hence a bound; 1 installs them one after another.
 */
import { UsageError } from '../errors.js';
import { DEFAULT_TENANT_PARALLELISM } from '../steps/tenant-parallelism.js';

export const MAX_TENANT_PARALLELISM = 16;

/** The option's value, checked before anything is touched; the default when it is absent. */
export function parseParallel(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TENANT_PARALLELISM;
  const n = /^\d{1,3}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TENANT_PARALLELISM) {
    throw new UsageError(`--parallel: expected a whole number of tenant stacks from 1 to ${MAX_TENANT_PARALLELISM}, found "${value.slice(0, 40)}"`, {
      hint: `Leave it out for ${DEFAULT_TENANT_PARALLELISM}; --parallel 1 installs tenants one after another.`,
    });
  }
  return n;
}
