import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { MEMORY_PER_PARALLEL_STACK, parseParallel } from '../../src/commands/parallel-option.js';
import { DEFAULT_TENANT_PARALLELISM } from '../../src/steps/tenant-parallelism.js';

const GiB = 2 ** 30;

describe('--parallel', () => {
  it('takes a whole number from 1 to 16 as given, whatever the memory', () => {
    expect(parseParallel('1', 64 * GiB)).toEqual({ limit: 1 });
    expect(parseParallel(' 16 ', 0.5 * GiB)).toEqual({ limit: 16 });
  });

  it('refuses anything else, naming the flag and the range', () => {
    for (const bad of ['0', '17', '', 'eight', '2.5', '-1', '1e1', '9'.repeat(5000)]) {
      const err = (() => {
        try {
          return parseParallel(bad, 64 * GiB);
        } catch (e) {
          return e;
        }
      })();
      expect(err, bad.slice(0, 10)).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/^--parallel: expected a whole number of tenant stacks from 1 to 16, found "/);
      expect((err as Error).message.length).toBeLessThan(200);
    }
  });

  it('defaults to 8 when memory allows, and to fewer, saying why, when it does not', () => {
    expect(parseParallel(undefined, 32 * GiB)).toEqual({ limit: DEFAULT_TENANT_PARALLELISM });
    expect(parseParallel(undefined, DEFAULT_TENANT_PARALLELISM * MEMORY_PER_PARALLEL_STACK)).toEqual({ limit: DEFAULT_TENANT_PARALLELISM });
    const short = parseParallel(undefined, 1.6 * GiB);
    expect(short.limit).toBe(3);
    expect(short.lowered).toBe('Working on at most 3 tenant stacks at once rather than 8: 1.6 GiB of memory is available, and each takes about 270 MB (--parallel sets it).');
    expect(parseParallel(undefined, 100 * 2 ** 20)).toMatchObject({ limit: 1, lowered: expect.stringContaining('at most 1 tenant stack at once') });
  });
});
