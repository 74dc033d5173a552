/**
 * The post-install proof: through each tenant's public host, write a sample and a log line and
 * read them back, check Grafana, and check that the gateway refuses what it must (another
 * tenant's token, no token) and that no tenant's queries return another tenant's data.
 *
 * All tenants write first, then all read, so that a store that mixes tenants up is caught
 * reading another tenant's probe data of the same run.
 */
import { FailureError, InterruptedError } from '../errors.js';
import {
  DEFAULT_TIMING,
  crossTenantRefused,
  dataIsolation,
  grafanaHealth,
  notRead,
  probeData,
  pushLogLine,
  pushSample,
  readLogLine,
  readSample,
  unauthenticatedRefused,
  type CheckContext,
  type ProbeData,
  type ReadBack,
  type VerifyTarget,
  type VerifyTiming,
} from './checks.js';
import { ProbeClient, type ProbeConnection } from './client.js';
import { describeResult, type VerifyResult } from './result.js';

export interface VerifyOptions {
  /** Labels the probe data (`run="<id>"`), so each run reads back only what it wrote: the CLI's run id. */
  runId: string;
  /** Where to connect and what to trust. Default: each tenant's host through DNS, public CAs only. */
  connection?: ProbeConnection;
  /** Aborted on Ctrl-C: the probe stops and throws an InterruptedError. */
  signal?: AbortSignal;
  /** Called with each result as soon as it is known (the CLI shows them as progress). */
  onResult?: (result: VerifyResult) => void;
  /** Tenants verified at the same time. Default 4. */
  concurrency?: number;
  timing?: Partial<VerifyTiming>;
  /**
   * Whether a tenant's queries returning another tenant's probe data counts as a failure.
   * Default true. Only an upstream that is not multi-tenant (a test's single Prometheus) turns it off.
   */
  checkDataIsolation?: boolean;
  /**
   * Which stores to prove. Default `all`, and the CLI never sets anything else. `metrics` runs
   * remote write, PromQL, the gateway's refusals and data isolation only: for a data plane that
   * runs no log store or Grafana (the tests' loopback Cortex, where Loki, being AGPL, is not built).
   */
  stores?: 'all' | 'metrics';
  /** The instance name, for the command in the failure's hint. */
  instance?: string;
}

export interface VerifyTenantOptions extends VerifyOptions {
  /** Another tenant's host, to prove this tenant's token is refused there; without it that check is skipped. */
  otherTenantHost?: string;
}

interface TenantRun {
  ctx: CheckContext;
  data: ProbeData;
  report: (result: VerifyResult) => VerifyResult;
  results: VerifyResult[];
}

function tenantRun(client: ProbeClient, target: VerifyTarget, options: VerifyOptions): TenantRun {
  const results: VerifyResult[] = [];
  return {
    ctx: {
      client,
      target,
      runId: options.runId,
      timing: { ...DEFAULT_TIMING, ...options.timing },
      ...(options.signal ? { signal: options.signal } : {}),
    },
    data: probeData(target.tenant, options.runId),
    results,
    report(result) {
      results.push(result);
      options.onResult?.(result);
      return result;
    },
  };
}

interface Written {
  metrics: VerifyResult;
  /** Undefined when only the metrics store is verified. */
  logs?: VerifyResult;
}

async function writePhase(run: TenantRun, stores: 'all' | 'metrics'): Promise<Written> {
  const [metrics, logs] = await Promise.all([
    pushSample(run.ctx, run.data).then(run.report),
    stores === 'all' ? pushLogLine(run.ctx, run.data).then(run.report) : undefined,
  ]);
  return { metrics, ...(logs ? { logs } : {}) };
}

async function readPhase(run: TenantRun, written: Written, otherTenantHost: string | undefined, checkDataIsolation: boolean): Promise<void> {
  const { tenant } = run.ctx.target;
  const reportRead = (read: ReadBack): ReadBack => {
    run.report(read.result);
    return read;
  };
  const withLogs = written.logs !== undefined;
  const [metrics, logs] = await Promise.all([
    (written.metrics.ok ? readSample(run.ctx, run.data) : Promise.resolve(notRead(tenant, 'promql', 'the remote-write push failed'))).then(reportRead),
    withLogs ? (written.logs!.ok ? readLogLine(run.ctx, run.data) : Promise.resolve(notRead(tenant, 'logql', 'the Loki push failed'))).then(reportRead) : undefined,
    withLogs ? grafanaHealth(run.ctx).then(run.report) : undefined,
    crossTenantRefused(run.ctx, otherTenantHost).then(run.report),
    unauthenticatedRefused(run.ctx).then(run.report),
  ]);
  if (checkDataIsolation) run.report(dataIsolation(tenant, logs ? [metrics, logs] : [metrics]));
}

