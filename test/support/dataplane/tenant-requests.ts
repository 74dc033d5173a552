/**
 * What the data-plane suites do as a tenant, through the gateway's public listener (remote
 * write, PromQL, Lookout's verify probe), and what they look for in the blocks bucket.
 */
import { randomBytes } from 'node:crypto';
import type { ProbeResponse } from '../../../src/verify/client.js';
import { verifyAll, type VerifyOptions } from '../../../src/verify/probe.js';
import type { VerifyResult } from '../../../src/verify/result.js';
import { remoteWriteBody, type SeriesInput } from '../../../src/verify/remote-write.js';
import { localStatus, type DataPlane, type DataPlaneTenant } from './plane.js';

export type InstantVector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** One request through the gateway's public listener, as a tenant (its host and token). */
export async function viaGateway(plane: DataPlane, as: DataPlaneTenant, method: 'GET' | 'POST', path: string, body?: Uint8Array | string, headers?: Record<string, string>): Promise<ProbeResponse> {
  const client = plane.client();
  try {
    return await client.request({ method, host: as.host, path, token: as.token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}), timeoutMs: 30_000 });
  } finally {
    client.close();
  }
}

export function push(plane: DataPlane, as: DataPlaneTenant, series: SeriesInput[]): Promise<ProbeResponse> {
  const { body, headers } = remoteWriteBody(series);
  return viaGateway(plane, as, 'POST', '/api/v1/push', body, headers);
}

/** A PromQL instant query; throws with the status and body unless it answers 200. */
export async function instantQuery(plane: DataPlane, as: DataPlaneTenant, query: string): Promise<InstantVector> {
  const res = await viaGateway(plane, as, 'GET', `/prometheus/api/v1/query?${new URLSearchParams({ query })}`);
  if (res.status !== 200) throw new Error(`query ${query} as ${as.tenant} → ${res.status}: ${res.body.toString().slice(0, 300)}`);
  return (JSON.parse(res.body.toString()) as { data: { result: InstantVector } }).data.result;
}

/** The `<tenant>/<ULID>/meta.json` keys of a tenant's blocks in the blocks bucket. */
export async function tenantBlockMetas(plane: DataPlane, tenant: string): Promise<string[]> {
  return (await plane.store.listKeys(plane.buckets.blocks)).filter((k) => new RegExp(`^${tenant}/[0-9A-Z]{26}/meta\\.json$`).test(k));
}

/** Asks every ingester to cut and ship its head as a block now (Cortex's /ingester/flush); the shipping itself is asynchronous. */
export async function flushIngesters(plane: DataPlane): Promise<void> {
  for (const p of plane.processes('ingester')) {
    const status = await localStatus(p.httpPort, '/ingester/flush');
    if (status < 200 || status >= 300) throw new Error(`${p.instanceId}: /ingester/flush → ${status}`);
  }
}

/** Lookout's verify probe, metrics checks only (Loki is not run), for every tenant of the plane. */
export function verifyPlane(plane: DataPlane, timing: VerifyOptions['timing']): Promise<VerifyResult[]> {
  return verifyAll(
    plane.tenants.map((t) => ({ tenant: t.tenant, host: t.host, token: t.token })),
    { runId: `dp-${randomBytes(4).toString('hex')}`, connection: { address: '127.0.0.1', port: plane.gateway.port, ca: plane.gateway.ca }, timing, stores: 'metrics' },
  );
}
