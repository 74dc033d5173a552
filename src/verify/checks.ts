/**
 * The checks the probe runs against one tenant's public host. Each returns a VerifyResult and
 * never throws for what the server answers; it throws only when the run is interrupted.
 */
import { randomBytes, randomInt } from 'node:crypto';
import pRetry from 'p-retry';
import { TimeoutError, waitFor as pWaitFor } from '../wait-for.js';
import { InterruptedError } from '../errors.js';
import { ProbeTransportError, type ProbeClient, type ProbeRequest, type ProbeResponse } from './client.js';
import { LOKI_PUSH_HEADERS, lokiPushBody, msToNs } from './loki-push.js';
import { remoteWriteBody, remoteWriteHeaders } from './remote-write.js';
import { parseGrafanaHealth, parseLokiStreams, parsePromqlVector, quoteLabelValue } from './responses.js';
import { bodyPreview, type VerifyApi, type VerifyResult } from './result.js';

/** One tenant as the probe sees it. */
export interface VerifyTarget {
  tenant: string;
  /** `<tenant>.<domain>`: `tenantEndpoints(tenant, domain).host`. */
  host: string;
  /** A bearer token of this tenant. */
  token: string;
}

export interface VerifyTiming {
  /** Per HTTP request, body included. */
  requestTimeoutMs: number;
  /** Retries of a push or health check answered with 5xx, 429 or no answer. */
  writeRetries: number;
  /** First backoff between those retries; it doubles each time. */
  retryDelayMs: number;
  /** How long a pushed sample or log line may take to become queryable. */
  readDeadlineMs: number;
  /** Pause between read-back attempts. */
  pollIntervalMs: number;
}

export const DEFAULT_TIMING: VerifyTiming = {
  requestTimeoutMs: 10_000,
  writeRetries: 4,
  retryDelayMs: 500,
  readDeadlineMs: 60_000,
  pollIntervalMs: 1_000,
};

export interface CheckContext {
  client: ProbeClient;
  target: VerifyTarget;
  runId: string;
  timing: VerifyTiming;
  signal?: AbortSignal;
}

export const PROBE_METRIC = 'lookout_verify_probe';
export const PROBE_LOG_JOB = 'lookout-verify';

/** What one tenant writes in one verify run, to be read back. */
export interface ProbeData {
  value: number;
  timestampMs: number;
  line: string;
}

export function probeData(tenant: string, runId: string, now = Date.now()): ProbeData {
  return {
    // A fresh value each time, so a sample left by an earlier attempt of the same run cannot pass for this one.
    value: randomInt(1, 2 ** 47) / 1024,
    timestampMs: now,
    line: `lookout verify probe run=${runId} tenant=${tenant} nonce=${randomBytes(8).toString('hex')}`,
  };
}

/** What a read-back saw of other tenants' probe data in the same run (the leak the stores must prevent). */
export interface ReadBack {
  result: VerifyResult;
  /** Tenants whose probe data this tenant's query returned; undefined when the read failed. */
  foreignTenants?: string[];
}

// ---- plumbing --------------------------------------------------------------------------------

interface Outcome {
  ok: boolean;
  status?: number;
  detail: string;
  /** Worth another attempt: no answer, 5xx or 429. */
  retriable: boolean;
}

type Sent = { response: ProbeResponse } | { failure: ProbeTransportError };

function interrupted(signal: AbortSignal | undefined): InterruptedError {
  const reason: unknown = signal?.reason;
  return reason instanceof InterruptedError ? reason : new InterruptedError('Interrupted while verifying the tenants.');
}

async function send(ctx: CheckContext, req: Omit<ProbeRequest, 'timeoutMs'>): Promise<Sent> {
  try {
    return { response: await ctx.client.request({ ...req, timeoutMs: ctx.timing.requestTimeoutMs }) };
  } catch (err) {
    if (ctx.signal?.aborted) throw interrupted(ctx.signal);
    if (err instanceof ProbeTransportError) return { failure: err };
    throw err;
  }
}

