/**
 * The gateway's allow-list: every endpoint a tenant may reach, each with its own identity. It is
 * data, so that the config generator, the tests, the README and (later) token scopes all read
 * the same table. Anything not in it is refused: 404 for a path, 405 for a method.
 *
 * A route is one endpoint of one store: a name that never changes (`metrics.push`), the path it
 * matches, the methods it takes, and whether it is a websocket. Reading and writing the same
 * path are two routes (`metrics.rules.read`, `metrics.rules.write`), so that a token scope can
 * be given one and not the other.
 */

/** The upstream URLs the gateway proxies to (scheme, host and port; no path). */
export interface GatewayUpstreams {
  /** Cortex distributor: remote write. */
  distributor: string;
  /** Cortex query-frontend: PromQL. */
  queryFrontend: string;
  /** Cortex ruler: rule config API, rule and alert state. */
  ruler: string;
  /** Cortex Alertmanager: UI, API v2 and the per-tenant config API. */
  alertmanager: string;
  /** Loki write path: push. */
  lokiWrite: string;
  /** Loki read path: LogQL, tail. */
  lokiRead: string;
  /** Loki backend: ruler, compactor (log deletion). */
  lokiBackend: string;
  /**
   * The tenant's Grafana, with `{tenant}` where the tenant name goes, e.g.
   * `http://grafana.tenant-{tenant}.svc.cluster.local:3000`.
   */
  grafana: string;
}

export type ApiUpstream = Exclude<keyof GatewayUpstreams, 'grafana'>;

/** Which body-size limit applies: pushes carry batches of samples or log lines. */
export type BodyClass = 'push' | 'api';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface GatewayRoute {
  /** Stable identity: what the access log records and what a token scope will name. */
  name: string;
  /** What the endpoint is for, in a few words. */
  purpose: string;
  /**
   * The path, matched against the request path exactly as the client sent it (still
   * percent-encoded), segment by segment: literal text, `/{name}` for exactly one segment,
   * `/{name?}` for an optional segment (only at the end), and `/**` at the end for one or more
   * segments. The query string is free. A literal never matches a percent-encoded spelling of
   * itself (`/prometheus/api/v1/%71uery` is no route).
   */
  path: string;
  methods: readonly HttpMethod[];
  upstream: ApiUpstream;
  /** The upstream serves this path under another one: it replaces the path's literal prefix. */
  upstreamPath?: string;
  body: BodyClass;
  /** A websocket endpoint: the only routes that pass `Upgrade` and `Connection` on. */
  websocket?: boolean;
}

/**
 * Where a Grafana datasource points on the gateway (appended to the gateway's base URL).
 *
 * Grafana derives every path from the datasource URL (`pkg/services/ngalert/api/lotex_ruler.go`,
 * `lotex_prom.go` in grafana/grafana): a Prometheus datasource of a Cortex that serves no
 * build info (off by default again since cortexproject/cortex#5533) gets its rule groups at
 * `<url>/rules/...`, a Mimir at `<url>/config/v1/rules/...`; a Loki datasource gets them at
 * `<url>/api/prom/rules/...` and their state at `<url>/prometheus/api/v1/rules` and
 * `.../alerts`. The last two would reach Cortex's ruler at the gateway's root, so the Loki
 * datasource has its own prefix.
 */
export const GRAFANA_DATASOURCE_PATHS = {
  prometheus: '/prometheus',
  loki: '/logs',
} as const;

/** Grafana Live's websocket: the one Grafana path that may upgrade. */
export const GRAFANA_LIVE_PATH = '/api/live/ws';

const READ: readonly HttpMethod[] = ['GET'];
/** Prometheus and Loki query APIs take their parameters in the query string or a form body. */
const QUERY: readonly HttpMethod[] = ['GET', 'POST'];
/** Rule groups: POST creates or replaces a group in a namespace, DELETE removes a group or a namespace. */
const RULES_WRITE: readonly HttpMethod[] = ['POST', 'DELETE'];
const RULE_GROUP_PATH = '/{namespace?}/{group?}';

type Def = Omit<GatewayRoute, 'body'> & { body?: BodyClass };
const route = (def: Def): GatewayRoute => ({ body: 'api', ...def });

