/**
 * The probe's logic against a stub instance over real TLS on loopback (verify-stubs.ts): what
 * passes, what fails and how the failure reads, retries and polling with deadlines, timeouts,
 * interruption, and that no token ever appears in a result or an error.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { selfSignedCertificate, type KeyAndCertificate } from '../support/self-signed.js';
import { verifyAll, verifyCheckCount, verifyTenant, type VerifyOptions } from '../../src/verify/probe.js';
import type { VerifyResult } from '../../src/verify/result.js';
import { startStub, type StubOptions, type StubServer } from './verify-stubs.js';

const DOMAIN = 'obs.example.test';
const TENANTS = ['system', 'acme', 'beta'] as const;
const tokens: Record<string, string> = Object.fromEntries(TENANTS.map((t) => [t, randomBytes(24).toString('base64url')]));
const targets = TENANTS.map((tenant) => ({ tenant, host: `${tenant}.${DOMAIN}`, token: tokens[tenant]! }));
// Generous per-request and read deadlines (a healthy read ends as soon as the data shows), short pauses.
const FAST = { requestTimeoutMs: 5_000, writeRetries: 2, retryDelayMs: 10, readDeadlineMs: 5_000, pollIntervalMs: 20 };

let cert: KeyAndCertificate;
let stub: StubServer | undefined;

beforeAll(async () => {
  cert = await selfSignedCertificate([`*.${DOMAIN}`, DOMAIN]);
});

afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function start(options: Partial<StubOptions> = {}): Promise<StubServer> {
  stub = await startStub({ mode: 'gateway', domain: DOMAIN, tokens, tls: cert, ...options });
  return stub;
}

function options(server: StubServer, extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    runId: `20261101T120000Z-${randomBytes(3).toString('hex')}`,
    connection: { address: '127.0.0.1', port: server.port, ca: cert.certificatePem },
    timing: FAST,
    ...extra,
  };
}

async function failureOf(promise: Promise<unknown>): Promise<FailureError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FailureError);
  return err as FailureError;
}

function noTokenIn(text: string): void {
  for (const token of Object.values(tokens)) expect(text).not.toContain(token);
}

describe('verifyAll against a healthy instance', () => {
  it('passes every check for every tenant and reports each result as it comes', async () => {
    const server = await start();
    const seen: VerifyResult[] = [];
    const opts = options(server, { onResult: (r) => seen.push(r) });
    const results = await verifyAll(targets, opts);

    expect(results.every((r) => r.ok)).toBe(true);
    expect(seen).toHaveLength(results.length);
    expect(results).toHaveLength(verifyCheckCount(TENANTS.length));
    for (const tenant of TENANTS) {
      expect(results.filter((r) => r.tenant === tenant).map((r) => r.api).sort()).toEqual(
        ['cross-tenant', 'data-isolation', 'grafana', 'logql', 'loki-push', 'no-token', 'promql', 'remote-write'].sort(),
      );
    }

    // What reached the stores: one sample and one line per tenant, labelled with run and tenant.
    for (const tenant of TENANTS) {
      const [sample, ...more] = server.samples.get(tenant)!;
      expect(more).toEqual([]);
      expect(Object.keys(sample!.labels)).toEqual(['__name__', 'run', 'tenant']);
      expect(sample!.labels).toEqual({ __name__: 'lookout_verify_probe', run: opts.runId, tenant });
      const [entry] = server.logs.get(tenant)!;
      expect(entry!.labels).toEqual({ job: 'lookout-verify', run: opts.runId, tenant });
      expect(entry!.line).toContain(`tenant=${tenant}`);
    }

    // Each tenant's token was tried on the next tenant's host, and on every API prefix.
    const crossTenant = server.requests.filter((r) => r.tenant === 'acme' && r.headers.authorization === `Bearer ${tokens.system}`);
    expect(new Set(crossTenant.map((r) => r.path))).toEqual(
      new Set([
        '/api/v1/push',
        '/prometheus/api/v1/query',
        '/api/v1/rules',
        '/prometheus/rules',
        '/prometheus/config/v1/rules',
        '/alertmanager/api/v2/status',
        '/loki/api/v1/push',
        '/loki/api/v1/labels',
        '/logs/loki/api/v1/labels',
        '/logs/prometheus/api/v1/rules',
        '/logs/api/prom/rules',
      ]),
    );
    // SNI and Host name the tenant even though the connection went to 127.0.0.1.
    expect(server.requests.every((r) => r.servername === r.host && r.host.endsWith(`.${DOMAIN}`))).toBe(true);
    // Grafana's health is asked without a gateway token.
    expect(server.requests.filter((r) => r.path === '/api/health').every((r) => r.headers.authorization === undefined)).toBe(true);
    // Nothing a user sees holds a token.
    noTokenIn(JSON.stringify(results));
  });

  it('keeps reading until ingestion has caught up, within the deadline', async () => {
    const server = await start({ readLag: 3 });
    const results = await verifyAll(targets.slice(0, 1), options(server));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const reads = server.requests.filter((r) => r.path === '/prometheus/api/v1/query' && r.query.get('query')?.startsWith('lookout_verify_probe'));
    expect(reads.length).toBe(4);
  });

  it('skips the cross-tenant check when there is only one tenant, without failing', async () => {
    const server = await start();
    const results = await verifyAll(targets.slice(0, 1), options(server));
    expect(results.find((r) => r.api === 'cross-tenant')).toMatchObject({ ok: true, skipped: true });
  });
});

describe('verifyAll failures say which tenant, which API, which request and what came back', () => {
  it('a sample that never becomes visible fails the PromQL check at the deadline, with the last answer', async () => {
    const server = await start({ readLag: Number.POSITIVE_INFINITY });
    const started = performance.now();
    const err = await failureOf(verifyAll(targets.slice(1, 2), options(server, { timing: { ...FAST, readDeadlineMs: 1_500 }, instance: 'prod' })));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(10_000);
    expect(err.message).toMatch(/tenant acme, promql: FAILED — the pushed sample was not visible within 1\.5 s; last answer: GET https:\/\/acme\.obs\.example\.test\/prometheus\/api\/v1\/query → 200 without the sample/);
    expect(err.message).toMatch(/tenant acme, logql: FAILED — the pushed log line was not visible/);
    // The isolation of data is not proven when nothing was read, and says so.
    expect(err.message).toMatch(/2 of 8 checks failed, 1 could not run/);
    expect(err.hint).toMatch(/`lookout status prod --verify`/);
  });

  it('retries a push answered with 5xx, and succeeds when the store recovers', async () => {
    let failures = 2;
    const server = await start({
      intercept: (req) => (req.path === '/api/v1/push' && req.tenant === 'acme' && req.headers.authorization && failures-- > 0 ? { status: 503, body: 'ingesters starting' } : undefined),
    });
    const results = await verifyAll(targets.slice(1, 2), options(server));
    expect(results.every((r) => r.ok)).toBe(true);
    const pushes = server.requests.filter((r) => r.path === '/api/v1/push' && r.headers.authorization === `Bearer ${tokens.acme}` && r.body.length > 0);
    expect(pushes).toHaveLength(3);
  });

  it('does not retry a push refused with 4xx, names status and body, and skips its read-back', async () => {
    const server = await start({
      intercept: (req) =>
        req.method === 'POST' && req.path === '/api/v1/push' && req.body.length > 0
          ? { status: 400, body: 'err: out of order sample for series {__name__="lookout_verify_probe"}' }
          : undefined,
    });
    const err = await failureOf(verifyAll(targets.slice(1, 2), options(server)));
    expect(server.requests.filter((r) => r.path === '/api/v1/push' && r.body.length > 0)).toHaveLength(1);
    expect(err.message).toContain(
      'tenant acme, remote-write: FAILED — POST https://acme.obs.example.test/api/v1/push → 400 (expected 2xx): err: out of order sample for series {__name__="lookout_verify_probe"}',
    );
    expect(err.message).toMatch(/1 of 8 checks failed, 2 could not run/);
    expect(err.message).not.toMatch(/promql/);
  });

  it('a gateway that lets a token into another tenant fails the cross-tenant check with the host and status', async () => {
    const server = await start({
      // Accepts any known token on the Loki read path, whoever's host it is: the bug the check is for.
      intercept: (req) => (req.path === '/loki/api/v1/labels' && req.headers.authorization ? { status: 200, body: '{"status":"success","data":[]}' } : undefined),
    });
    const err = await failureOf(verifyAll(targets.slice(0, 2), options(server)));
    expect(err.message).toContain(
      'tenant system, cross-tenant: FAILED — GET https://acme.obs.example.test/loki/api/v1/labels with the token of tenant system → 200 (expected 403)',
    );
    // The unknown-token half of the 401 check catches the same bug.
    expect(err.message).toMatch(/tenant acme, no-token: FAILED — GET https:\/\/acme\.obs\.example\.test\/loki\/api\/v1\/labels with an unknown token → 200 \(expected 401\)/);
    noTokenIn(err.message);
  });

  it('a path served without a token fails the no-token check', async () => {
    const server = await start({
      intercept: (req) => (req.path === '/api/v1/rules' && !req.headers.authorization ? { status: 200, body: 'rules' } : undefined),
    });
    const err = await failureOf(verifyAll(targets.slice(0, 1), options(server)));
    expect(err.message).toContain('tenant system, no-token: FAILED — GET https://system.obs.example.test/api/v1/rules without a token → 200 (expected 401): rules');
  });

  it('a store that ignores the tenant fails data isolation, naming whose data leaked', async () => {
    const server = await start({ sharedStore: true });
    const err = await failureOf(verifyAll(targets.slice(0, 2), options(server)));
    expect(err.message).toContain(
      'tenant system, data-isolation: FAILED — promql returned probe data of tenant acme; logql returned probe data of tenant acme',
    );
    expect(err.message).toContain('tenant acme, data-isolation: FAILED — promql returned probe data of tenant system');
    expect(err.message).toMatch(/2 of 16 checks failed\./);
    // And the check can be turned off for an upstream that is not multi-tenant.
    const results = await verifyAll(targets.slice(0, 2), options(server, { checkDataIsolation: false }));
    expect(results.some((r) => r.api === 'data-isolation')).toBe(false);
    expect(results).toHaveLength(verifyCheckCount(2, { checkDataIsolation: false }));
  });

  it('with stores: metrics, proves the metrics store and the gateway only: no log push, no LogQL, no Grafana check', async () => {
    const server = await start({ sharedStore: true });
    const seenPaths: string[] = [];
    const err = await failureOf(verifyAll(targets.slice(0, 2), options(server, { stores: 'metrics', onResult: (r) => seenPaths.push(`${r.tenant} ${r.api}`) })));
    // Data isolation still catches the shared store, on PromQL alone.
    expect(err.message).toContain('tenant system, data-isolation: FAILED — promql returned probe data of tenant acme: the store');
    expect(err.message).toMatch(/2 of 10 checks failed\./);
    expect(seenPaths.map((p) => p.split(' ')[1]).sort()).toEqual(
      ['cross-tenant', 'cross-tenant', 'data-isolation', 'data-isolation', 'no-token', 'no-token', 'promql', 'promql', 'remote-write', 'remote-write'],
    );
    expect(server.logs.size).toBe(0);
    const results = await verifyAll(targets.slice(0, 2), options(server, { stores: 'metrics', checkDataIsolation: false }));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results).toHaveLength(verifyCheckCount(2, { stores: 'metrics', checkDataIsolation: false }));
    expect(verifyCheckCount(2, { stores: 'metrics' })).toBe(10);
  });

  it('Grafana with a broken database fails its health check after retries', async () => {
    const server = await start({
      intercept: (req) => (req.path === '/api/health' ? { status: 200, body: '{"commit":"x","database":"failing","version":"12.0.0"}' } : undefined),
    });
    const err = await failureOf(verifyAll(targets.slice(0, 1), options(server)));
    expect(err.message).toContain('tenant system, grafana: FAILED — GET https://system.obs.example.test/api/health → 200, but database is "failing" (after 3 attempts)');
    expect(server.requests.filter((r) => r.path === '/api/health')).toHaveLength(3);
  });

  it('an answer that hangs times out with the address it went to', async () => {
    const server = await start({ intercept: (req) => (req.path === '/api/health' ? { status: 0, hang: true } : undefined) });
    const err = await failureOf(
      verifyAll(targets.slice(0, 1), options(server, { timing: { ...FAST, requestTimeoutMs: 200, writeRetries: 0 } })),
    );
    expect(err.message).toContain(
      `tenant system, grafana: FAILED — GET https://system.obs.example.test/api/health: no complete response from 127.0.0.1:${server.port} within 200 ms (after 1 attempt)`,
    );
  });

  it('never shows a token, even when a server echoes it back', async () => {
    const server = await start({
      intercept: (req) =>
        req.method === 'POST' && req.headers.authorization
          ? { status: 500, body: `upstream said: unexpected header Authorization: ${req.headers.authorization}` }
          : undefined,
    });
    const seen: VerifyResult[] = [];
    const err = await failureOf(verifyAll(targets.slice(0, 2), options(server, { onResult: (r) => seen.push(r) })));
    expect(err.message).toContain('upstream said: unexpected header Authorization: Bearer [redacted]');
    noTokenIn(err.message);
    noTokenIn(err.hint ?? '');
    noTokenIn(JSON.stringify(seen));
  });

  it('without the instance CA every check fails with the certificate error, not a crash', async () => {
    const server = await start();
    const err = await failureOf(verifyAll(targets.slice(0, 1), options(server, { connection: { address: '127.0.0.1', port: server.port } })));
    expect(err.message).toMatch(/remote-write: FAILED — POST https:\/\/system\.obs\.example\.test\/api\/v1\/push: could not reach 127\.0\.0\.1:\d+: self[- ]signed certificate/);
    expect(server.requests).toEqual([]);
  });
});

describe('interruption and single tenants', () => {
  it('stops polling on abort and throws the InterruptedError the signal carries', async () => {
    const server = await start({ readLag: Number.POSITIVE_INFINITY });
    const controller = new AbortController();
    const seen: VerifyResult[] = [];
    const run = verifyAll(
      targets,
      options(server, {
        timing: { ...FAST, readDeadlineMs: 30_000 },
        concurrency: 1,
        signal: controller.signal,
        onResult: (r) => {
          seen.push(r);
          // Grafana's result comes while the same tenant's read-backs are polling (they never succeed here).
          if (r.api === 'grafana') setImmediate(() => controller.abort(new InterruptedError('Interrupted.', { hint: 'run it again' })));
        },
      }),
    );
    const started = performance.now();
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).hint).toBe('run it again');
    // Well before the 30 s read deadline, and no other tenant's reads were started.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(seen.filter((r) => r.tenant !== 'system').map((r) => r.api).sort()).toEqual(['loki-push', 'loki-push', 'remote-write', 'remote-write']);
  });

  it('refuses to start when already interrupted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(verifyAll(targets, { runId: 'r', signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
  });

  it('verifyTenant returns failures instead of throwing', async () => {
    const server = await start({
      intercept: (req) =>
        req.path === '/loki/api/v1/push' && req.tenant === 'acme' && req.headers.authorization === `Bearer ${tokens.acme}`
          ? { status: 429, body: 'rate limited' }
          : undefined,
    });
    const results = await verifyTenant(targets[1]!, { ...options(server), otherTenantHost: targets[0]!.host });
    const push = results.find((r) => r.api === 'loki-push')!;
    expect(push).toMatchObject({ tenant: 'acme', ok: false, status: 429 });
    expect(push.detail).toContain('POST https://acme.obs.example.test/loki/api/v1/push → 429 (expected 2xx): rate limited (after 3 attempts)');
    expect(results.find((r) => r.api === 'logql')).toMatchObject({ ok: false, skipped: true });
    expect(results.find((r) => r.api === 'cross-tenant')).toMatchObject({ ok: true });
    expect(results.find((r) => r.api === 'promql')).toMatchObject({ ok: true });
  });

  it('refuses a list with the same tenant twice, and an empty run id', async () => {
    await expect(verifyAll([targets[0]!, targets[0]!], { runId: 'r' })).rejects.toThrow(/listed twice/);
    await expect(verifyAll(targets, { runId: '' })).rejects.toThrow(/run id/);
  });
});
