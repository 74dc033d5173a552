/**
 * Loading the system tenant's alerting through the gateway, against a stub gateway that
 * speaks the Cortex ruler and Alertmanager config APIs over TLS.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderAlertRules, renderAlertmanagerConfig } from '@lookout/self-monitoring';
import { uploadSystemAlerting } from '../../src/steps/cluster-steps.js';
import { describeCertificate } from '../../src/tls/certificate.js';
import { selfSignedCertificate } from '../support/self-signed.js';
import { ProbeClient } from '../../src/verify/client.js';

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: string;
}

let server: Server;
let port: number;
let pin: string;
let seen: Seen[] = [];
/** Rule groups the stub ruler holds, by namespace. */
let ruler: Record<string, Array<{ name: string }>> = {};
/** Statuses to answer the next Alertmanager config uploads with (then 201). */
let alertsStatuses: number[] = [];
/** The Alertmanager config Cortex holds for the tenant, and the one its Alertmanager runs. */
let stored: string | undefined;
let running: string | undefined;
/**
 * How the stub's Alertmanager takes up a stored config at a status request: `poll` applies it
 * (as Cortex's poll does); `race` does what Cortex does when a request comes before its first
 * poll: starts on the fallback config and stores an empty one over the upload; `never` ignores it.
 */
let pickUp: Array<'poll' | 'race' | 'never'> = [];
const FALLBACK = 'route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n';

beforeAll(async () => {
  const cert = await selfSignedCertificate(['obs.example.test', '*.obs.example.test']);
  pin = (await describeCertificate(cert.certificatePem)).fingerprintSha256;
  server = createServer({ cert: cert.certificatePem, key: cert.privateKeyPem }, (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      seen.push({ method: req.method ?? '', path, auth: req.headers.authorization, body });
      if (path === '/api/v1/alerts') {
        if (req.method === 'GET') {
          if (stored === undefined) return void res.writeHead(404).end();
          return void res.writeHead(200, { 'Content-Type': 'application/yaml' }).end(YAML.stringify({ template_files: {}, alertmanager_config: stored }));
        }
        res.statusCode = alertsStatuses.shift() ?? 201;
        if (res.statusCode < 300) stored = (YAML.parse(body) as { alertmanager_config: string }).alertmanager_config;
        return res.end();
      }
      if (path === '/alertmanager/api/v2/status') {
        const how = pickUp.shift() ?? 'poll';
        if (how === 'race' && running === undefined) {
          running = FALLBACK;
          stored = '';
        } else if (how === 'poll' && stored) running = stored;
        if (running === undefined) return void res.writeHead(404).end('the Alertmanager is not configured');
        return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ config: { original: running } }));
      }
      const m = /^\/api\/v1\/rules\/([^/]+)(?:\/(.+))?$/.exec(path);
      if (!m) {
        res.statusCode = 404;
        return res.end('not found');
      }
      const [, ns, group] = m as unknown as [string, string, string | undefined];
      if (req.method === 'POST') {
        const g = YAML.parse(body) as { name: string };
        ruler[ns] = [...(ruler[ns] ?? []).filter((x) => x.name !== g.name), g];
        res.statusCode = 202;
      } else if (req.method === 'DELETE') {
        ruler[ns] = (ruler[ns] ?? []).filter((x) => x.name !== decodeURIComponent(group!));
        res.statusCode = 202;
      } else if (ruler[ns]?.length) {
        res.setHeader('Content-Type', 'application/yaml');
        return res.end(YAML.stringify({ [ns]: ruler[ns] }));
      } else res.statusCode = 404;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
  ruler = {};
  alertsStatuses = [];
  stored = undefined;
  running = undefined;
  pickUp = [];
});

async function upload(overrides: Partial<Parameters<typeof uploadSystemAlerting>[0]> = {}) {
  const client = new ProbeClient({ address: '127.0.0.1', port, pinnedCertificateSha256: pin });
  try {
    return await uploadSystemAlerting({
      client,
      host: 'system.obs.example.test',
      token: 'lk_system_token',
      rules: renderAlertRules(),
      alertmanagerConfig: renderAlertmanagerConfig(),
      retry: { retries: 3, minTimeout: 10, maxTimeout: 20 },
      configWait: { deadlineMs: 5_000, intervalMs: 10 },
      ...overrides,
    });
  } finally {
    client.close();
  }
}