/** How many results `verifyAll` reports for this many tenants: the `total` of a progress count. */
export function verifyCheckCount(tenants: number, options: Pick<VerifyOptions, 'checkDataIsolation' | 'stores'> = {}): number {
  const perTenant = options.stores === 'metrics' ? 4 : 7;
  return tenants * (perTenant + ((options.checkDataIsolation ?? true) ? 1 : 0));
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw signal.reason instanceof InterruptedError ? signal.reason : new InterruptedError('Interrupted while verifying the tenants.');
}

/**
 * Verifies one tenant and returns every result, failed ones included; it throws only when
 * interrupted. `verifyAll` is what a command calls.
 */
export async function verifyTenant(target: VerifyTarget, options: VerifyTenantOptions): Promise<VerifyResult[]> {
  throwIfAborted(options.signal);
  const client = new ProbeClient(options.connection);
  try {
    const run = tenantRun(client, target, options);
    const written = await writePhase(run, options.stores ?? 'all');
    await readPhase(run, written, options.otherTenantHost, options.checkDataIsolation ?? true);
    return run.results;
  } finally {
    client.close();
  }
}

/** Runs `work` over `items`, at most `limit` at a time, stopping early when interrupted. */
async function forEachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal | undefined, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      throwIfAborted(signal);
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Verifies every tenant (each tenant's token is also tried on the next tenant's host) and
 * returns all results when every check passed. Otherwise throws a FailureError that lists each
 * failed check with its tenant, API, request and answer; an InterruptedError when interrupted.
 */
export async function verifyAll(targets: readonly VerifyTarget[], options: VerifyOptions): Promise<VerifyResult[]> {
  if (targets.length === 0) throw new TypeError('verifyAll needs at least one tenant');
  if (options.runId === '') throw new TypeError('verifyAll needs a run id (it labels the probe data)');
  const duplicate = targets.find((t, i) => targets.findIndex((u) => u.tenant === t.tenant) !== i);
  if (duplicate) throw new TypeError(`tenant ${duplicate.tenant} is listed twice`);
  throwIfAborted(options.signal);

  const client = new ProbeClient(options.connection);
  const concurrency = options.concurrency ?? 4;
  const runs = targets.map((t) => tenantRun(client, t, options));
  try {
    const written: Written[] = new Array<Written>(runs.length);
    await forEachLimited(runs, concurrency, options.signal, async (run, i) => {
      written[i] = await writePhase(run, options.stores ?? 'all');
    });
    await forEachLimited(runs, concurrency, options.signal, async (run, i) => {
      const other = targets.length > 1 ? targets[(i + 1) % targets.length]!.host : undefined;
      await readPhase(run, written[i]!, other, options.checkDataIsolation ?? true);
    });
  } finally {
    client.close();
  }

  const results = runs.flatMap((r) => r.results);
  const failed = results.filter((r) => !r.ok);
  if (failed.length > 0) throw verifyFailure(results, failed, options.instance);
  return results;
}

function verifyFailure(results: VerifyResult[], failed: VerifyResult[], instance = '<name>'): FailureError {
  const ran = failed.filter((r) => !r.skipped);
  const notRun = failed.length - ran.length;
  const tenants = [...new Set(failed.map((r) => r.tenant))];
  return new FailureError(
    [
      `Verification failed for tenant${tenants.length === 1 ? '' : 's'} ${tenants.join(', ')}: ` +
        `${ran.length} of ${results.length} checks failed${notRun > 0 ? `, ${notRun} could not run because of them` : ''}.`,
      ...ran.map((r) => `  ${describeResult(r)}`),
    ].join('\n'),
    {
      hint:
        'Each line names the tenant, the API, the request and what came back. A 401/403 points at the gateway ' +
        'and its token maps, a 5xx or a missing sample at the store behind that path. Fix it, then run ' +
        `\`lookout status ${instance} --verify\` to check again.`,
    },
  );
}
