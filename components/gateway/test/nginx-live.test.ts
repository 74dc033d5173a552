/**
 * The generated gateway config under the REAL nginx, on loopback: TLS with a self-signed
 * wildcard certificate, a stub upstream recording what reaches it, and a stub DNS server
 * behind nginx's `resolver`, for several tenants (one with two tokens).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor as pWaitFor } from '../../../test/support/processes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../../test/support/self-signed.js';
import { API_ROUTES, BEARER_CHALLENGE, literalPrefix, MAX_TOKEN_LENGTH, gracefulStopScript, heartbeatProbeScript, reloadLoopScript, renderGatewayConfig, renderTenantEntry, renderTokenMapEntries, tenantFileName, tokensFileName, type GatewayConfigOptions, type GatewayUpstreams } from '../src/index.js';
import { childPids, findNginx, freePort, NGINX_INSTALL_HINT, nginxTempDir, readLines, request, startNginx, testNginxConfig, type RunningNginx, type Response } from './support/nginx.js';
import { startStubDns, startStubUpstream, type StubDns, type StubUpstream } from './support/stubs.js';

const nginx = findNginx();
if (!nginx) console.warn(`[skipped] gateway under real nginx: nginx is not installed (${NGINX_INSTALL_HINT})`);

const DOMAIN = 'obs.example.test';
const UPSTREAM_SUFFIX = '.upstream.test';
const hostOf = (tenant: string) => `${tenant}.${DOMAIN}`;

/** A token in the tenant component's format: `lk_<tenant>_` and 48 random-looking alphanumerics. */
function token(tenant: string, n: number, length = 48): string {
  let random = '';
  for (let i = 0; random.length < length; i++) random += createHash('sha256').update(`${tenant}/${n}/${i}`).digest('base64').replace(/[^A-Za-z0-9]/g, '');
  return `lk_${tenant}_${random.slice(0, length)}`;
}

/** The longest tenant name (a 63-character DNS label). */
const LONG = `long-${'x'.repeat(58)}`;

/** Tokens per tenant: alpha has two, and beta's second is as long as a token may be. */
const TOKENS: Record<string, string[]> = {
  alpha: [token('alpha', 1), token('alpha', 2)],
  beta: [token('beta', 1), token('beta', 2, MAX_TOKEN_LENGTH - 'lk_beta_'.length)],
  gamma: [token('gamma', 1)],
  [LONG]: [token(LONG, 1)],
  rated: [token('rated', 1)],
};
const LATER = { echo: [token('echo', 1)], foxtrot: [token('foxtrot', 1)] };
const ALL_TOKENS = [...Object.values(TOKENS).flat(), ...Object.values(LATER).flat()];

/**
 * A sample request path for every route, the upstream it must reach and the URI it must reach
 * it with (the path itself unless given): the routing table of the issue, and the paths
 * Grafana's alerting UI uses for the rule config APIs, written out independently of
 * API_ROUTES so that a wrong table fails here.
 */
const ROUTE_SAMPLES: ReadonlyArray<[path: string, upstream: keyof GatewayUpstreams, upstreamUri?: string]> = [
  ['/api/v1/push', 'distributor'],
  ['/prometheus/api/v1/rules', 'ruler'],
  ['/prometheus/api/v1/alerts', 'ruler'],
  ['/prometheus/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time=1', 'queryFrontend'],
  ['/prometheus/api/v1/labels', 'queryFrontend'],
  ['/api/v1/rules/namespace-a/group-b', 'ruler'],
  ['/alertmanager/api/v2/status', 'alertmanager'],
  ['/api/v1/alerts', 'alertmanager'],
  ['/loki/api/v1/push', 'lokiWrite'],
  ['/loki/api/v1/rules/ns', 'lokiBackend'],
  ['/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D', 'lokiRead'],
  ['/loki/api/v1/labels', 'lokiRead'],
  // Grafana, Prometheus datasource `<gateway>/prometheus` of a Cortex (subtype cortex):
  ['/prometheus/rules?subtype=cortex', 'ruler', '/api/v1/rules?subtype=cortex'],
  // an encoded `/` stays inside its segment: the namespace is "team/a".
  ['/prometheus/rules/team%2Fa/group%20b?subtype=cortex', 'ruler', '/api/v1/rules/team%2Fa/group%20b?subtype=cortex'],
  // ... and of a Mimir (subtype mimir; mimirtool's default path too):
  ['/prometheus/config/v1/rules/ns?subtype=mimir', 'ruler', '/api/v1/rules/ns?subtype=mimir'],
  // Grafana, Loki datasource `<gateway>/logs`:
  ['/logs/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D', 'lokiRead', '/loki/api/v1/query_range?query=%7Bapp%3D%22a%22%7D'],
  ['/logs/prometheus/api/v1/rules', 'lokiBackend', '/prometheus/api/v1/rules'],
  ['/logs/prometheus/api/v1/alerts?type=alert', 'lokiBackend', '/prometheus/api/v1/alerts?type=alert'],
  ['/logs/api/prom/rules/ns/group?subtype=mimir', 'lokiBackend', '/loki/api/v1/rules/ns/group?subtype=mimir'],
];

/** The paths under which Grafana manages Cortex and Loki rules, as it calls them. */
const GRAFANA_RULER_PATHS = ['/prometheus/rules/ns/group', '/prometheus/config/v1/rules/ns', '/logs/api/prom/rules/ns', '/logs/prometheus/api/v1/rules', '/logs/loki/api/v1/labels'];

