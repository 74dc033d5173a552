/**
 * The data plane benchmark (`npm run bench -- dataplane`): remote-write samples/s into real
 * Cortex through the gateway and directly to the distributor, PromQL latency through the gateway,
 * the peak RSS of each process, and the start-up time. Measures; asserts nothing.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { remoteWriteBody, type SeriesInput } from '../../../src/verify/remote-write.js';
import { descendantPids } from '../processes.js';
import type { DataPlane, DataPlaneTenant } from './plane.js';

export interface PushRate {
  samplesPerSecond: number;
  requests: number;
  /** Requests answered with anything but 2xx, by status. */
  refused: Record<number, number>;
}

export interface DataPlaneFigures {
  startupMs: number;
  cortexProcesses: number;
  pushGateway: PushRate;
  pushDirect: PushRate;
  instant: { p50Ms: number; p99Ms: number; count: number };
  range1h: { p50Ms: number; p99Ms: number; count: number };
  /** Peak resident set (VmHWM) per process, MB: Cortex by instance, nginx (master and workers summed), versitygw. */
  peakRssMb: Record<string, number>;
}

const SERIES_PER_WORKER = 500;

function batch(worker: number, path: string, step: number): SeriesInput[] {
  const t = Date.now();
  return Array.from({ length: SERIES_PER_WORKER }, (_, i) => ({
    labels: { __name__: 'lookout_bench_samples', path, worker: String(worker), series: String(i) },
    samples: [{ value: step, timestampMs: t }],
  }));
}

type Send = (body: Uint8Array, headers: Record<string, string>) => Promise<number>;

/** `workers` concurrent senders, each with its own series (so its samples stay in order), for `durationMs`. */
async function pushFor(send: Send, path: string, workers: number, durationMs: number): Promise<PushRate> {
  const end = Date.now() + durationMs;
  let samples = 0;
  let requests = 0;
  const refused: Record<number, number> = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let step = 0; Date.now() < end; step++) {
        const { body, headers } = remoteWriteBody(batch(w, path, step));
        const status = await send(body, headers);
        requests++;
        if (status >= 200 && status < 300) samples += SERIES_PER_WORKER;
        else refused[status] = (refused[status] ?? 0) + 1;
      }
    }),
  );
  return { samplesPerSecond: samples / ((performance.now() - started) / 1000), requests, refused };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function latencies(run: () => Promise<number>, count: number): Promise<{ p50Ms: number; p99Ms: number; count: number }> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const status = await run();
    if (status !== 200) throw new Error(`query answered ${status}`);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), count };
}

/** VmHWM of a process, in MB (0 when it has gone). */
function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : 0;
  } catch {
    return 0;
  }
}

function directPost(port: number, tenant: string): Send {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return (body, headers) =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/push', agent, headers: { ...headers, 'X-Scope-OrgID': tenant, 'Content-Length': String(body.byteLength) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
}

export async function measureDataPlane(plane: DataPlane, tenant: DataPlaneTenant, options: { workers: number; pushSeconds: number; queries: number }): Promise<DataPlaneFigures> {
  const client = plane.client();
  try {
    const viaGateway: Send = async (body, headers) => (await client.request({ method: 'POST', host: tenant.host, path: '/api/v1/push', token: tenant.token, body, headers, timeoutMs: 30_000 })).status;
    const direct = directPost(plane.processes('distributor')[0]!.httpPort, tenant.tenant);
    // Warm both paths, then measure them one after the other, twice, and keep each path's better run.
    await pushFor(viaGateway, 'warmup', options.workers, 2_000);
    const ms = options.pushSeconds * 1000;
    const runs: Array<{ gateway: PushRate; direct: PushRate }> = [];
    for (let i = 0; i < 2; i++) runs.push({ direct: await pushFor(direct, `direct${i}`, options.workers, ms), gateway: await pushFor(viaGateway, `gateway${i}`, options.workers, ms) });
    const best = (k: 'gateway' | 'direct') => runs.map((r) => r[k]).sort((a, b) => b.samplesPerSecond - a.samplesPerSecond)[0]!;

    const query = async (path: string) => (await client.request({ method: 'GET', host: tenant.host, path, token: tenant.token, timeoutMs: 60_000 })).status;
    const now = Date.now() / 1000;
    const instant = await latencies(() => query(`/prometheus/api/v1/query?${new URLSearchParams({ query: 'sum by (path) (rate(lookout_bench_samples[1m]))', time: now.toFixed(3) })}`), options.queries);
    const range1h = await latencies(
      () => query(`/prometheus/api/v1/query_range?${new URLSearchParams({ query: 'sum by (path) (count_over_time(lookout_bench_samples[1m]))', start: (now - 3600).toFixed(0), end: now.toFixed(0), step: '15' })}`),
      options.queries,
    );

    const peak: Record<string, number> = {};
    for (const p of plane.cortex) peak[p.instanceId] = peakRssMb(p.running?.child.pid);
    const nginxPid = plane.gatewayProcess()?.child.pid;
    if (nginxPid !== undefined) peak.nginx = [nginxPid, ...descendantPids(nginxPid)].reduce((sum, pid) => sum + peakRssMb(pid), 0);
    peak.versitygw = peakRssMb(plane.s3.process.child.pid);
    return { startupMs: plane.startupMs, cortexProcesses: plane.cortex.length, pushGateway: best('gateway'), pushDirect: best('direct'), instant, range1h, peakRssMb: peak };
  } finally {
    client.close();
  }
}
