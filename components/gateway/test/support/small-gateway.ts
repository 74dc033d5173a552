/**
 * A gateway under the real nginx with plain-HTTP listeners on loopback, one upstream that records
 * every request (and holds those whose query has `hold=1` until released, to have requests in
 * flight across a reload), and the stub DNS. For suites that change tenant files and reload.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderGatewayConfig, renderTenantEntry, renderTokenMapEntries, tenantFileName, tokensFileName, type GatewayConfigOptions, type GatewayToken } from '../../src/index.js';
import { freePort, nginxTempDir, request, startNginx, testNginxConfig, type Response, type RunningNginx } from './nginx.js';
import { startStubDns, type StubDns } from './stubs.js';

export const DOMAIN = 'obs.example.test';
const SUFFIX = '.upstream.test';

export interface Reached {
  url: string;
  method: string;
  orgId: string | undefined;
}

export interface SmallGateway {
  dir: string;
  tenantsDir: string;
  publicPort: number;
  internalPort: number;
  nginx: RunningNginx;
  /** Requests that reached the upstream, in order. */
  reached: Reached[];
  /** Answers every held request. */
  release(): void;
  /** Number of requests the upstream is holding. */
  held(): number;
  writeTenant(tenant: string, tokens: readonly (string | GatewayToken)[], orgId?: string): void;
  /** A request to `<tenant>.<domain>` on the public listener, from `from` (a 127.0.0.0/8 address). */
  publicRequest(tenant: string, path: string, init?: { token?: string; method?: string; from?: string }): Promise<Response>;
  internalRequest(path: string, init?: { token?: string; method?: string }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startSmallGateway(nginxBinary: string, overrides: Partial<GatewayConfigOptions> = {}): Promise<SmallGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-gw-'));
  const tenantsDir = join(dir, 'tenants');
  mkdirSync(tenantsDir);
  const reached: Reached[] = [];
  const holding: http.ServerResponse[] = [];
  const upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const orgId = req.headers['x-scope-orgid'];
      reached.push({ url: req.url ?? '', method: req.method ?? '', orgId: typeof orgId === 'string' ? orgId : undefined });
      if ((req.url ?? '').includes('hold=1')) holding.push(res);
      else res.end('ok\n');
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as AddressInfo).port;
  let dns: StubDns | undefined;
  try {
    dns = await startStubDns(SUFFIX);
    const publicPort = await freePort();
    const internalPort = await freePort();
    const url = `http://api${SUFFIX}:${upstreamPort}`;
    const options: GatewayConfigOptions = {
      domain: DOMAIN,
      public: { address: '127.0.0.1', port: publicPort, tls: null },
      internal: { address: '127.0.0.1', port: internalPort },
      tenantsDir,
      upstreams: {
        distributor: url,
        queryFrontend: url,
        ruler: url,
        alertmanager: url,
        lokiWrite: url,
        lokiRead: url,
        lokiBackend: url,
        grafana: `http://grafana.tenant-{tenant}${SUFFIX}:${upstreamPort}`,
      },
      resolver: { addresses: [`127.0.0.1:${dns.port}`], validSeconds: 30 },
      limits: { pushBodySize: '1m', apiBodySize: '16k', grafanaBodySize: '1m', requestsPerSecond: 10_000, burst: 10_000 },
      paths: { pidFile: join(dir, 'nginx.pid'), tempDir: nginxTempDir(dir), accessLog: join(dir, 'access.log'), errorLog: join(dir, 'error.log') },
      workerProcesses: 1,
      ...overrides,
    };
    const configFile = join(dir, 'nginx.conf');
    writeFileSync(configFile, renderGatewayConfig(options));
    const check = testNginxConfig(nginxBinary, dir, configFile);
    if (!check.ok) throw new Error(`nginx -t failed:\n${check.output}`);
    const nginx = await startNginx({ nginx: nginxBinary, prefix: dir, configFile, healthUrl: `http://127.0.0.1:${internalPort}/healthz` });
    const stubDns = dns;
    return {
      dir,
      tenantsDir,
      publicPort,
      internalPort,
      nginx,
      reached,
      release: () => holding.splice(0).forEach((res) => res.end('released\n')),
      held: () => holding.length,
      writeTenant(tenant, tokens, orgId) {
        writeFileSync(join(tenantsDir, tokensFileName(tenant)), renderTokenMapEntries(tenant, tokens, orgId ? { orgId } : {}));
        writeFileSync(join(tenantsDir, tenantFileName(tenant)), renderTenantEntry(tenant));
      },
      publicRequest: (tenant, path, init = {}) =>
        request({
          url: `http://127.0.0.1:${publicPort}${path}`,
          method: init.method ?? 'GET',
          headers: { host: `${tenant}.${DOMAIN}`, ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
          ...(init.from ? { localAddress: init.from } : {}),
        }),
      internalRequest: (path, init = {}) =>
        request({
          url: `http://127.0.0.1:${internalPort}${path}`,
          method: init.method ?? 'GET',
          headers: { host: 'gateway-internal', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
        }),
      stop: async () => {
        holding.splice(0).forEach((res) => res.destroy());
        await nginx.stop();
        await new Promise<void>((resolve) => upstream.close(() => resolve()));
        await stubDns.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    upstream.close();
    await dns?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
