/**
 * The gateway exactly as `lookout plan --render` writes it (examples/aws.yaml), changed only by
 * the data plane's rewrite, under the real nginx: each API reaches the local address of the
 * Service it names, with the tenant's X-Scope-OrgID and without the token; other tenants' tokens
 * get 403 and no token 401. Recording stubs stand in for the Cortex components here; the data
 * plane suite puts real Cortex behind the same gateway.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ProbeClient, type ProbeRequest } from '../../src/verify/client.js';
import { startRenderedGateway, type RunningGateway } from '../support/dataplane/gateway.js';
import { localServices } from '../support/dataplane/plane.js';
import { readRenderedPlatform, renderPlan } from '../support/dataplane/rendered.js';
import { findExecutable } from '../support/processes.js';

const NGINX = findExecutable('nginx');
const title = `the rendered gateway config under the real nginx${NGINX ? '' : ' (skipped: nginx not installed; apt-get install nginx-light)'}`;
if (!NGINX) console.warn(`SKIPPED: ${title}`);

const root = fileURLToPath(new URL('../../', import.meta.url));
const example = YAML.parse(readFileSync(join(root, 'examples/aws.yaml'), 'utf8')) as { name: string; dns: { domain: string } };
const COMPONENTS = ['distributor', 'query-frontend', 'ruler', 'alertmanager'] as const;

interface Seen {
  component: string;
  method: string;
  path: string;
  orgId?: string;
  authorization?: string;
}

describe.skipIf(!NGINX)(title, () => {
  let work: string;
  let gateway: RunningGateway;
  const seen: Seen[] = [];
  const servers: http.Server[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lookout-dataplane-gateway-'));
    await renderPlan({ provider: 'aws', instance: example.name, configFile: join(root, 'examples/aws.yaml'), dir: join(work, 'render') });
    const rendered = readRenderedPlatform(join(work, 'render'));
    const stub = async (component: string, status: number) => {
      const server = http.createServer((req, res) => {
        const orgId = req.headers['x-scope-orgid'];
        seen.push({ component, method: req.method!, path: req.url!, ...(typeof orgId === 'string' ? { orgId } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        req.resume();
        req.on('end', () => res.writeHead(status).end(component));
      });
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    const procs = [];
    for (const target of COMPONENTS) {
      const port = await stub(target, 200);
      procs.push({ target, httpPort: port, grpcPort: port, gossipPort: port });
    }
    const absent = await stub('absent', 503);
    gateway = await startRenderedGateway({
      nginx: NGINX!,
      config: rendered.nginxConfig,
      tenants: ['production', 'staging', 'system'],
      domain: example.dns.domain,
      services: localServices(rendered, procs, absent),
      dir: join(work, 'gateway'),
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function send(req: Omit<ProbeRequest, 'host'> & { tenant: string; on?: string; anonymous?: boolean }): Promise<number> {
    const client = new ProbeClient(gateway.connection);
    try {
      const t = gateway.tenants.find((x) => x.tenant === req.tenant)!;
      const host = req.on ? gateway.tenants.find((x) => x.tenant === req.on)!.host : t.host;
      const { anonymous, ...rest } = req;
      return (await client.request({ ...rest, host, ...(anonymous ? {} : { token: t.token }) })).status;
    } finally {
      client.close();
    }
  }

  it.each([
    { tenant: 'production', method: 'POST' as const, path: '/api/v1/push', component: 'distributor' },
    { tenant: 'staging', method: 'GET' as const, path: '/prometheus/api/v1/query?query=up', component: 'query-frontend' },
    { tenant: 'system', method: 'GET' as const, path: '/api/v1/rules/lookout', component: 'ruler' },
    { tenant: 'staging', method: 'GET' as const, path: '/alertmanager/api/v2/alerts', component: 'alertmanager' },
  ])('$method $path as $tenant reaches the local $component with that tenant’s org ID and no token', async ({ tenant, method, path, component }) => {
    seen.length = 0;
    expect(await send({ tenant, method, path, ...(method === 'POST' ? { body: 'x', headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy' } } : {}) })).toBe(200);
    expect(seen).toEqual([{ component, method, path, orgId: tenant }]);
  });

  it('refuses another tenant’s token with 403 and no token with 401, before any upstream', async () => {
    seen.length = 0;
    expect(await send({ tenant: 'production', on: 'staging', method: 'GET', path: '/prometheus/api/v1/query?query=up' })).toBe(403);
    expect(await send({ tenant: 'production', method: 'GET', path: '/prometheus/api/v1/query?query=up', anonymous: true })).toBe(401);
    expect(seen).toEqual([]);
  });

  it('sends the log store’s routes to the stand-in that says it is not run here', async () => {
    seen.length = 0;
    expect(await send({ tenant: 'staging', method: 'GET', path: '/loki/api/v1/labels' })).toBe(503);
    expect(seen.map((s) => [s.component, s.orgId])).toEqual([['absent', 'staging']]);
  });
});