/** `POST https://acme.example.com/api/v1/push`: the URL without its query string. */
function requestLine(ctx: CheckContext, method: string, host: string, path: string): string {
  return `${method} ${ctx.client.connection.protocol ?? 'https'}://${host}${path.split('?')[0]}`;
}

function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** The common reading of an answer that is not the expected one. */
function unexpected(ctx: CheckContext, line: string, sent: Sent, expected: string, secrets: readonly string[] = []): Outcome {
  if ('failure' in sent) return { ok: false, detail: `${line}: ${sent.failure.message}`, retriable: true };
  const { status, body } = sent.response;
  return {
    ok: false,
    status,
    detail: `${line} → ${status} (expected ${expected}): ${bodyPreview(body, [ctx.target.token, ...secrets])}`,
    retriable: isRetriableStatus(status),
  };
}

class RetriableOutcome extends Error {
  constructor(readonly outcome: Outcome) {
    super(outcome.detail);
  }
}

/** Retries with backoff while the outcome is retriable, as the remote-write spec asks of senders. */
async function withRetries(ctx: CheckContext, attempt: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await pRetry(
      async () => {
        const outcome = await attempt();
        if (!outcome.ok && outcome.retriable) throw new RetriableOutcome(outcome);
        return outcome;
      },
      {
        retries: ctx.timing.writeRetries,
        minTimeout: ctx.timing.retryDelayMs,
        factor: 2,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        shouldRetry: ({ error }) => error instanceof RetriableOutcome,
      },
    );
  } catch (err) {
    if (ctx.signal?.aborted) throw interrupted(ctx.signal);
    if (err instanceof RetriableOutcome) {
      const tries = ctx.timing.writeRetries + 1;
      return { ...err.outcome, detail: `${err.outcome.detail} (after ${tries} attempt${tries === 1 ? '' : 's'})` };
    }
    throw err;
  }
}

type Poll = { done: true; outcome: Outcome } | { done: false; observation: string };