describe('system alerting upload', () => {
  it('loads the Alertmanager config, then one request per rule group, with the system token', async () => {
    const groups = await upload();
    const expected = (YAML.parse(renderAlertRules()) as { groups: Array<{ name: string }> }).groups.map((g) => g.name);
    expect(groups).toEqual([...expected].sort());
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/api/v1/alerts' });
    expect(YAML.parse(seen[0]!.body)).toEqual({ alertmanager_config: renderAlertmanagerConfig(), template_files: {} });
    const posts = seen.filter((s) => s.method === 'POST' && s.path === '/api/v1/rules/lookout');
    expect(posts.map((p) => (YAML.parse(p.body) as { name: string }).name)).toEqual(expected);
    for (const s of seen) expect(s.auth).toBe('Bearer lk_system_token');
    expect(ruler.lookout!.map((g) => g.name).sort()).toEqual([...expected].sort());
  });

  it('is idempotent, and removes groups a newer bundle no longer has', async () => {
    ruler.lookout = [{ name: 'retired-group' }];
    await upload();
    await upload();
    expect(ruler.lookout!.map((g) => g.name)).not.toContain('retired-group');
    expect(seen.filter((s) => s.method === 'DELETE').map((s) => s.path)).toEqual(['/api/v1/rules/lookout/retired-group']);
  });

  it('retries while Cortex is still starting (503), but not a refused request (400, 401)', async () => {
    alertsStatuses = [503, 503];
    await upload();
    expect(seen.filter((s) => s.path === '/api/v1/alerts')).toHaveLength(3);
    seen = [];
    alertsStatuses = [400];
    await expect(upload()).rejects.toThrow(/POST \/api\/v1\/alerts on the system tenant returned 400/);
    expect(seen.filter((s) => s.path === '/api/v1/alerts')).toHaveLength(1);
    seen = [];
    alertsStatuses = [401];
    await expect(upload()).rejects.toThrow(/returned 401/);
    expect(seen.filter((s) => s.path === '/api/v1/alerts')).toHaveLength(1);
  });
});

describe('the system Alertmanager running the uploaded config before any rule is loaded', () => {
  const configPosts = () => seen.filter((s) => s.method === 'POST' && s.path === '/api/v1/alerts');
  const firstRulePost = () => seen.findIndex((s) => s.method === 'POST' && s.path.startsWith('/api/v1/rules/'));

  it('waits for Cortex’s poll to apply the upload, then loads the rules', async () => {
    pickUp = ['never', 'never', 'poll'];
    await upload();
    expect(configPosts()).toHaveLength(1);
    expect(running).toBe(renderAlertmanagerConfig());
    const lastStatus = seen.map((s) => s.path).lastIndexOf('/alertmanager/api/v2/status');
    expect(lastStatus).toBeLessThan(firstRulePost());
  });

  it('uploads again when a request before the first poll started the fallback and emptied the stored config', async () => {
    pickUp = ['race', 'poll'];
    await upload();
    // Once after the race found the stored config emptied, and the Alertmanager runs ours.
    expect(configPosts()).toHaveLength(2);
    expect(running).toBe(renderAlertmanagerConfig());
    expect(seen.indexOf(configPosts()[1]!)).toBeLessThan(firstRulePost());
  });

  it('fails, naming what runs and what was uploaded, when the upload never runs', async () => {
    pickUp = Array.from({ length: 1000 }, () => 'race' as const);
    await expect(upload({ configWait: { deadlineMs: 300, intervalMs: 10 } })).rejects.toThrow(
      /did not start running the uploaded config within 0 s \(it runs receivers blackhole; the upload has receivers null\)/,
    );
    expect(seen.filter((s) => s.path.startsWith('/api/v1/rules/'))).toEqual([]);
  });
});

describe('waiting for the gateway to accept tenant tokens', () => {
  it('polls each tenant until its token is no longer refused, and names the tenant on timeout', async () => {
    const { waitUntilTokensAccepted } = await import('../../src/steps/cluster-steps.js');
    // The stub answers 401 for the first two queries of team-b's token, like a gateway that
    // has not reloaded yet, then 404 (any answer but 401 means the token is known).
    let refusals = 2;
    const waited: string[] = [];
    const client = new ProbeClient({ address: '127.0.0.1', port, pinnedCertificateSha256: pin });
    const original = client.request.bind(client);
    client.request = async (req) => {
      if (req.token === 'lk_team-b_x' && refusals-- > 0) return { status: 401, headers: {}, body: Buffer.from('') };
      return original(req);
    };
    try {
      await waitUntilTokensAccepted({
        client,
        targets: [
          { tenant: 'team-a', host: 'team-a.obs.example.test', token: 'lk_team-a_x' },
          { tenant: 'team-b', host: 'team-b.obs.example.test', token: 'lk_team-b_x' },
        ],
        timing: { deadlineMs: 5_000, intervalMs: 10 },
        onWaiting: (tenant, status) => waited.push(`${tenant} ${status}`),
      });
      expect(waited).toEqual(['team-b HTTP 401', 'team-b HTTP 401']);
      refusals = Number.POSITIVE_INFINITY;
      await expect(
        waitUntilTokensAccepted({
          client,
          targets: [{ tenant: 'team-b', host: 'team-b.obs.example.test', token: 'lk_team-b_x' }],
          timing: { deadlineMs: 100, intervalMs: 10 },
        }),
      ).rejects.toThrow(/still refuses tenant team-b's token/);
    } finally {
      client.close();
    }
  });
});
