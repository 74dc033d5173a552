/**
 * The verify probe end to end through the real gateway: nginx (Debian) running the config that
 * @lookout/gateway generates, with TLS from a self-signed certificate made here, in front of
 * the real Prometheus (Debian) as the metrics store. Two tenants push their probe sample through
 * the gateway's remote-write route and read it back through its PromQL route.
 *
 * Prometheus serves remote write at /api/v1/write and PromQL at /api/v1/, where Cortex serves
 * /api/v1/push and /prometheus/api/v1/; a small pass-through in front of it maps the paths,
 * and records the X-Scope-OrgID the gateway sent. No Loki or Grafana binary is available here:
 * those routes end at the stub of verify-stubs.ts, which keeps tenants apart by X-Scope-OrgID
 * and accepts only the Loki request format recorded from the Loki API reference.
 *
 * Prometheus is one store for everyone, so each tenant's PromQL answer also holds the other
 * tenant's probe sample: the probe must report exactly that as a data-isolation failure.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GATEWAY_LIMITS, renderGatewayConfig, renderTenantEntry, renderTokenMapEntries, tenantFileName, tokensFileName } from '@lookout/gateway';
import { FailureError } from '../../src/errors.js';
import { selfSignedCertificate } from '../support/self-signed.js';
import { ProbeClient } from '../../src/verify/client.js';
import { verifyAll, type VerifyOptions } from '../../src/verify/probe.js';
import type { VerifyResult } from '../../src/verify/result.js';
import { startStub, type StubServer } from '../unit/verify-stubs.js';
import { INSTALL_HINT, startPrometheus, type RunningPrometheus } from './verify-helpers.js';
import { findExecutable, freePort, startProcess, type RunningProcess } from '../support/processes.js';
import { nginxTempDir } from '../../components/gateway/test/support/nginx.js';

const NGINX = findExecutable('nginx');
const PROMETHEUS = findExecutable('prometheus');
const missing = [...(NGINX ? [] : ['nginx']), ...(PROMETHEUS ? [] : ['prometheus'])];
const title =
  'verify probe through the real nginx gateway and the real Prometheus' +
  (missing.length ? ` (skipped: ${missing.join(' and ')} not installed; ${missing.map((m) => INSTALL_HINT[m as 'nginx' | 'prometheus']).join(' && ')})` : '');
if (missing.length) console.warn(`SKIPPED: ${title}`);

const DOMAIN = 'obs.example.test';
const TENANTS = ['acme', 'beta'] as const;
const tokens = Object.fromEntries(TENANTS.map((t) => [t, randomBytes(24).toString('base64url')])) as Record<(typeof TENANTS)[number], string>;
const targets = TENANTS.map((tenant) => ({ tenant, host: `${tenant}.${DOMAIN}`, token: tokens[tenant] }));

interface Forwarded {
  path: string;
  query: string;
  orgId?: string;
  authorization?: string;
}

/** Maps Cortex's paths onto Prometheus's, and records what the gateway sent upstream. */
async function startPathMapper(prometheusPort: number): Promise<{ port: number; seen: Forwarded[]; close(): Promise<void> }> {
  const seen: Forwarded[] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const orgId = req.headers['x-scope-orgid'];
    seen.push({
      path: url.split('?')[0]!,
      query: new URL(url, 'http://x').searchParams.get('query') ?? '',
      ...(typeof orgId === 'string' ? { orgId } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    const target = url.startsWith('/api/v1/push') ? '/api/v1/write' : url.startsWith('/prometheus/api/v1/') ? url.slice('/prometheus'.length) : undefined;
    if (!target) {
      res.writeHead(404).end('not a metrics path');
      return;
    }
    const upstream = http.request(
      { host: '127.0.0.1', port: prometheusPort, method: req.method, path: target, headers: { ...req.headers, host: `127.0.0.1:${prometheusPort}` } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => res.writeHead(502).end(err.message));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * nginx resolves upstream names itself, through `resolver`; the tenants' Grafana upstream is
 * `<tenant>.grafana.test`, which this answers with 127.0.0.1.
 */
async function startDns(): Promise<{ port: number; close(): Promise<void> }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, remote) => {
    const query = dnsPacket.decode(message);
    const answers = (query.questions ?? [])
      .filter((q) => q.type === 'A' && q.name.endsWith('.grafana.test'))
      .map((q) => ({ type: 'A' as const, name: q.name, ttl: 60, data: '127.0.0.1' }));
    const reply = dnsPacket.encode({ type: 'response', id: query.id ?? 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions ?? [], answers });
    socket.send(reply, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: (socket.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}

describe.skipIf(missing.length > 0)(title, () => {
  let dir: string;
  let certificatePem: string;
  let prometheus: RunningPrometheus;
  let mapper: Awaited<ReturnType<typeof startPathMapper>>;
  let stub: StubServer;
  let dns: Awaited<ReturnType<typeof startDns>>;
  let nginx: RunningProcess;
  let gatewayPort: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-verify-gateway-'));
    // nginx workers run as `nobody` when the tests run as root; they need to reach the temp dirs.
    await chmod(dir, 0o755);
    const tenantsDir = join(dir, 'tenants');
    await mkdir(tenantsDir);
    for (const tenant of TENANTS) {
      await writeFile(join(tenantsDir, tokensFileName(tenant)), renderTokenMapEntries(tenant, [tokens[tenant]]), { mode: 0o600 });
      await writeFile(join(tenantsDir, tenantFileName(tenant)), renderTenantEntry(tenant));
    }
    const cert = await selfSignedCertificate([`*.${DOMAIN}`, DOMAIN]);
    certificatePem = cert.certificatePem;
    await writeFile(join(dir, 'tls.crt'), cert.certificatePem);
    await writeFile(join(dir, 'tls.key'), cert.privateKeyPem, { mode: 0o600 });

    prometheus = await startPrometheus(PROMETHEUS!);
    mapper = await startPathMapper(prometheus.port);
    stub = await startStub({ mode: 'upstream', domain: DOMAIN });
    dns = await startDns();
    const metrics = `http://127.0.0.1:${mapper.port}`;
    const others = `http://127.0.0.1:${stub.port}`;
    gatewayPort = await freePort();
    const config = renderGatewayConfig({
      domain: DOMAIN,
      public: { address: '127.0.0.1', port: gatewayPort, tls: { certificatePath: join(dir, 'tls.crt'), keyPath: join(dir, 'tls.key') } },
      internal: { address: '127.0.0.1', port: await freePort() },
      tenantsDir,
      upstreams: {
        distributor: metrics,
        queryFrontend: metrics,
        ruler: others,
        alertmanager: others,
        lokiWrite: others,
        lokiRead: others,
        lokiBackend: others,
        grafana: `http://{tenant}.grafana.test:${stub.port}`,
      },
      resolver: { addresses: [`127.0.0.1:${dns.port}`], validSeconds: 60 },
      limits: DEFAULT_GATEWAY_LIMITS,
      paths: { pidFile: join(dir, 'nginx.pid'), tempDir: nginxTempDir(dir), accessLog: join(dir, 'access.log'), errorLog: join(dir, 'error.log') },
      workerProcesses: 1,
    });
    const configPath = join(dir, 'nginx.conf');
    await writeFile(configPath, config);
    const args = ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log')];
    await promisify(execFile)(NGINX!, ['-t', ...args]);

    const probe = new ProbeClient({ address: '127.0.0.1', port: gatewayPort, ca: certificatePem });
    nginx = await startProcess(
      NGINX!,
      [...args, '-g', 'daemon off;'],
      async () => {
        try {
          return (await probe.request({ method: 'GET', host: `acme.${DOMAIN}`, path: '/healthz', timeoutMs: 1_000 })).status === 200;
        } catch {
          return false;
        }
      },
      { what: 'nginx' },
    );
    probe.close();
  });

  afterAll(async () => {
    await nginx?.stop();
    await Promise.all([prometheus?.stop(), mapper?.close(), stub?.close(), dns?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function options(extra: Partial<VerifyOptions>): VerifyOptions {
    return {
      runId: `gw-${randomBytes(4).toString('hex')}`,
      connection: { address: '127.0.0.1', port: gatewayPort, ca: certificatePem },
      timing: { requestTimeoutMs: 5_000, writeRetries: 2, retryDelayMs: 50, readDeadlineMs: 15_000, pollIntervalMs: 100 },
      ...extra,
    };
  }

  it('pushes and reads back each tenant’s sample through the gateway, and reports the shared store as a leak', async () => {
    const seen: VerifyResult[] = [];
    const run = options({ onResult: (r) => seen.push(r) });
    const err = await verifyAll(targets, run).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FailureError);

    // Everything passed except data isolation, which a single Prometheus cannot give.
    const failed = seen.filter((r) => !r.ok);
    expect(failed.map((r) => `${r.tenant} ${r.api}`).sort()).toEqual(['acme data-isolation', 'beta data-isolation']);
    expect(failed.find((r) => r.tenant === 'acme')!.detail).toMatch(/^promql returned probe data of tenant beta/);
    expect(failed.find((r) => r.tenant === 'beta')!.detail).toMatch(/^promql returned probe data of tenant acme/);
    for (const tenant of TENANTS) {
      for (const api of ['remote-write', 'promql', 'loki-push', 'logql', 'grafana', 'cross-tenant', 'no-token'] as const) {
        expect(seen.find((r) => r.tenant === tenant && r.api === api), `${tenant} ${api}`).toMatchObject({ ok: true });
      }
    }
    expect(seen.find((r) => r.tenant === 'acme' && r.api === 'promql')!.detail).toMatch(
      new RegExp(`^GET https://acme\\.${DOMAIN.replace(/\./g, '\\.')}/prometheus/api/v1/query → 200, value .* read back$`),
    );

    // The gateway set X-Scope-OrgID from the token and host, and passed no token upstream.
    for (const tenant of TENANTS) {
      // One push each: the cross-tenant and no-token pushes never got past the gateway.
      expect(mapper.seen.filter((f) => f.path === '/api/v1/push' && f.orgId === tenant), tenant).toHaveLength(1);
      const reads = mapper.seen.filter((f) => f.path === '/prometheus/api/v1/query' && f.orgId === tenant);
      expect(reads.length, tenant).toBeGreaterThanOrEqual(1);
      expect(reads.every((f) => f.query === `lookout_verify_probe{run="${run.runId}"}`)).toBe(true);
    }
    expect(mapper.seen.filter((f) => f.authorization !== undefined || !TENANTS.includes(f.orgId as (typeof TENANTS)[number]))).toEqual([]);

    // Both samples are in Prometheus, each labelled with the tenant that pushed it.
    const direct = new ProbeClient({ address: '127.0.0.1', port: prometheus.port, protocol: 'http' });
    const answer = await direct.request({
      method: 'GET',
      host: '127.0.0.1',
      path: `/api/v1/query?${new URLSearchParams({ query: `count by (tenant) (lookout_verify_probe{run="${run.runId}"})` })}`,
    });
    direct.close();
    const parsed = JSON.parse(answer.body.toString()) as { data: { result: Array<{ metric: { tenant: string }; value: [number, string] }> } };
    expect(parsed.data.result.map((r) => [r.metric.tenant, r.value[1]]).sort()).toEqual([
      ['acme', '1'],
      ['beta', '1'],
    ]);
    // The log lines went to the Loki stand-in under each tenant's own org ID.
    expect([...stub.logs.keys()].sort()).toEqual(['acme', 'beta']);
    expect(stub.logs.get('acme')!.every((e) => e.labels.tenant === 'acme' && e.labels.run === run.runId)).toBe(true);
  });

  it('passes every other check when data isolation is left to a multi-tenant store', async () => {
    const results = await verifyAll(targets, options({ checkDataIsolation: false }));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results).toHaveLength(TENANTS.length * 7);
  });
});
