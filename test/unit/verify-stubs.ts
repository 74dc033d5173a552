/**
 * A stand-in for a Lookout instance, for the verify probe's tests: the gateway's decisions
 * (401/403 from the bearer token and the host) and small in-memory stores that speak the
 * remote-write, PromQL, Loki push / query_range and Grafana health formats. Each store keeps
 * tenants apart, unless told to be a single shared store (to prove the probe sees a leak).
 *
 * Mode 'gateway' takes the tenant from the token and host, like the public gateway. Mode
 * 'upstream' sits behind the real nginx gateway and takes it from X-Scope-OrgID, like Cortex
 * and Loki.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { decodeRemoteWriteBody } from '../../src/verify/remote-write.js';

/** A string of digits: nanoseconds since the epoch, as Loki's push API requires (a number gets 400). */
const nanoseconds = z.string().regex(/^\d+$/, 'a timestamp must be a string of nanoseconds');

/**
 * The Loki push body, as documented (test/fixtures/loki-push-api-formats.json records the
 * reference's examples). Strict: an extra or misnamed key is refused, as Loki would not read it.
 */
export const lokiPushSchema = z.strictObject({
  streams: z.array(
    z.strictObject({
      stream: z.record(z.string(), z.string()),
      values: z.array(z.union([z.tuple([nanoseconds, z.string()]), z.tuple([nanoseconds, z.string(), z.record(z.string(), z.string())])])),
    }),
  ),
});

export const lokiFormats = JSON.parse(readFileSync(new URL('../fixtures/loki-push-api-formats.json', import.meta.url), 'utf8')) as {
  push: { method: string; path: string; headers: Record<string, string>; body: unknown };
  pushWithStructuredMetadata: { values: unknown };
  queryRange: { path: string; response: unknown };
};

export interface StubRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  host: string;
  /** SNI the client sent (TLS only). */
  servername?: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The tenant the request is for: from the host (gateway mode) or X-Scope-OrgID (upstream mode). */
  tenant?: string;
}

export interface StubReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (to test timeouts). */
  hang?: boolean;
}

export interface StubOptions {
  mode: 'gateway' | 'upstream';
  domain: string;
  /** Tenant → token (gateway mode). */
  tokens?: Record<string, string>;
  /** Answers a request instead of the stub's normal behaviour when it returns a reply. */
  intercept?: (req: StubRequest) => StubReply | undefined;
  /** One store for everyone: a store that ignores X-Scope-OrgID. */
  sharedStore?: boolean;
  /** Reads of each tenant's probe data come back empty this many times first (ingestion lag). */
  readLag?: number;
  tls?: { certificatePem: string; privateKeyPem: string };
}

export interface StubServer {
  port: number;
  requests: StubRequest[];
  /** Samples stored per tenant (key '*' when shared). */
  samples: Map<string, Array<{ labels: Record<string, string>; value: number; timestampMs: number }>>;
  logs: Map<string, Array<{ labels: Record<string, string>; timestampNs: bigint; line: string }>>;
  close(): Promise<void>;
}

const PROBE_SELECTOR = /^lookout_verify_probe\{run="([^"]+)"\}$/;
const LOG_SELECTOR = /^\{job="lookout-verify", run="([^"]+)"\}$/;

