/**
 * A stand-in for the instance's gateway on loopback, for the real-engine suites: kwok's pods
 * serve nothing, so the steps that talk to the gateway after the stacks are applied (the
 * system tenant's alerting, a migration's record and check of Loki rule groups) need something
 * to answer. It listens where the CLI's configured gateway address points (`kubernetes.gateway.
 * address: 127.0.0.1`, a field users set for a load balancer of their own), on 443 with the
 * instance's certificate, and answers the control APIs the CLI uses per tenant host:
 * `/healthz`, the token check query, Cortex's `/api/v1/alerts` (the Alertmanager config, which
 * `/alertmanager/api/v2/status` then shows as running) and `/api/v1/rules`, and Loki's
 * `/loki/api/v1/rules`, holding rule groups in memory. It serves no data plane: the verify
 * probe is proven against real Cortex and Loki in the data-plane suites.
 *
 * A request is only answered with a bearer token (401 without), and the tokens seen per tenant
 * are kept, so a suite can check that each tenant's rules were read with that tenant's own token.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import YAML from 'yaml';

type Group = { name: string } & Record<string, unknown>;
/** namespace → groups */
type Rules = Map<string, Group[]>;


/**
 * Why this process cannot listen on the gateway's port 443, or undefined when it can: root, or
 * a kernel that lets everyone bind it (net.ipv4.ip_unprivileged_port_start at most 443). A suite
 * skips itself by name with this, as it does for a binary that is not built.
 */
export function gatewayPortMissing(): string | undefined {
  if (process.getuid?.() === 0) return undefined;
  try {
    if (Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) <= 443) return undefined;
  } catch {
    // Not Linux, or no such setting: only root can bind it.
  }
  return 'port 443 on 127.0.0.1 for the gateway stub (run the tests as root, or lower net.ipv4.ip_unprivileged_port_start to 443)';
}

export interface StubRequest {
  method: string;
  tenant: string;
  path: string;
}

export interface GatewayStub {
  port: number;
  /** Loki's rule groups per tenant (namespace → groups), as the stub holds them now. */
  lokiRules(tenant: string): Record<string, Group[]>;
  /** Cortex's rule groups per tenant. */
  cortexRules(tenant: string): Record<string, Group[]>;
  setLokiRules(tenant: string, rules: Record<string, Group[]>): void;
  /** Tokens each tenant's host was called with. */
  tokensSeen(tenant: string): string[];
  requests: StubRequest[];
  /**
   * Holds the next request that `match` accepts without answering it, until `release` (or
   * `stop`); resolves once such a request has arrived. For a kill at a known point of a step.
   */
  holdNext(match: (r: StubRequest) => boolean): { arrived: Promise<StubRequest>; release(): void };
  stop(): Promise<void>;
}