describe.skipIf(!nginx)(`gateway under real nginx (skipped when nginx is missing: ${NGINX_INSTALL_HINT})`, () => {
  let dir: string;
  let tenantsDir: string;
  let configFile: string;
  let options: GatewayConfigOptions;
  let upstream: StubUpstream;
  let dns: StubDns;
  let server: RunningNginx;
  let ca: string;
  let publicPort: number;
  let internalPort: number;
  const accessLog = () => join(dir, 'access.log');
  const errorLog = () => join(dir, 'error.log');
  const upstreamHost = (key: string) => `${key.toLowerCase()}${UPSTREAM_SUFFIX}:${upstream.port}`;

  function writeTenant(tenant: string, tokens: string[]): void {
    writeFileSync(join(tenantsDir, tokensFileName(tenant)), renderTokenMapEntries(tenant, tokens));
    writeFileSync(join(tenantsDir, tenantFileName(tenant)), renderTenantEntry(tenant));
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lookout-gateway-'));
    tenantsDir = join(dir, 'tenants');
    mkdirSync(tenantsDir);
    for (const [tenant, tokens] of Object.entries(TOKENS)) writeTenant(tenant, tokens);

    const cert = await selfSignedCertificate([`*.${DOMAIN}`, DOMAIN]);
    ca = cert.certificatePem;
    writeFileSync(join(dir, 'tls.crt'), cert.certificatePem);
    writeFileSync(join(dir, 'tls.key'), cert.privateKeyPem, { mode: 0o600 });

    upstream = await startStubUpstream();
    dns = await startStubDns(UPSTREAM_SUFFIX);
    publicPort = await freePort();
    internalPort = await freePort();
    const url = (key: string) => `http://${key.toLowerCase()}${UPSTREAM_SUFFIX}:${upstream.port}`;
    options = {
      domain: DOMAIN,
      public: { address: '127.0.0.1', port: publicPort, tls: { certificatePath: join(dir, 'tls.crt'), keyPath: join(dir, 'tls.key') } },
      internal: { address: '127.0.0.1', port: internalPort },
      tenantsDir,
      upstreams: {
        distributor: url('distributor'),
        queryFrontend: url('queryFrontend'),
        ruler: url('ruler'),
        alertmanager: url('alertmanager'),
        lokiWrite: url('lokiWrite'),
        lokiRead: url('lokiRead'),
        lokiBackend: url('lokiBackend'),
        grafana: `http://grafana.tenant-{tenant}${UPSTREAM_SUFFIX}:${upstream.port}`,
      },
      resolver: { addresses: [`127.0.0.1:${dns.port}`], validSeconds: 30 },
      // Pushes up to 8 MiB: well past the 512 KiB nginx buffers in memory, so big ones go through the temp dir.
      limits: { pushBodySize: '8m', apiBodySize: '16k', grafanaBodySize: '1m', requestsPerSecond: 50, burst: 100 },
      paths: { pidFile: join(dir, 'nginx.pid'), tempDir: nginxTempDir(dir), accessLog: accessLog(), errorLog: errorLog() },
      workerProcesses: 1,
    };
    configFile = join(dir, 'nginx.conf');
    writeFileSync(configFile, renderGatewayConfig(options));
    const check = testNginxConfig(nginx!, dir, configFile);
    if (!check.ok) throw new Error(`nginx -t failed:\n${check.output}`);
    server = await startNginx({ nginx: nginx!, prefix: dir, configFile, healthUrl: `http://127.0.0.1:${internalPort}/healthz` });
  });

  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
    await dns?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A request to a tenant host on the TLS listener; `sni` defaults to the host. */
  function publicRequest(host: string, path: string, init: { token?: string; headers?: Record<string, string>; method?: string; body?: Buffer; sni?: string } = {}): Promise<Response> {
    return request({
      url: `https://127.0.0.1:${publicPort}${path}`,
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { host, ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
      ...(init.body ? { body: init.body } : {}),
      tls: { ca, servername: init.sni ?? host },
    });
  }

  function internalRequest(path: string, init: { token?: string; headers?: Record<string, string>; body?: Buffer; method?: string } = {}): Promise<Response> {
    return request({
      url: `http://127.0.0.1:${internalPort}${path}`,
      method: init.method ?? (init.body ? 'POST' : 'GET'),
      headers: { host: 'gateway-internal.lookout.svc.cluster.local', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
      ...(init.body ? { body: init.body } : {}),
    });
  }

  /** Runs `action` and returns the requests that reached the stub upstream meanwhile. */
  async function reaching(action: () => Promise<unknown>) {
    const before = upstream.requests.length;
    await action();
    return upstream.requests.slice(before);
  }

  /** A second gateway beside the main one, on the same tenants and upstreams, with some options changed. */
  async function startAnotherGateway(name: string, overrides: Partial<GatewayConfigOptions>) {
    const own = join(dir, name);
    mkdirSync(own);
    const port = await freePort();
    const internal = await freePort();
    const config = join(own, 'nginx.conf');
    writeFileSync(
      config,
      renderGatewayConfig({
        ...options,
        public: { address: '127.0.0.1', port, tls: null },
        internal: { address: '127.0.0.1', port: internal },
        paths: { pidFile: join(own, 'nginx.pid'), tempDir: nginxTempDir(own), accessLog: join(own, 'access.log'), errorLog: join(own, 'error.log') },
        ...overrides,
      }),
    );
    const running = await startNginx({ nginx: nginx!, prefix: own, configFile: config, healthUrl: `http://127.0.0.1:${internal}/healthz` });
    return { dir: own, port, internal, running };
  }

  it('passes nginx -t', () => {
    const check = testNginxConfig(nginx!, dir, configFile);
    expect(check.output).toContain('syntax is ok');
    expect(check.ok).toBe(true);
  });

  it('has a sample for every store the table routes to', () => {
    const sampled = new Set(ROUTE_SAMPLES.map(([, upstream]) => upstream));
    for (const route of API_ROUTES) expect([...sampled], route.name).toContain(route.upstream);
  });

  it('serves every route of the table, with each of its methods, on its upstream at its upstream path', async () => {
    // A concrete request path for a route path: parameters filled, optional ones both ways.
    const instances = (path: string): string[] => {
      const filled = path.replace(/\/\{[a-z_]+\}/g, '/x1').replace(/\/\*\*$/, '/a/b.css');
      return filled.includes('?}') ? [filled.replace(/\/\{[a-z_]+\?\}/g, ''), filled.replace(/\/\{([a-z_]+)\?\}/g, '/$1')] : [filled];
    };
    // Its own gateway, whose rate limit a request per route and method does not reach.
    const sweep = await startAnotherGateway('sweep', { limits: { ...options.limits, requestsPerSecond: 100_000, burst: 100_000 } });
    const token = TOKENS.gamma![0]!;
    let checked = 0;
    try {
      for (const route of API_ROUTES) {
        for (const path of instances(route.path)) {
          const prefix = literalPrefix(route.path);
          const upstreamUri = route.upstreamPath === undefined ? path : `${route.upstreamPath}${path.slice(prefix.length)}`;
          for (const method of route.methods) {
            const seen = await reaching(async () => {
              const res = await request({
                url: `http://127.0.0.1:${sweep.internal}${path}?q=1`,
                method,
                headers: { authorization: `Bearer ${token}` },
                ...(method === 'GET' ? {} : { body: Buffer.from('x') }),
              });
              expect(res.status, `${route.name} ${method} ${path}`).toBe(200);
            });
            expect(seen.map((r) => [r.method, r.host, r.url]), `${route.name} ${method} ${path}`).toEqual([[method, upstreamHost(route.upstream), `${upstreamUri}?q=1`]]);
            checked++;
          }
        }
      }
      // Each route name is logged with its request.
      await pWaitFor(() => readLines(join(sweep.dir, 'access.log')).some((l) => l.includes('"route":"logs.delete.write"')), { interval: 20, timeout: 5000 });
    } finally {
      await sweep.running.stop();
    }
    expect(checked).toBeGreaterThan(API_ROUTES.length);
  });

  it('sends each token to its own tenant, on the right upstream and path, with X-Scope-OrgID and without Authorization', async () => {
    expect(TOKENS.beta![1]).toHaveLength(MAX_TOKEN_LENGTH);
    for (const tenant of ['alpha', 'beta', 'gamma', LONG]) {
      for (const token of TOKENS[tenant]!) {
        for (const [path, key, upstreamUri] of ROUTE_SAMPLES) {
          const seen = await reaching(async () => {
            // Pushes are POSTs; every other sample is a read.
            const push = /\/push$/.test(path);
            const res = await publicRequest(hostOf(tenant), path, { token, ...(push ? { method: 'POST', body: Buffer.from('x') } : {}) });
            expect(res.status, `${tenant} ${path}`).toBe(200);
          });
          expect(seen, `${tenant} ${path}`).toHaveLength(1);
          const got = seen[0]!;
          expect(got.host, path).toBe(upstreamHost(key));
          expect(got.url).toBe(upstreamUri ?? path);
          expect(got.headers['x-scope-orgid']).toBe(tenant);
          expect(got.headers.authorization).toBeUndefined();
          expect(got.headers['x-forwarded-proto']).toBe('https');
        }
      }
    }
    // The upstream names went through nginx's resolver.
    expect(dns.queries).toEqual(expect.arrayContaining([`distributor${UPSTREAM_SUFFIX}`, `queryfrontend${UPSTREAM_SUFFIX}`, `lokiread${UPSTREAM_SUFFIX}`]));
  });

  it('replaces a spoofed X-Scope-OrgID, in any case and repeated, with the tenant of the token', async () => {
    const token = TOKENS.alpha![0]!;
    const seen = await reaching(async () => {
      const res = await request({
        url: `https://127.0.0.1:${publicPort}/prometheus/api/v1/query?query=up`,
        headers: { host: hostOf('alpha'), authorization: `Bearer ${token}`, 'X-Scope-OrgID': 'beta', 'x-scope-orgid': 'gamma|beta' },
        tls: { ca, servername: hostOf('alpha') },
      });
      expect(res.status).toBe(200);
    });
    const orgIdLines = seen[0]!.rawHeaders.filter((_, i, all) => i % 2 === 0 && all[i]!.toLowerCase() === 'x-scope-orgid');
    expect(orgIdLines).toHaveLength(1);
    expect(seen[0]!.headers['x-scope-orgid']).toBe('alpha');
  });

  it('answers 401 with a Bearer challenge for a missing, unknown, malformed or case-changed token, without reaching an upstream', async () => {
    const good = TOKENS.beta![0]!;
    const attempts: Array<[string, Record<string, string>]> = [
      ['no header', {}],
      ['unknown token', { authorization: `Bearer ${token('beta', 99)}` }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`beta:${good}`).toString('base64')}` }],
      ['token without scheme', { authorization: good }],
      ['case-changed token', { authorization: `Bearer ${good.toUpperCase()}` }],
      ['token with a trailing character', { authorization: `Bearer ${good}x` }],
      ['empty bearer', { authorization: 'Bearer ' }],
    ];
    for (const [what, headers] of attempts) {
      const seen = await reaching(async () => {
        const res = await publicRequest(hostOf('beta'), '/api/v1/push', { headers, method: 'POST', body: Buffer.from('x') });
        expect(res.status, what).toBe(401);
        expect(res.headers['www-authenticate'], what).toBe(BEARER_CHALLENGE);
      });
      expect(seen, what).toHaveLength(0);
    }
    // The scheme is case-insensitive (RFC 7235).
    expect((await publicRequest(hostOf('beta'), '/api/v1/push', { headers: { authorization: `bearer ${good}` }, body: Buffer.from('x') })).status).toBe(200);
  });

  it("answers 403 to a valid token on another tenant's host", async () => {
    const seen = await reaching(async () => {
      for (const [tokenOf, host] of [['alpha', 'beta'], ['beta', 'alpha'], ['gamma', 'alpha']] as const) {
        for (const token of TOKENS[tokenOf]!) {
          const res = await publicRequest(hostOf(host), '/prometheus/api/v1/query?query=up', { token });
          expect(res.status, `${tokenOf} token on ${host}`).toBe(403);
        }
      }
    });
    expect(seen).toHaveLength(0);
  });

  it('answers 404 for hosts of unknown tenants and hosts outside the domain, with or without a token', async () => {
    const token = TOKENS.alpha![0]!;
    const seen = await reaching(async () => {
      for (const path of ['/api/v1/push', '/', '/d/some-dashboard']) {
        expect((await publicRequest(hostOf('zeta'), path, { token })).status, `zeta ${path}`).toBe(404);
        expect((await publicRequest(hostOf('zeta'), path)).status, `zeta ${path} no token`).toBe(404);
        // The dots of the domain are literal in the host regex: "obsXexample" is another domain.
        expect((await publicRequest('alpha.obsxexample.test', path, { token, sni: hostOf('alpha') })).status).toBe(404);
        expect((await publicRequest(`alpha.${DOMAIN}.evil.test`, path, { token, sni: hostOf('alpha') })).status).toBe(404);
        expect((await publicRequest(DOMAIN, path, { token, sni: hostOf('alpha') })).status).toBe(404);
      }
    });
    expect(seen).toHaveLength(0);
  });

  it("serves the tenant's Grafana at / without a token, and never passes a gateway token to it", async () => {
    const seen = await reaching(async () => {
      expect((await publicRequest(hostOf('gamma'), '/')).status).toBe(200);
      expect((await publicRequest(hostOf('gamma'), '/api/health', { token: TOKENS.gamma![0]!, headers: { 'x-scope-orgid': 'alpha' } })).status).toBe(200);
      // A token of another tenant is also a gateway token: dropped, not forwarded.
      expect((await publicRequest(hostOf('gamma'), '/login', { token: TOKENS.alpha![0]! })).status).toBe(200);
      // Grafana's own credentials (basic auth, service account tokens) pass through.
      expect((await publicRequest(hostOf('gamma'), '/api/dashboards/home', { headers: { authorization: 'Basic YWRtaW46c2VjcmV0' } })).status).toBe(200);
      expect((await publicRequest(hostOf('gamma'), '/api/search', { headers: { authorization: 'Bearer glsa_grafanaServiceAccount_0123abcd' } })).status).toBe(200);
    });
    expect(seen.map((r) => r.url)).toEqual(['/', '/api/health', '/login', '/api/dashboards/home', '/api/search']);
    for (const r of seen) {
      expect(r.headers.host).toBe(hostOf('gamma'));
      expect(r.headers['x-scope-orgid']).toBeUndefined();
    }
    expect(seen.slice(0, 3).map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined]);
    expect(seen[3]!.headers.authorization).toBe('Basic YWRtaW46c2VjcmV0');
    expect(seen[4]!.headers.authorization).toBe('Bearer glsa_grafanaServiceAccount_0123abcd');
    expect(dns.queries).toContain(`grafana.tenant-gamma${UPSTREAM_SUFFIX}`);
  });

  it('rejects bodies over the route limit with 413: larger for pushes than for other API calls', async () => {
    const token = TOKENS.beta![0]!;
    const kib = (n: number) => Buffer.alloc(n * 1024, 'a');
    const seen = await reaching(async () => {
      expect((await publicRequest(hostOf('beta'), '/api/v1/push', { token, body: kib(8 * 1024 + 1) })).status).toBe(413);
      expect((await publicRequest(hostOf('beta'), '/loki/api/v1/push', { token, body: kib(8 * 1024 + 1) })).status).toBe(413);
      expect((await publicRequest(hostOf('beta'), '/api/v1/rules/ns', { token, body: kib(32) })).status).toBe(413);
      expect((await internalRequest('/api/v1/push', { token, body: kib(8 * 1024 + 1) })).status).toBe(413);
      expect((await publicRequest(hostOf('beta'), '/api/v1/push', { token, body: kib(32) })).status).toBe(200);
      expect((await publicRequest(hostOf('beta'), '/api/v1/rules/ns', { token, body: kib(8) })).status).toBe(200);
    });
    expect(seen.map((r) => [r.url, r.bodyBytes])).toEqual([
      ['/api/v1/push', 32 * 1024],
      ['/api/v1/rules/ns', 8 * 1024],
    ]);
  });

  it('passes pushes of several MB, which nginx buffers in its temp directory, intact to the store', async () => {
    const token = TOKENS.alpha![0]!;
    // Not one repeated byte: the upstream checks the digest of what it received.
    const body = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 32) createHash('sha256').update(String(i)).digest().copy(body, i);
    const seen = await reaching(async () => {
      for (const [path, send] of [
        ['/api/v1/push', (b: Buffer) => publicRequest(hostOf('alpha'), '/api/v1/push', { token, body: b })],
        ['/loki/api/v1/push', (b: Buffer) => publicRequest(hostOf('alpha'), '/loki/api/v1/push', { token, body: b })],
        ['/api/v1/push', (b: Buffer) => internalRequest('/api/v1/push', { token, body: b })],
      ] as const) {
        const res = await send(body);
        expect(res.status, `${path}: ${res.body}`).toBe(200);
      }
    });
    const digest = createHash('sha256').update(body).digest('hex');
    expect(seen.map((r) => [r.url, r.bodyBytes, r.bodySha256])).toEqual([
      ['/api/v1/push', body.length, digest],
      ['/loki/api/v1/push', body.length, digest],
      ['/api/v1/push', body.length, digest],
    ]);
  });

  it("answers 429 past a tenant's rate and burst, per tenant", async () => {
    const token = TOKENS.rated![0]!;
    const statuses = await Promise.all(
      Array.from({ length: 300 }, () => internalRequest('/prometheus/api/v1/query?query=up', { token }).then((r) => r.status)),
    );
    const ok = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(ok + limited).toBe(300);
    expect(limited).toBeGreaterThan(0);
    // burst 100 plus at most a few seconds at 50/s went through.
    expect(ok).toBeGreaterThan(100);
    expect(ok).toBeLessThan(300);
    // Only the accepted requests reached the upstream.
    expect(upstream.requests.filter((r) => r.headers['x-scope-orgid'] === 'rated')).toHaveLength(ok);
    // Another tenant is not limited by this one.
    expect((await publicRequest(hostOf('beta'), '/prometheus/api/v1/query?query=up', { token: TOKENS.beta![0]! })).status).toBe(200);
  });

  it('takes the tenant from the token alone on the internal listener, which has no Grafana route', async () => {
    for (const tenant of ['alpha', 'beta', 'gamma']) {
      for (const token of TOKENS[tenant]!) {
        const seen = await reaching(async () => {
          expect((await internalRequest('/prometheus/api/v1/query_range?query=up', { token, headers: { 'x-scope-orgid': 'someone-else' } })).status).toBe(200);
          expect((await internalRequest('/loki/api/v1/query?query=%7Ba%3D%22b%22%7D', { token })).status).toBe(200);
        });
        expect(seen.map((r) => [r.host, r.headers['x-scope-orgid'], r.headers.authorization])).toEqual([
          [upstreamHost('queryFrontend'), tenant, undefined],
          [upstreamHost('lokiRead'), tenant, undefined],
        ]);
        expect(seen[0]!.headers['x-forwarded-proto']).toBe('http');
      }
    }
    const seen = await reaching(async () => {
      const missing = await internalRequest('/api/v1/push', { body: Buffer.from('x') });
      expect(missing.status).toBe(401);
      expect(missing.headers['www-authenticate']).toBe(BEARER_CHALLENGE);
      expect((await internalRequest('/api/v1/push', { token: token('nobody', 1), body: Buffer.from('x') })).status).toBe(401);
      expect((await internalRequest('/', { token: TOKENS.alpha![0]! })).status).toBe(404);
      expect((await internalRequest('/api/health', { token: TOKENS.alpha![0]! })).status).toBe(404);
    });
    expect(seen).toHaveLength(0);
  });

  it("lets a tenant's Grafana create, read and delete Cortex and Loki rules through the internal listener", async () => {
    const token = TOKENS.gamma![0]!;
    const group = Buffer.from('name: g\nrules:\n  - alert: A\n    expr: vector(1)\n');
    const seen = await reaching(async () => {
      expect((await internalRequest('/prometheus/rules/ns?subtype=cortex', { token, body: group, headers: { 'content-type': 'application/yaml' } })).status).toBe(200);
      expect((await internalRequest('/prometheus/rules/ns/g?subtype=cortex', { token })).status).toBe(200);
      expect((await internalRequest('/prometheus/rules/ns/g?subtype=cortex', { token, method: 'DELETE' })).status).toBe(200);
      expect((await internalRequest('/logs/api/prom/rules/ns?subtype=mimir', { token, body: group })).status).toBe(200);
      expect((await internalRequest('/logs/api/prom/rules/ns', { token, method: 'DELETE' })).status).toBe(200);
    });
    expect(seen.map((r) => [r.method, r.host, r.url, r.headers['x-scope-orgid'], r.headers.authorization])).toEqual([
      ['POST', upstreamHost('ruler'), '/api/v1/rules/ns?subtype=cortex', 'gamma', undefined],
      ['GET', upstreamHost('ruler'), '/api/v1/rules/ns/g?subtype=cortex', 'gamma', undefined],
      ['DELETE', upstreamHost('ruler'), '/api/v1/rules/ns/g?subtype=cortex', 'gamma', undefined],
      ['POST', upstreamHost('lokiBackend'), '/loki/api/v1/rules/ns?subtype=mimir', 'gamma', undefined],
      ['DELETE', upstreamHost('lokiBackend'), '/loki/api/v1/rules/ns', 'gamma', undefined],
    ]);
    expect(seen[0]!.bodyBytes).toBe(group.length);
    expect(seen[0]!.headers['content-type']).toBe('application/yaml');
  });

  it("refuses Grafana's rule paths without a token (401) and with another tenant's token (403), reaching no upstream", async () => {
    const seen = await reaching(async () => {
      for (const path of GRAFANA_RULER_PATHS) {
        const anonymous = await publicRequest(hostOf('alpha'), path);
        expect(anonymous.status, `${path} without a token`).toBe(401);
        expect(anonymous.headers['www-authenticate']).toBe(BEARER_CHALLENGE);
        expect((await publicRequest(hostOf('alpha'), path, { token: token('alpha', 99) })).status, `${path} unknown token`).toBe(401);
        expect((await publicRequest(hostOf('alpha'), path, { token: TOKENS.beta![0]! })).status, `${path} beta's token`).toBe(403);
        expect((await publicRequest(hostOf('alpha'), path, { token: TOKENS.beta![0]!, method: 'POST', body: Buffer.from('name: g') })).status).toBe(403);
        expect((await internalRequest(path)).status, `${path} internal, without a token`).toBe(401);
      }
    });
    expect(seen).toHaveLength(0);
  });

  it('sends nothing upstream when the raw path of a rewritten route does not start with its prefix', async () => {
    const token = TOKENS.alpha![0]!;
    const seen = await reaching(async () => {
      // nginx matches the location on the decoded path; the raw URI cannot be rewritten faithfully.
      expect((await publicRequest(hostOf('alpha'), '/prometheus/%72ules/ns', { token })).status).toBe(404);
      expect((await internalRequest('/logs/api/prom/%72ules', { token })).status).toBe(404);
      // Not a segment boundary: neither Cortex's rule API nor anything else.
      expect((await publicRequest(hostOf('alpha'), '/prometheus/rulesets', { token })).status).toBe(404);
    });
    expect(seen).toHaveLength(0);
  });

  /** A request with a raw request target (not normalised by URL parsing) to either listener. */
  function rawRequest(listener: 'public' | 'internal', rawPath: string, init: { token?: string; method?: string; headers?: Record<string, string>; body?: Buffer } = {}) {
    const headers = { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers };
    const method = init.method ?? (init.body ? 'POST' : 'GET');
    return listener === 'public'
      ? request({ url: `https://127.0.0.1:${publicPort}/`, rawPath, method, headers: { host: hostOf('alpha'), ...headers }, ...(init.body ? { body: init.body } : {}), tls: { ca, servername: hostOf('alpha') } })
      : request({ url: `http://127.0.0.1:${internalPort}/`, rawPath, method, headers: { host: 'gateway-internal', ...headers }, ...(init.body ? { body: init.body } : {}) });
  }

  it('refuses API paths with dot-segments, empty segments or a fragment (400) and sends nothing upstream', async () => {
    const token = TOKENS.alpha![0]!;
    const attacks = [
      '/api/v1/push#/../../../ring',
      '//api/v1/push',
      '/api//v1/push',
      '/ring/../api/v1/push',
      '/api/v1/push/../../ring',
      '/api/v1/push/.',
      '/api/v1/./push',
      '/prometheus/api/v1/query/../../../../ring?x=1',
      '/prometheus/api/v1/%2e%2e/%2e%2e/%2e%2e/ingester/shutdown',
      '/prometheus/api/v1/%2E./query',
      '/prometheus/rules/ns%2F..%2F..%2F..%2Fapi%2Fv1%2Fpush',
      '/prometheus/rules/ns%2F%2Fgroup',
      '/loki/api/v1/query\\..\\..\\flush',
      '/loki/api/v1/query%5C..%5Cflush',
      '/alertmanager/api/v2/alerts#x',
    ];
    const seen = await reaching(async () => {
      for (const listener of ['public', 'internal'] as const) {
        for (const path of attacks) {
          const res = await rawRequest(listener, path, { token, method: 'POST', body: Buffer.from('x') });
          expect(res.status, `${listener} ${path}: ${res.body}`).toBe(400);
        }
      }
    });
    expect(seen.map((r) => r.url)).toEqual([]);
  });

  it('matches whole path segments: a route name with more after it is not that route (404)', async () => {
    const token = TOKENS.alpha![0]!;
    const near = [
      '/api/v1/pushfoo',
      '/api/v1/push.json',
      '/loki/api/v1/pushx',
      '/api/v1/rulesx/ns',
      '/api/v1/alertsfoo',
      '/alertmanagerfoo',
      '/alertmanager-x/api/v2/alerts',
      '/prometheus/api/v1/queryx',
      '/prometheus/rulesets',
      '/logs/lokix/api/v1/query',
      '/loki/api/v1/tails',
    ];
    const seen = await reaching(async () => {
      for (const listener of ['public', 'internal'] as const) {
        for (const path of near) {
          const res = await rawRequest(listener, path, { token });
          expect(res.status, `${listener} ${path}`).toBe(404);
        }
      }
    });
    expect(seen.map((r) => r.url)).toEqual([]);
  });

  it('forwards the path nginx routed on, exactly as sent (still percent-encoded), with the query string', async () => {
    const token = TOKENS.alpha![0]!;
    const paths = ['/prometheus/api/v1/query?query=up&x=..%2F..', '/prometheus/api/v1/label/job/values', '/api/v1/rules/team%2Fa/g%20b', '/loki/api/v1/label/app/values?start=1'];
    const seen = await reaching(async () => {
      for (const path of paths) expect((await rawRequest('internal', path, { token })).status, path).toBe(200);
      // An encoded letter in a route's own name: the raw path names no route.
      expect((await rawRequest('internal', '/prometheus/api/v1/%71uery?query=up', { token })).status).toBe(404);
    });
    expect(seen.map((r) => r.url)).toEqual(paths);
  });

  it('passes Upgrade and Connection only to the websocket routes: Loki tail and Grafana Live', async () => {
    const token = TOKENS.alpha![0]!;
    const upgrade = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    const seen = await reaching(async () => {
      for (const path of ['/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D', '/logs/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D', '/api/v1/push', '/prometheus/api/v1/query?query=up', '/loki/api/v1/query?query=x', '/alertmanager/api/v2/alerts']) {
        await publicRequest(hostOf('alpha'), path, { token, headers: upgrade, method: path === '/api/v1/push' ? 'POST' : 'GET' });
      }
      await publicRequest(hostOf('alpha'), '/api/live/ws', { headers: upgrade });
      await publicRequest(hostOf('alpha'), '/d/some-dashboard', { headers: upgrade });
      await internalRequest('/loki/api/v1/tail?query=x', { token, headers: upgrade });
      await internalRequest('/api/v1/push', { token, headers: upgrade, method: 'POST', body: Buffer.from('x') });
    });
    expect(seen.map((r) => [r.url.split('?')[0], r.headers.upgrade ?? null, r.headers.connection ?? null])).toEqual([
      ['/loki/api/v1/tail', 'websocket', 'upgrade'],
      ['/loki/api/v1/tail', 'websocket', 'upgrade'],
      ['/api/v1/push', null, null],
      ['/prometheus/api/v1/query', null, null],
      ['/loki/api/v1/query', null, null],
      ['/alertmanager/api/v2/alerts', null, null],
      ['/api/live/ws', 'websocket', 'upgrade'],
      ['/d/some-dashboard', null, null],
      ['/loki/api/v1/tail', 'websocket', 'upgrade'],
      ['/api/v1/push', null, null],
    ]);
  });

  it("lets a tenant reach only the endpoints on the allow-list: its own data's APIs, not the stores' admin or debug pages", async () => {
    const token = TOKENS.alpha![0]!;
    const refused: Array<[method: string, path: string, status: number]> = [
      // The Alertmanager's process-wide metrics and pprof (every tenant's series, goroutine dumps).
      ['GET', '/alertmanager/metrics', 404],
      ['GET', '/alertmanager/debug/pprof/heap', 404],
      ['GET', '/alertmanager/debug/pprof/profile?seconds=30', 404],
      // Cortex ignores it; a tenant changes its Alertmanager through /api/v1/alerts.
      ['POST', '/alertmanager/-/reload', 404],
      ['GET', '/alertmanager/-/healthy', 404],
      // Served by the queriers only, which the gateway does not front.
      ['GET', '/prometheus/api/v1/user_stats', 404],
      ['GET', '/prometheus/api/v1/status/config', 404],
      ['POST', '/prometheus/api/v1/admin/tsdb/delete_series', 404],
      ['GET', '/loki/api/v1/cache/generation_numbers', 404],
      ['GET', '/loki/api/v1/index/shards?query=x', 404],
      ['GET', '/loki/api/v1/status/config', 404],
      ['GET', '/loki/flush', 404],
      ['GET', '/prometheus/ring', 404],
      ['GET', '/logs/ring', 404],
      // Allowed paths with a method they do not take.
      ['GET', '/api/v1/push', 405],
      ['DELETE', '/prometheus/api/v1/series?match[]=up', 405],
      ['PUT', '/api/v1/rules/ns', 405],
      ['POST', '/prometheus/api/v1/label/job/values', 405],
    ];
    const seen = await reaching(async () => {
      for (const listener of ['public', 'internal'] as const) {
        for (const [method, path, status] of refused) {
          const res = await rawRequest(listener, path, { token, method });
          expect(res.status, `${listener} ${method} ${path}`).toBe(status);
          if (status === 405) expect(res.headers.allow, path).toBeDefined();
        }
      }
    });
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual([]);
    // Outside the stores' path spaces, the public listener's only upstream is the tenant's Grafana.
    const userStats = await reaching(async () => {
      expect((await rawRequest('internal', '/api/v1/user_stats', { token })).status).toBe(404);
      await rawRequest('public', '/api/v1/user_stats', { token });
    });
    expect(userStats.map((r) => [r.host, r.headers.authorization])).toEqual([[hostOf('alpha'), undefined]]);
    const allowed: Array<[method: string, path: string, upstream: keyof GatewayUpstreams]> = [
      ['GET', '/loki/api/v1/delete', 'lokiBackend'],
      ['POST', '/loki/api/v1/delete?query=%7Ba%3D%22b%22%7D&start=1', 'lokiBackend'],
      ['DELETE', '/loki/api/v1/delete?request_id=abc', 'lokiBackend'],
      ['GET', '/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D', 'lokiRead'],
      ['GET', '/loki/api/v1/detected_fields?query=x', 'lokiRead'],
      ['GET', '/alertmanager/api/v2/silences', 'alertmanager'],
      ['DELETE', '/alertmanager/api/v2/silence/0d3a', 'alertmanager'],
      ['GET', '/alertmanager/', 'alertmanager'],
      ['GET', '/alertmanager/lib/bootstrap-4.0.0-alpha.6-dist/css/bootstrap.min.css', 'alertmanager'],
      ['POST', '/api/v1/alerts', 'alertmanager'],
      ['POST', '/prometheus/api/v1/read', 'queryFrontend'],
      ['GET', '/prometheus/api/v1/status/buildinfo', 'queryFrontend'],
    ];
    for (const [method, path, upstream] of allowed) {
      const got = await reaching(async () => expect((await rawRequest('internal', path, { token, method })).status, `${method} ${path}`).toBe(200));
      expect(got.map((r) => [r.method, r.host, r.url]), path).toEqual([[method, upstreamHost(upstream), path]]);
    }
  });

  it('serves /healthz on both listeners for any host', async () => {
    expect((await internalRequest('/healthz')).status).toBe(200);
    const res = await publicRequest('10.1.2.3', '/healthz', { sni: hostOf('alpha') });
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok\n');
  });

  it('negotiates TLSv1.3 and TLSv1.2 with the certificate of the tenant hosts', async () => {
    for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
      const res = await request({
        url: `https://127.0.0.1:${publicPort}/healthz`,
        headers: { host: hostOf('alpha') },
        tls: { ca, servername: hostOf('alpha'), minVersion: version, maxVersion: version },
      });
      expect(res.status).toBe(200);
      expect(res.tlsProtocol).toBe(version);
    }
  });

  it('writes a JSON access log with tenant, method, path and status, and never a token', async () => {
    const marker = `/prometheus/api/v1/label/marker_${Date.now()}/values`;
    await publicRequest(hostOf('gamma'), marker, { token: TOKENS.gamma![0]! });
    await publicRequest(hostOf('gamma'), marker, { token: TOKENS.alpha![0]! });
    let entries: Array<Record<string, unknown>> = [];
    await pWaitFor(
      () => {
        entries = readLines(accessLog()).map((line) => JSON.parse(line) as Record<string, unknown>);
        return entries.filter((e) => e.path === marker).length === 2;
      },
      { interval: 20, timeout: 5000 },
    );
    const mine = entries.filter((e) => e.path === marker);
    expect(mine.map((e) => [e.tenant, e.method, e.status, e.listener])).toEqual([
      ['gamma', 'GET', 200, 'public'],
      ['gamma', 'GET', 403, 'public'],
    ]);
    expect(mine[0]!.upstream_status).toBe('200');
    expect(mine[0]!.route).toBe('metrics.label-values');
    expect(typeof mine[0]!.request_time).toBe('number');
    expect(typeof mine[0]!.bytes).toBe('number');
    expect(entries.some((e) => e.listener === 'internal' && e.tenant === 'rated' && e.status === 429)).toBe(true);
    // Neither log ever holds a token or the Authorization header.
    const logs = `${readLines(accessLog()).join('\n')}\n${readLines(errorLog()).join('\n')}`;
    for (const token of ALL_TOKENS) expect(logs).not.toContain(token);
    expect(logs.toLowerCase()).not.toContain('bearer');
    expect(logs.toLowerCase()).not.toContain('authorization');
  });

  it('picks up a new tenant and a revoked token on reload (SIGHUP, as the sidecar sends)', async () => {
    const echo = LATER.echo[0]!;
    expect((await publicRequest(hostOf('echo'), '/api/v1/push', { token: echo, body: Buffer.from('x') })).status).toBe(404);
    writeTenant('echo', LATER.echo);
    unlinkSync(join(tenantsDir, tokensFileName('gamma')));
    await server.reload();
    expect((await publicRequest(hostOf('echo'), '/api/v1/push', { token: echo, body: Buffer.from('x') })).status).toBe(200);
    const seen = await reaching(() => publicRequest(hostOf('echo'), '/prometheus/api/v1/query?query=up', { token: echo }));
    expect(seen[0]!.headers['x-scope-orgid']).toBe('echo');
    // gamma still exists (its tenant file is there) but its token is revoked.
    expect((await publicRequest(hostOf('gamma'), '/api/v1/push', { token: TOKENS.gamma![0]!, body: Buffer.from('x') })).status).toBe(401);
    expect((await publicRequest(hostOf('gamma'), '/')).status).toBe(200);
    // The other tenants are untouched.
    expect((await publicRequest(hostOf('alpha'), '/api/v1/push', { token: TOKENS.alpha![1]!, body: Buffer.from('x') })).status).toBe(200);
  });

  it("reloads through the sidecar's own loop when a tenant's files appear", async () => {
    const heartbeat = join(dir, 'reloader-heartbeat');
    const script = reloadLoopScript({ watchDirs: [tenantsDir], pidFile: options.paths.pidFile, heartbeatFile: heartbeat, intervalSeconds: 1 });
    // Its own process group, so stopping it also stops its `sleep`.
    const loop = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    loop.stderr!.on('data', (d) => (output += d));
    /** Resolves when the loop has reported `count` reloads. */
    const reloads = (count: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the reload loop reported fewer than ${count} reloads:\n${output}`)), 10_000);
        const check = () => {
          if ((output.match(/nginx reloaded/g) ?? []).length >= count) {
            clearTimeout(timer);
            loop.stdout!.off('data', onData);
            resolve();
          }
        };
        const onData = (d: Buffer) => {
          output += d;
          check();
        };
        loop.stdout!.on('data', onData);
        check();
      });
    const workersReplaced = async (old: number[]) =>
      pWaitFor(() => {
        const now = childPids(server.pid);
        return now.length > 0 && now.every((pid) => !old.includes(pid));
      }, { interval: 50, timeout: 10_000 });
    try {
      // The first round reloads once (nginx is running), then it watches.
      let workers = childPids(server.pid);
      await reloads(1);
      await workersReplaced(workers);
      expect(existsSync(heartbeat)).toBe(true);
      const probe = spawn('sh', ['-c', heartbeatProbeScript(heartbeat, 30)]);
      expect(await new Promise((resolve) => probe.on('exit', resolve))).toBe(0);

      const foxtrot = LATER.foxtrot[0]!;
      expect((await publicRequest(hostOf('foxtrot'), '/api/v1/push', { token: foxtrot, body: Buffer.from('x') })).status).toBe(404);
      workers = childPids(server.pid);
      writeTenant('foxtrot', LATER.foxtrot);
      await reloads(2);
      await workersReplaced(workers);
      expect((await publicRequest(hostOf('foxtrot'), '/api/v1/push', { token: foxtrot, body: Buffer.from('x') })).status).toBe(200);
    } finally {
      process.kill(-loop.pid!, 'SIGTERM');
    }
  });

  it('rewrites route prefixes for upstreams with other paths (a plain Prometheus), keeping the query string', async () => {
    const { dir: rewriteDir, port, running: second } = await startAnotherGateway('rewrite', {
      pathRewrites: [
        { prefix: '/api/v1/push', replacement: '/api/v1/write' },
        { prefix: '/prometheus/', replacement: '/' },
      ],
    });
    try {
      const token = TOKENS.beta![0]!;
      const plain = (path: string, body?: Buffer) =>
        request({ url: `http://127.0.0.1:${port}${path}`, method: body ? 'POST' : 'GET', headers: { host: hostOf('beta'), authorization: `Bearer ${token}` }, ...(body ? { body } : {}) });
      const seen = await reaching(async () => {
        expect((await plain('/api/v1/push', Buffer.from('x'))).status).toBe(200);
        expect((await plain('/prometheus/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=5')).status).toBe(200);
        expect((await plain('/loki/api/v1/labels')).status).toBe(200);
      });
      expect(seen.map((r) => [r.host, r.url, r.headers['x-scope-orgid']])).toEqual([
        [upstreamHost('distributor'), '/api/v1/write', 'beta'],
        [upstreamHost('queryFrontend'), '/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=5', 'beta'],
        [upstreamHost('lokiRead'), '/loki/api/v1/labels', 'beta'],
      ]);
      // The checks still come first.
      expect((await request({ url: `http://127.0.0.1:${port}/api/v1/push`, method: 'POST', headers: { host: hostOf('beta') }, body: 'x' })).status).toBe(401);
      // The pod's preStop hook stops nginx gracefully and returns once it is gone.
      // (Spawned asynchronously: this process must stay free to reap nginx, its child.)
      const stop = spawn('sh', ['-c', gracefulStopScript(join(rewriteDir, 'nginx.pid'), 0)]);
      expect(await new Promise((resolve) => stop.on('exit', resolve))).toBe(0);
      expect(await second.exited).toBe(0);
    } finally {
      await second.stop();
    }
  });
});