export async function startStub(options: StubOptions): Promise<StubServer> {
  const requests: StubRequest[] = [];
  const samples: StubServer['samples'] = new Map();
  const logs: StubServer['logs'] = new Map();
  const reads = new Map<string, number>();
  const tenantOfToken = new Map(Object.entries(options.tokens ?? {}).map(([tenant, token]) => [token, tenant]));
  const storeKey = (tenant: string): string => (options.sharedStore ? '*' : tenant);
  const lagging = (key: string): boolean => {
    const n = (reads.get(key) ?? 0) + 1;
    reads.set(key, n);
    return n <= (options.readLag ?? 0);
  };

  const handle = (req: StubRequest): StubReply => {
    const intercepted = options.intercept?.(req);
    if (intercepted) return intercepted;
    if (req.path === '/api/health') return json(200, { commit: 'stub', database: 'ok', version: '12.0.0' });

    let tenant: string;
    if (options.mode === 'gateway') {
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      const tokenTenant = auth ? tenantOfToken.get(auth[1]!) : undefined;
      if (!tokenTenant) return { status: 401, body: 'missing or unknown bearer token\n' };
      if (tokenTenant !== req.tenant) return { status: 403, body: 'this token belongs to another tenant\n' };
      tenant = tokenTenant;
    } else {
      if (!req.tenant) return { status: 401, body: 'no org id\n' };
      tenant = req.tenant;
    }

    if (req.method === 'POST' && req.path === '/api/v1/push') {
      if (req.headers['content-encoding'] !== 'snappy' || req.headers['x-prometheus-remote-write-version'] !== '0.1.0') {
        return { status: 400, body: 'not a remote-write request' };
      }
      const write = decodeRemoteWriteBody(req.body);
      const list = samples.get(storeKey(tenant)) ?? [];
      for (const ts of write.timeseries) {
        const labels = Object.fromEntries(ts.labels.map((l) => [l.name, l.value]));
        for (const s of ts.samples) list.push({ labels, value: s.value, timestampMs: s.timestampMs });
      }
      samples.set(storeKey(tenant), list);
      return { status: write.timeseries.length > 0 ? 200 : 400, body: write.timeseries.length > 0 ? '' : 'empty write request' };
    }
    if (req.method === 'GET' && req.path === '/prometheus/api/v1/query') {
      const query = req.query.get('query') ?? '';
      if (query === 'vector(1)') return json(200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '1'] }] } });
      const run = PROBE_SELECTOR.exec(query)?.[1];
      if (!run) return json(400, { status: 'error', error: `stub cannot evaluate ${query}` });
      const time = Number(req.query.get('time')) * 1000;
      const found = lagging(`${tenant}:promql`)
        ? []
        : (samples.get(storeKey(tenant)) ?? []).filter((s) => s.labels.run === run && s.timestampMs <= time);
      return json(200, {
        status: 'success',
        data: { resultType: 'vector', result: found.map((s) => ({ metric: s.labels, value: [time / 1000, String(s.value)] })) },
      });
    }
    if (req.method === 'POST' && req.path === '/loki/api/v1/push') {
      if (req.headers['content-type'] !== 'application/json') return { status: 415, body: 'not JSON' };
      const parsed = lokiPushSchema.safeParse(JSON.parse(req.body.toString()));
      if (!parsed.success) return { status: 400, body: `bad push body: ${parsed.error.issues[0]?.message}` };
      const list = logs.get(storeKey(tenant)) ?? [];
      for (const stream of parsed.data.streams) {
        for (const [ns, line] of stream.values) list.push({ labels: stream.stream, timestampNs: BigInt(ns), line });
      }
      logs.set(storeKey(tenant), list);
      return { status: 204 };
    }
    if (req.method === 'GET' && req.path === '/loki/api/v1/query_range') {
      const run = LOG_SELECTOR.exec(req.query.get('query') ?? '')?.[1];
      const start = req.query.get('start');
      const end = req.query.get('end');
      if (!run || !start || !end || !/^\d+$/.test(start) || !/^\d+$/.test(end)) return json(400, { status: 'error', error: 'bad query' });
      const entries = lagging(`${tenant}:logql`)
        ? []
        : (logs.get(storeKey(tenant)) ?? []).filter((e) => e.labels.run === run && e.timestampNs >= BigInt(start) && e.timestampNs < BigInt(end));
      const streams = new Map<string, { stream: Record<string, string>; values: Array<[string, string]> }>();
      for (const e of entries) {
        const key = JSON.stringify(e.labels);
        const s = streams.get(key) ?? { stream: e.labels, values: [] };
        s.values.push([e.timestampNs.toString(), e.line]);
        streams.set(key, s);
      }
      return json(200, { status: 'success', data: { resultType: 'streams', result: [...streams.values()], stats: {} } });
    }
    return json(200, { status: 'success', data: [] });
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      const suffix = `.${options.domain}`;
      const orgId = req.headers['x-scope-orgid'];
      const stubRequest: StubRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        host,
        headers: req.headers,
        body: Buffer.concat(chunks),
        ...((req.socket as TLSSocket).servername ? { servername: (req.socket as TLSSocket).servername as string } : {}),
        ...(options.mode === 'gateway'
          ? host.endsWith(suffix)
            ? { tenant: host.slice(0, -suffix.length) }
            : {}
          : typeof orgId === 'string'
            ? { tenant: orgId }
            : {}),
      };
      requests.push(stubRequest);
      const reply = handle(stubRequest);
      if (reply.hang) return;
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  };

  const server = options.tls ? https.createServer({ cert: options.tls.certificatePem, key: options.tls.privateKeyPem }, listener) : http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    samples,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(status: number, value: unknown): StubReply {
  return { status, body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } };
}