/** Cortex: remote write, PromQL, the ruler and the Alertmanager. */
const METRICS_ROUTES: GatewayRoute[] = [
  route({ name: 'metrics.push', purpose: 'Prometheus remote write', path: '/api/v1/push', methods: ['POST'], upstream: 'distributor', body: 'push' }),
  ...(
    [
      ['query', 'instant query', 'query', QUERY],
      ['query-range', 'range query', 'query_range', QUERY],
      ['query-exemplars', 'exemplars', 'query_exemplars', QUERY],
      ['series', 'series by matchers', 'series', QUERY],
      ['labels', 'label names', 'labels', QUERY],
      ['label-values', 'values of one label', 'label/{name}/values', READ],
      ['metadata', 'metric metadata', 'metadata', READ],
      ['remote-read', 'Prometheus remote read', 'read', ['POST']],
      // Grafana asks for it to tell Cortex from Mimir; Cortex answers 404 (build info is off).
      ['build-info', 'build information (Grafana probes it)', 'status/buildinfo', READ],
    ] as const
  ).map(([name, purpose, path, methods]) =>
    route({ name: `metrics.${name}`, purpose: `PromQL: ${purpose}`, path: `/prometheus/api/v1/${path}`, methods, upstream: 'queryFrontend' }),
  ),
  route({ name: 'metrics.rule-state', purpose: 'state of the recording and alerting rules', path: '/prometheus/api/v1/rules', methods: READ, upstream: 'ruler' }),
  route({ name: 'metrics.alert-state', purpose: 'firing and pending alerts', path: '/prometheus/api/v1/alerts', methods: READ, upstream: 'ruler' }),
  // The rule config API, at Cortex's own path and where Grafana calls it for a Cortex
  // datasource at `/prometheus` (and mimirtool's default path).
  ...(
    [
      ['', '/api/v1/rules', undefined],
      ['.via-grafana', '/prometheus/rules', '/api/v1/rules'],
      ['.via-mimir-path', '/prometheus/config/v1/rules', '/api/v1/rules'],
    ] as const
  ).flatMap(([suffix, base, upstreamPath]) => [
    route({ name: `metrics.rules.read${suffix}`, purpose: 'list and read rule groups', path: `${base}${RULE_GROUP_PATH}`, methods: READ, upstream: 'ruler', ...(upstreamPath ? { upstreamPath } : {}) }),
    route({ name: `metrics.rules.write${suffix}`, purpose: 'create, replace and delete rule groups', path: `${base}${RULE_GROUP_PATH}`, methods: RULES_WRITE, upstream: 'ruler', ...(upstreamPath ? { upstreamPath } : {}) }),
  ]),
];

/** Cortex's multi-tenant Alertmanager: its config API, API v2 and UI; not `/-/reload`, `/metrics` or `/debug/`. */
const ALERTMANAGER_ROUTES: GatewayRoute[] = [
  route({ name: 'alertmanager.config.read', purpose: 'read the Alertmanager config', path: '/api/v1/alerts', methods: READ, upstream: 'alertmanager' }),
  route({ name: 'alertmanager.config.write', purpose: 'upload or delete the Alertmanager config', path: '/api/v1/alerts', methods: ['POST', 'DELETE'], upstream: 'alertmanager' }),
  ...(
    [
      ['alerts.read', 'list alerts', 'alerts', READ],
      ['alerts.write', 'send alerts', 'alerts', ['POST']],
      ['alert-groups', 'alerts by group', 'alerts/groups', READ],
      ['silences.read', 'list silences', 'silences', READ],
      ['silences.write', 'create or update a silence', 'silences', ['POST']],
      ['silence.read', 'read a silence', 'silence/{id}', READ],
      ['silence.write', 'expire a silence', 'silence/{id}', ['DELETE']],
      ['status', 'Alertmanager status and config', 'status', READ],
      ['receivers', 'receiver names', 'receivers', READ],
    ] as const
  ).map(([name, purpose, path, methods]) =>
    route({ name: `alertmanager.${name}`, purpose: `Alertmanager API v2: ${purpose}`, path: `/alertmanager/api/v2/${path}`, methods, upstream: 'alertmanager' }),
  ),
  ...(
    [
      ['ui', ''],
      ['ui.index', '/'],
      ['ui.script', '/script.js'],
      ['ui.favicon', '/favicon.ico'],
      ['ui.lib', '/lib/**'],
    ] as const
  ).map(([name, path]) => route({ name: `alertmanager.${name}`, purpose: 'the Alertmanager UI', path: `/alertmanager${path}`, methods: READ, upstream: 'alertmanager' })),
];

/** Loki's LogQL API on the read path: the same set at `/loki/...` and for Grafana at `/logs/loki/...`. */
const LOKI_READ_ENDPOINTS = [
  ['query', 'instant query', 'query', QUERY],
  ['query-range', 'range query', 'query_range', QUERY],
  ['series', 'streams by matchers', 'series', QUERY],
  ['labels', 'label names', 'labels', QUERY],
  ['label-values', 'values of one label', 'label/{name}/values', QUERY],
  ['index-stats', 'index statistics of a query', 'index/stats', QUERY],
  ['index-volume', 'log volume', 'index/volume', QUERY],
  ['index-volume-range', 'log volume over time', 'index/volume_range', QUERY],
  ['patterns', 'detected log patterns', 'patterns', QUERY],
  ['detected-labels', 'labels detected in streams', 'detected_labels', QUERY],
  ['detected-fields', 'fields detected in log lines', 'detected_fields', QUERY],
  ['detected-field-values', 'values of one detected field', 'detected_field/{name}/values', QUERY],
  ['build-info', 'build information', 'status/buildinfo', READ],
  ['drilldown-limits', "the tenant's limits, as Grafana Logs Drilldown reads them", 'drilldown-limits', READ],
] as const;