export async function startGatewayStub(o: { domain: string; certificatePem: string; privateKeyPem: string; host?: string; port?: number }): Promise<GatewayStub> {
  const loki = new Map<string, Rules>();
  const cortex = new Map<string, Rules>();
  const tokens = new Map<string, Set<string>>();
  /** tenant → the Alertmanager config body as posted (`alertmanager_config`, `template_files`). */
  const alertmanager = new Map<string, string>();
  const requests: StubRequest[] = [];
  const holds: Array<{ match: (r: StubRequest) => boolean; arrive: (r: StubRequest) => void; released: Promise<void> }> = [];
  const releases: Array<() => void> = [];
  const rulesOf = (store: Map<string, Rules>, tenant: string) => {
    if (!store.has(tenant)) store.set(tenant, new Map());
    return store.get(tenant)!;
  };
  const plain = (rules: Rules) => Object.fromEntries([...rules].filter(([, gs]) => gs.length > 0));
  const suffix = `.${o.domain}`;

  const server = https.createServer({ cert: o.certificatePem, key: o.privateKeyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const host = (req.headers.host ?? '').replace(/:\d+$/, '');
        const url = new URL(req.url ?? '/', 'https://stub');
        const reply = (status: number, body: string, type = 'text/plain') => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        };
        if (!host.endsWith(suffix)) return reply(404, `unknown host ${host}`);
        const tenant = host.slice(0, -suffix.length);
        const seen: StubRequest = { method: req.method ?? 'GET', tenant, path: url.pathname };
        requests.push(seen);
        const hold = holds.find((h) => h.match(seen));
        if (hold) {
          holds.splice(holds.indexOf(hold), 1);
          hold.arrive(seen);
          await hold.released;
        }
        if (url.pathname === '/healthz') return reply(200, 'ok');
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
        if (!token) return reply(401, 'no token');
        if (!tokens.has(tenant)) tokens.set(tenant, new Set());
        tokens.get(tenant)!.add(token);
        const body = Buffer.concat(chunks).toString('utf8');
        if (url.pathname === '/prometheus/api/v1/query') return reply(200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }), 'application/json');
        // Cortex's Alertmanager config: stored as posted, and run at once (status shows it).
        if (url.pathname === '/api/v1/alerts' && req.method === 'POST') {
          alertmanager.set(tenant, body);
          return reply(201, '');
        }
        if (url.pathname === '/api/v1/alerts' && req.method === 'GET') {
          return alertmanager.has(tenant) ? reply(200, alertmanager.get(tenant)!, 'application/yaml') : reply(404, 'alertmanager storage object not found');
        }
        if (url.pathname === '/alertmanager/api/v2/status' && req.method === 'GET') {
          const stored = alertmanager.has(tenant) ? ((YAML.parse(alertmanager.get(tenant)!) as { alertmanager_config?: string }).alertmanager_config ?? '') : '';
          return reply(200, JSON.stringify({ config: { original: stored } }), 'application/json');
        }
        // The two rulers' APIs have the same shape: `<prefix>` lists, `<prefix>/<ns>` lists or
        // adds a group, `<prefix>/<ns>/<group>` deletes one.
        const ruler = /^(\/loki)?\/api\/v1\/rules(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(url.pathname);
        if (!ruler) return reply(404, `the stub does not serve ${url.pathname}`);
        const rules = rulesOf(ruler[1] ? loki : cortex, tenant);
        const namespace = ruler[2] === undefined ? undefined : decodeURIComponent(ruler[2]);
        const group = ruler[3] === undefined ? undefined : decodeURIComponent(ruler[3]);
        if (req.method === 'GET') {
          const listed = namespace === undefined ? plain(rules) : plain(new Map([[namespace, rules.get(namespace) ?? []]]));
          if (Object.keys(listed).length === 0) return reply(404, 'no rule groups found');
          return reply(200, YAML.stringify(listed), 'application/yaml');
        }
        if (req.method === 'POST' && namespace !== undefined && group === undefined) {
          const parsed = YAML.parse(body) as Group;
          const groups = (rules.get(namespace) ?? []).filter((g) => g.name !== parsed.name);
          rules.set(namespace, [...groups, parsed]);
          return reply(202, '{"status":"success"}', 'application/json');
        }
        if (req.method === 'DELETE' && namespace !== undefined) {
          rules.set(namespace, group === undefined ? [] : (rules.get(namespace) ?? []).filter((g) => g.name !== group));
          return reply(202, '{"status":"success"}', 'application/json');
        }
        return reply(405, `${req.method} ${url.pathname}`);
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`the gateway stub cannot listen on ${o.host ?? '127.0.0.1'}:${o.port ?? 443}: ${err.message} (the port is the gateway's, 443, which needs root or CAP_NET_BIND_SERVICE)`)),
    );
    server.listen(o.port ?? 443, o.host ?? '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    lokiRules: (tenant) => plain(rulesOf(loki, tenant)),
    cortexRules: (tenant) => plain(rulesOf(cortex, tenant)),
    setLokiRules: (tenant, rules) => loki.set(tenant, new Map(Object.entries(rules))),
    tokensSeen: (tenant) => [...(tokens.get(tenant) ?? [])],
    requests,
    holdNext(match) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      releases.push(release);
      let arrive!: (r: StubRequest) => void;
      const arrived = new Promise<StubRequest>((resolve) => (arrive = resolve));
      holds.push({ match, arrive, released });
      return { arrived, release };
    },
    async stop() {
      for (const release of releases) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