/** Polls until the data shows up or the deadline passes; a deadline, never a fixed sleep. */
async function pollUntilVisible(ctx: CheckContext, what: string, attempt: (signal: AbortSignal) => Promise<Poll>): Promise<Outcome> {
  let last = 'no answer yet';
  // waitFor checks its deadline only between attempts; this one also ends a read in flight.
  const deadline = AbortSignal.timeout(ctx.timing.readDeadlineMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
  try {
    return await pWaitFor(
      async () => {
        const step = await attempt(signal);
        if (step.done) return pWaitFor.resolveWith(step.outcome);
        // An attempt cut short by the deadline says nothing about the server.
        if (!deadline.aborted) last = step.observation;
        return false;
      },
      {
        interval: ctx.timing.pollIntervalMs,
        timeout: ctx.timing.readDeadlineMs,
        before: true,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
    );
  } catch (err) {
    if (ctx.signal?.aborted) throw interrupted(ctx.signal);
    if (err instanceof TimeoutError) {
      return { ok: false, detail: `${what} not visible within ${ctx.timing.readDeadlineMs / 1000} s; last answer: ${last}`, retriable: false };
    }
    throw err;
  }
}

async function timed(tenant: string, api: VerifyApi, run: () => Promise<Outcome>): Promise<VerifyResult> {
  const started = performance.now();
  const outcome = await run();
  return {
    tenant,
    api,
    ok: outcome.ok,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    detail: outcome.detail,
    durationMs: Math.round(performance.now() - started),
  };
}

// ---- writes ----------------------------------------------------------------------------------

export function pushSample(ctx: CheckContext, data: ProbeData): Promise<VerifyResult> {
  const { tenant, host, token } = ctx.target;
  const path = '/api/v1/push';
  const line = requestLine(ctx, 'POST', host, path);
  const { body, headers } = remoteWriteBody([
    { labels: { __name__: PROBE_METRIC, run: ctx.runId, tenant }, samples: [{ value: data.value, timestampMs: data.timestampMs }] },
  ]);
  return timed(tenant, 'remote-write', () =>
    withRetries(ctx, async () => {
      const sent = await send(ctx, { method: 'POST', host, path, token, headers, body, signal: ctx.signal });
      if ('response' in sent && sent.response.status >= 200 && sent.response.status < 300) {
        return { ok: true, status: sent.response.status, detail: `${line} → ${sent.response.status}`, retriable: false };
      }
      return unexpected(ctx, line, sent, '2xx');
    }),
  );
}

export function pushLogLine(ctx: CheckContext, data: ProbeData): Promise<VerifyResult> {
  const { tenant, host, token } = ctx.target;
  const path = '/loki/api/v1/push';
  const line = requestLine(ctx, 'POST', host, path);
  const body = JSON.stringify(
    lokiPushBody([{ labels: { job: PROBE_LOG_JOB, run: ctx.runId, tenant }, entries: [{ timestampNs: msToNs(data.timestampMs), line: data.line }] }]),
  );
  return timed(tenant, 'loki-push', () =>
    withRetries(ctx, async () => {
      const sent = await send(ctx, { method: 'POST', host, path, token, headers: LOKI_PUSH_HEADERS, body, signal: ctx.signal });
      if ('response' in sent && sent.response.status >= 200 && sent.response.status < 300) {
        return { ok: true, status: sent.response.status, detail: `${line} → ${sent.response.status}`, retriable: false };
      }
      return unexpected(ctx, line, sent, '2xx');
    }),
  );
}

// ---- reads -----------------------------------------------------------------------------------

function otherTenants(labelSets: Array<Record<string, string>>, tenant: string): string[] {
  return [...new Set(labelSets.map((l) => l.tenant).filter((t): t is string => t !== undefined && t !== tenant))].sort();
}

/** Reads the pushed sample back with PromQL: `lookout_verify_probe{run="<id>"}`. */
export async function readSample(ctx: CheckContext, data: ProbeData): Promise<ReadBack> {
  const { tenant, host, token } = ctx.target;
  const path = `/prometheus/api/v1/query?${new URLSearchParams({
    query: `${PROBE_METRIC}{run=${quoteLabelValue(ctx.runId)}}`,
    // An explicit time at or after the sample's, so a clock behind ours cannot hide it.
    time: (Math.max(Date.now(), data.timestampMs) / 1000).toFixed(3),
  })}`;
  const line = requestLine(ctx, 'GET', host, path);
  let foreignTenants: string[] | undefined;
  const result = await timed(tenant, 'promql', () =>
    pollUntilVisible(ctx, 'the pushed sample was', async (signal) => {
      const sent = await send(ctx, { method: 'GET', host, path, token, signal });
      if ('failure' in sent || sent.response.status !== 200) {
        const outcome = unexpected(ctx, line, sent, '200');
        return outcome.retriable ? { done: false, observation: outcome.detail } : { done: true, outcome };
      }
      const parsed = parsePromqlVector(sent.response.body);
      if (!parsed.ok) return { done: true, outcome: { ok: false, status: 200, detail: `${line} → 200, ${parsed.error}`, retriable: false } };
      const own = parsed.value.filter((s) => s.labels.tenant === tenant);
      if (own.length === 0) return { done: false, observation: `${line} → 200 without the sample` };
      if (!own.some((s) => s.value === data.value)) {
        return { done: false, observation: `${line} → 200 with value ${own.map((s) => s.value).join(', ')}, not ${data.value}` };
      }
      foreignTenants = otherTenants(parsed.value.map((s) => s.labels), tenant);
      return { done: true, outcome: { ok: true, status: 200, detail: `${line} → 200, value ${data.value} read back`, retriable: false } };
    }),
  );
  return { result, ...(result.ok ? { foreignTenants } : {}) };
}

/** Reads the pushed line back with LogQL over a small window around its timestamp. */
export async function readLogLine(ctx: CheckContext, data: ProbeData): Promise<ReadBack> {
  const { tenant, host, token } = ctx.target;
  const path = `/loki/api/v1/query_range?${new URLSearchParams({
    query: `{job=${quoteLabelValue(PROBE_LOG_JOB)}, run=${quoteLabelValue(ctx.runId)}}`,
    start: msToNs(data.timestampMs - 60_000).toString(),
    // `end` is exclusive.
    end: msToNs(data.timestampMs + 60_000).toString(),
    limit: '100',
    direction: 'backward',
  })}`;
  const line = requestLine(ctx, 'GET', host, path);
  let foreignTenants: string[] | undefined;
  const result = await timed(tenant, 'logql', () =>
    pollUntilVisible(ctx, 'the pushed log line was', async (signal) => {
      const sent = await send(ctx, { method: 'GET', host, path, token, signal });
      if ('failure' in sent || sent.response.status !== 200) {
        const outcome = unexpected(ctx, line, sent, '200');
        return outcome.retriable ? { done: false, observation: outcome.detail } : { done: true, outcome };
      }
      const parsed = parseLokiStreams(sent.response.body);
      if (!parsed.ok) return { done: true, outcome: { ok: false, status: 200, detail: `${line} → 200, ${parsed.error}`, retriable: false } };
      const found = parsed.value.some((s) => s.labels.tenant === tenant && s.lines.includes(data.line));
      if (!found) return { done: false, observation: `${line} → 200 without the line` };
      foreignTenants = otherTenants(parsed.value.map((s) => s.labels), tenant);
      return { done: true, outcome: { ok: true, status: 200, detail: `${line} → 200, log line read back`, retriable: false } };
    }),
  );
  return { result, ...(result.ok ? { foreignTenants } : {}) };
}

/** A read that did not run because its push failed. */
export function notRead(tenant: string, api: 'promql' | 'logql', because: string): ReadBack {
  return { result: { tenant, api, ok: false, skipped: true, detail: `not read back: ${because}`, durationMs: 0 } };
}

// ---- Grafana ---------------------------------------------------------------------------------

/** Grafana's own health endpoint, through the gateway's `/` route (Grafana does its own login, so no token). */
export function grafanaHealth(ctx: CheckContext): Promise<VerifyResult> {
  const { tenant, host } = ctx.target;
  const path = '/api/health';
  const line = requestLine(ctx, 'GET', host, path);
  return timed(tenant, 'grafana', () =>
    withRetries(ctx, async () => {
      const sent = await send(ctx, { method: 'GET', host, path, signal: ctx.signal });
      if ('failure' in sent || sent.response.status !== 200) return unexpected(ctx, line, sent, '200');
      const health = parseGrafanaHealth(sent.response.body);
      if (!health.ok) return { ok: false, status: 200, detail: `${line} → 200, ${health.error}`, retriable: false };
      if (health.value.database !== 'ok') {
        return { ok: false, status: 200, detail: `${line} → 200, but database is ${JSON.stringify(health.value.database)}`, retriable: true };
      }
      const version = health.value.version ? `, Grafana ${health.value.version}` : '';
      return { ok: true, status: 200, detail: `${line} → 200, database ok${version}`, retriable: false };
    }),
  );
}

// ---- isolation -------------------------------------------------------------------------------

/**
 * One request per API prefix the gateway serves with a token. Each is harmless if wrongly let
 * through: reads, and pushes whose body writes nothing (an upstream answers them with 4xx or 2xx,
 * either of which is reported, since only the gateway's 401/403 is right).
 */
function protectedRequests(): Array<Pick<ProbeRequest, 'method' | 'path' | 'headers' | 'body'>> {
  return [
    { method: 'POST', path: '/api/v1/push', headers: remoteWriteHeaders(), body: new Uint8Array(0) },
    { method: 'GET', path: `/prometheus/api/v1/query?${new URLSearchParams({ query: 'vector(1)' })}` },
    { method: 'GET', path: '/api/v1/rules' },
    // Cortex's rule config API as Grafana's alerting UI calls it (Cortex and Mimir flavours).
    { method: 'GET', path: '/prometheus/rules' },
    { method: 'GET', path: '/prometheus/config/v1/rules' },
    { method: 'GET', path: '/alertmanager/api/v2/status' },
    { method: 'POST', path: '/loki/api/v1/push', headers: LOKI_PUSH_HEADERS, body: JSON.stringify({ streams: [] }) },
    { method: 'GET', path: '/loki/api/v1/labels' },
    // Loki as the tenants' Grafana sees it (datasource at `/logs`): queries, rule state, rule config API.
    { method: 'GET', path: '/logs/loki/api/v1/labels' },
    { method: 'GET', path: '/logs/prometheus/api/v1/rules' },
    { method: 'GET', path: '/logs/api/prom/rules' },
  ];
}

async function expectRefusal(
  ctx: CheckContext,
  host: string,
  credentials: { token?: string; note: string },
  expected: number,
): Promise<Outcome[]> {
  const { token, note } = credentials;
  return Promise.all(
    protectedRequests().map(async (req) => {
      const line = `${requestLine(ctx, req.method, host, req.path)} ${note}`;
      const sent = await send(ctx, { ...req, host, ...(token === undefined ? {} : { token }), signal: ctx.signal });
      if ('response' in sent && sent.response.status === expected) return { ok: true, status: expected, detail: line, retriable: false };
      return unexpected(ctx, line, sent, String(expected), token === undefined ? [] : [token]);
    }),
  );
}

function summarize(outcomes: Outcome[], okDetail: string): Outcome {
  const failed = outcomes.filter((o) => !o.ok);
  if (failed.length === 0) return { ok: true, detail: okDetail, retriable: false };
  const status = failed.find((o) => o.status !== undefined)?.status;
  return { ok: false, ...(status === undefined ? {} : { status }), detail: failed.map((o) => o.detail).join('; '), retriable: false };
}

/** This tenant's token on another tenant's host must get 403 on every API path. */
export function crossTenantRefused(ctx: CheckContext, otherHost: string | undefined): Promise<VerifyResult> {
  const { tenant, token } = ctx.target;
  if (otherHost === undefined) {
    return Promise.resolve({ tenant, api: 'cross-tenant', ok: true, skipped: true, detail: 'no other tenant to try the token on', durationMs: 0 });
  }
  return timed(tenant, 'cross-tenant', async () =>
    summarize(
      await expectRefusal(ctx, otherHost, { token, note: `with the token of tenant ${tenant}` }, 403),
      `${protectedRequests().length} API paths on ${otherHost} refused this tenant's token with 403`,
    ),
  );
}

/** Without a token, or with one the gateway does not know, every API path must get 401. */
export function unauthenticatedRefused(ctx: CheckContext): Promise<VerifyResult> {
  const { tenant, host } = ctx.target;
  // Random, so it cannot be anyone's; redacted anyway, like every token.
  const unknownToken = randomBytes(24).toString('base64url');
  return timed(tenant, 'no-token', async () => {
    const [anonymous, unknown] = await Promise.all([
      expectRefusal(ctx, host, { note: 'without a token' }, 401),
      expectRefusal(ctx, host, { token: unknownToken, note: 'with an unknown token' }, 401),
    ]);
    return summarize(
      [...anonymous, ...unknown],
      `${protectedRequests().length} API paths on ${host} answered 401 without a token and with an unknown one`,
    );
  });
}

/** Whether this tenant's read-backs returned other tenants' probe data of the same run. */
export function dataIsolation(tenant: string, reads: ReadBack[]): VerifyResult {
  const base = { tenant, api: 'data-isolation' as const, durationMs: 0 };
  if (reads.some((r) => r.foreignTenants === undefined)) {
    return { ...base, ok: false, skipped: true, detail: 'not proven: a read-back failed' };
  }
  const leaks = reads.flatMap((r) => (r.foreignTenants!.length > 0 ? [`${r.result.api} returned probe data of tenant ${r.foreignTenants!.join(', ')}`] : []));
  if (leaks.length > 0) {
    return { ...base, ok: false, detail: `${leaks.join('; ')}: the store is not separating tenants (X-Scope-OrgID)` };
  }
  const apis = reads.map((r) => (r.result.api === 'promql' ? 'PromQL' : 'LogQL')).join(' and ');
  return { ...base, ok: true, detail: `the ${apis} answers held only this tenant's probe data` };
}