/** Loki: push, LogQL, live tail, the ruler and log deletion. */
const LOGS_ROUTES: GatewayRoute[] = [
  route({ name: 'logs.push', purpose: 'Loki push', path: '/loki/api/v1/push', methods: ['POST'], upstream: 'lokiWrite', body: 'push' }),
  ...LOKI_READ_ENDPOINTS.map(([name, purpose, path, methods]) =>
    route({ name: `logs.${name}`, purpose: `LogQL: ${purpose}`, path: `/loki/api/v1/${path}`, methods, upstream: 'lokiRead' }),
  ),
  route({ name: 'logs.tail', purpose: 'live tail (websocket)', path: '/loki/api/v1/tail', methods: READ, upstream: 'lokiRead', websocket: true }),
  route({ name: 'logs.rules.read', purpose: 'list and read rule groups', path: `/loki/api/v1/rules${RULE_GROUP_PATH}`, methods: READ, upstream: 'lokiBackend' }),
  route({ name: 'logs.rules.write', purpose: 'create, replace and delete rule groups', path: `/loki/api/v1/rules${RULE_GROUP_PATH}`, methods: RULES_WRITE, upstream: 'lokiBackend' }),
  // The tenant's own logs only (the gateway sets X-Scope-OrgID); the compactor applies them.
  route({ name: 'logs.delete.read', purpose: 'list log deletion requests', path: '/loki/api/v1/delete', methods: READ, upstream: 'lokiBackend' }),
  route({ name: 'logs.delete.write', purpose: 'request or cancel the deletion of log lines', path: '/loki/api/v1/delete', methods: ['POST', 'PUT', 'DELETE'], upstream: 'lokiBackend' }),
];

/**
 * Loki as a Grafana Loki datasource at `/logs` sees it: queries and live tail under
 * `/logs/loki/...`, and the ruler's state and config API under the paths Grafana uses for Loki.
 */
const LOGS_VIA_GRAFANA_ROUTES: GatewayRoute[] = [
  ...[...LOKI_READ_ENDPOINTS, ['tail', 'live tail (websocket)', 'tail', READ] as const].map(([name, purpose, path, methods]) =>
    route({
      name: `logs.${name}.via-grafana`,
      purpose: `Grafana's Loki datasource, LogQL: ${purpose}`,
      path: `${GRAFANA_DATASOURCE_PATHS.loki}/loki/api/v1/${path}`,
      methods,
      upstream: 'lokiRead',
      upstreamPath: `/loki/api/v1/${path.split('/{')[0]}`,
      ...(name === 'tail' ? { websocket: true } : {}),
    }),
  ),
  route({ name: 'logs.rule-state.via-grafana', purpose: "state of Loki's rules", path: '/logs/prometheus/api/v1/rules', methods: READ, upstream: 'lokiBackend', upstreamPath: '/prometheus/api/v1/rules' }),
  route({ name: 'logs.alert-state.via-grafana', purpose: "Loki's firing and pending alerts", path: '/logs/prometheus/api/v1/alerts', methods: READ, upstream: 'lokiBackend', upstreamPath: '/prometheus/api/v1/alerts' }),
  route({ name: 'logs.rules.read.via-grafana', purpose: 'list and read rule groups', path: `/logs/api/prom/rules${RULE_GROUP_PATH}`, methods: READ, upstream: 'lokiBackend', upstreamPath: '/loki/api/v1/rules' }),
  route({ name: 'logs.rules.write.via-grafana', purpose: 'create, replace and delete rule groups', path: `/logs/api/prom/rules${RULE_GROUP_PATH}`, methods: RULES_WRITE, upstream: 'lokiBackend', upstreamPath: '/loki/api/v1/rules' }),
];

/**
 * Every tenant API endpoint, served on both listeners with a bearer token. On the public
 * listener everything outside the stores' path spaces goes to the tenant's Grafana.
 */
export const API_ROUTES: readonly GatewayRoute[] = [...METRICS_ROUTES, ...ALERTMANAGER_ROUTES, ...LOGS_ROUTES, ...LOGS_VIA_GRAFANA_ROUTES];

/**
 * Path spaces that belong to the stores: on the public listener a path under one of these that
 * is on no route gets 404 instead of going to Grafana.
 */
export const API_PATH_SPACES = ['/prometheus/', '/loki/', '/logs/', '/alertmanager', '/api/v1/push', '/api/v1/rules', '/api/v1/alerts'] as const;

