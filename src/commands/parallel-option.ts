/**
 * `--parallel <n>`: how many tenant stacks `create`, `upgrade` and `destroy` handle at the same
 * time. Each one is a Pulumi engine with its Kubernetes provider (about 270 MB of memory as
 * measured on kwok, and requests to the API server), hence a bound; 1 handles them one after
 * another. Without the option, the default is lowered on a machine short of memory.
 */
import { freemem } from 'node:os';
import { UsageError } from '../errors.js';
import { DEFAULT_TENANT_PARALLELISM } from '../steps/tenant-parallelism.js';

export const MAX_TENANT_PARALLELISM = 16;

/**
 * Memory set aside per tenant stack running at once when the default is chosen: about twice
 * what one engine with its provider was measured to take, for the CLI itself and headroom.
 */
export const MEMORY_PER_PARALLEL_STACK = 512 * 2 ** 20;

export interface Parallelism {
  limit: number;
  /** Set when the default was lowered for want of memory: what to tell the user. */
  lowered?: string;
}

/**
 * The option's value, checked before anything is touched; without it, the default, or fewer
 * when `availableBytes` (the machine's available memory) cannot hold that many at once.
 */
export function parseParallel(value: string | undefined, availableBytes: number = freemem()): Parallelism {
  if (value === undefined) {
    const fits = Math.max(1, Math.floor(availableBytes / MEMORY_PER_PARALLEL_STACK));
    if (fits >= DEFAULT_TENANT_PARALLELISM) return { limit: DEFAULT_TENANT_PARALLELISM };
    return {
      limit: fits,
      lowered:
        `Working on at most ${fits} tenant stack${fits === 1 ? '' : 's'} at once rather than ${DEFAULT_TENANT_PARALLELISM}: ` +
        `${(availableBytes / 2 ** 30).toFixed(1)} GiB of memory is available, and each takes about 270 MB (--parallel sets it).`,
    };
  }
  const n = /^\d{1,3}$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TENANT_PARALLELISM) {
    throw new UsageError(`--parallel: expected a whole number of tenant stacks from 1 to ${MAX_TENANT_PARALLELISM}, found "${value.slice(0, 40)}"`, {
      hint: `Leave it out for ${DEFAULT_TENANT_PARALLELISM} (fewer when memory is short); --parallel 1 installs tenants one after another.`,
    });
  }
  return { limit: n };
}