/** Where the tenant's Grafana is: the placeholder in `GatewayUpstreams.grafana`. */
export const TENANT_PLACEHOLDER = '{tenant}';

/** The health endpoint on both listeners, answered by nginx itself. */
export const HEALTH_PATH = '/healthz';

// ---------------------------------------------------------------------------------------------
// Matching: the same regular expressions run in nginx (PCRE) and here (for tests and tools).

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** One path segment as sent: anything but a separator, a query or a fragment. */
const SEGMENT = '[^/?#]+';
const TOKEN = /\/\{[a-z_]+\?\}|\/\{[a-z_]+\}|\/\*\*$/g;

/** A route path (or the tail of one) as a regular expression over the raw request path. */
export function pathPatternRegex(path: string): string {
  let out = '';
  let last = 0;
  for (const m of path.matchAll(TOKEN)) {
    out += escapeRegex(path.slice(last, m.index));
    out += m[0] === '/**' ? `/[^?#]+` : m[0].endsWith('?}') ? `(?:/${SEGMENT})?` : `/${SEGMENT}`;
    last = m.index! + m[0].length;
  }
  return out + escapeRegex(path.slice(last));
}

/** The part of a route path before its first parameter: what the nginx location is keyed on. */
export function literalPrefix(path: string): string {
  const first = path.search(/\/\{|\/\*\*$/);
  return first < 0 ? path : path.slice(0, first);
}

/** `^<path>(?:?<query>)?$` over a raw request URI (path and query as sent). */
export function requestUriRegex(path: string): string {
  return `^${pathPatternRegex(path)}(?:\\?.*)?$`;
}

/**
 * Raw request paths the gateway refuses outright (400), because the path nginx routes on (decoded
 * and normalised) could differ from the one an upstream sees: dot-segments, empty segments,
 * either of them spelt with `%2F`/`%2E`, backslashes (a separator to some servers), NUL and
 * fragments. Case-insensitive; it looks at the path only, not the query string.
 */
export const NON_CANONICAL_PATH = String.raw`^[^?]*(?:#|\\|%5c|%00|%2e|//|/%2f|%2f/|%2f%2f|(?:/|%2f)\.\.?(?:/|%2f|\?|$))`;

/** Whether a raw request URI is refused as non-canonical. */
export function isNonCanonical(requestUri: string): boolean {
  return new RegExp(NON_CANONICAL_PATH, 'i').test(requestUri);
}

/** The route a request reaches, or why none: the gateway's decision as a pure function. */
export function matchRoute(method: string, requestUri: string): { route: GatewayRoute } | { refused: 400 | 404 | 405 } {
  if (isNonCanonical(requestUri)) return { refused: 400 };
  const onPath = API_ROUTES.filter((r) => new RegExp(requestUriRegex(r.path)).test(requestUri));
  if (onPath.length === 0) return { refused: 404 };
  const route = onPath.find((r) => r.methods.includes(method as HttpMethod));
  return route ? { route } : { refused: 405 };
}

/**
 * Checks the table's invariants: unique names, no two routes on one path taking the same method,
 * and routes that share an nginx location (the same literal prefix) sharing what a location
 * fixes (upstream, body limit, websocket). Throws an Error naming the first problem.
 */
export function checkRouteTable(routes: readonly GatewayRoute[]): void {
  const names = new Set<string>();
  const byPathMethod = new Map<string, string>();
  const byLocation = new Map<string, GatewayRoute>();
  for (const r of routes) {
    if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/.test(r.name)) throw new Error(`gateway route name ${JSON.stringify(r.name)} is not dotted lowercase words`);
    if (names.has(r.name)) throw new Error(`gateway route ${r.name} is listed twice`);
    names.add(r.name);
    if (!/^\/[A-Za-z0-9._/{}?*-]*$/.test(r.path) || r.path.replace(TOKEN, '').includes('{')) throw new Error(`gateway route ${r.name}: bad path ${r.path}`);
    if (r.methods.length === 0) throw new Error(`gateway route ${r.name} takes no method`);
    for (const m of r.methods) {
      const key = `${r.path} ${m}`;
      if (byPathMethod.has(key)) throw new Error(`gateway routes ${byPathMethod.get(key)} and ${r.name} both take ${key}`);
      byPathMethod.set(key, r.name);
    }
    const location = literalPrefix(r.path);
    const other = byLocation.get(location);
    if (other && (other.upstream !== r.upstream || other.body !== r.body || Boolean(other.websocket) !== Boolean(r.websocket))) {
      throw new Error(`gateway routes ${other.name} and ${r.name} share the location ${location} but not its upstream, body limit or websocket`);
    }
    byLocation.set(location, r);
  }
}

checkRouteTable(API_ROUTES);
