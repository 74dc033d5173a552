/**
 * The gateway's routing table: which path prefix goes to which upstream. It is data so that the
 * config generator, the tests and the README all read the same table.
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
  /** Loki read path: LogQL. */
  lokiRead: string;
  /** Loki backend: ruler. */
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

export interface ApiRoute {
  /** nginx prefix location; the longest matching prefix wins. */
  prefix: string;
  upstream: ApiUpstream;
  body: BodyClass;
  /**
   * The path the upstream serves this prefix under, when it is not the prefix itself: the
   * request goes upstream with `prefix` replaced by this, and the rest of the path and the
   * query string exactly as the client sent them (still percent-encoded).
   */
  upstreamPrefix?: string;
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

/**
 * The tenant API routes, served on both listeners. Everything else on a tenant host goes to the
 * tenant's Grafana (public listener only); Cortex and Loki admin endpoints are not reachable.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  { prefix: '/api/v1/push', upstream: 'distributor', body: 'push' },
  { prefix: '/prometheus/api/v1/rules', upstream: 'ruler', body: 'api' },
  { prefix: '/prometheus/api/v1/alerts', upstream: 'ruler', body: 'api' },
  // Cortex's rule config API as Grafana calls it for a Cortex datasource at `/prometheus`...
  { prefix: '/prometheus/rules', upstream: 'ruler', body: 'api', upstreamPrefix: '/api/v1/rules' },
  // ...and for a Mimir one (also mimirtool's default path).
  { prefix: '/prometheus/config/v1/rules', upstream: 'ruler', body: 'api', upstreamPrefix: '/api/v1/rules' },
  { prefix: '/prometheus/', upstream: 'queryFrontend', body: 'api' },
  { prefix: '/api/v1/rules', upstream: 'ruler', body: 'api' },
  { prefix: '/alertmanager', upstream: 'alertmanager', body: 'api' },
  { prefix: '/api/v1/alerts', upstream: 'alertmanager', body: 'api' },
  { prefix: '/loki/api/v1/push', upstream: 'lokiWrite', body: 'push' },
  { prefix: '/loki/api/v1/rules', upstream: 'lokiBackend', body: 'api' },
  { prefix: '/loki/', upstream: 'lokiRead', body: 'api' },
  // Loki as a Grafana Loki datasource at `/logs` sees it: queries, and the ruler's state and
  // config API under the paths Grafana uses for Loki.
  { prefix: '/logs/loki/', upstream: 'lokiRead', body: 'api', upstreamPrefix: '/loki/' },
  { prefix: '/logs/prometheus/api/v1/rules', upstream: 'lokiBackend', body: 'api', upstreamPrefix: '/prometheus/api/v1/rules' },
  { prefix: '/logs/prometheus/api/v1/alerts', upstream: 'lokiBackend', body: 'api', upstreamPrefix: '/prometheus/api/v1/alerts' },
  { prefix: '/logs/api/prom/rules', upstream: 'lokiBackend', body: 'api', upstreamPrefix: '/loki/api/v1/rules' },
];

/** Where the tenant's Grafana is: the placeholder in `GatewayUpstreams.grafana`. */
export const TENANT_PLACEHOLDER = '{tenant}';

/** The health endpoint on both listeners, answered by nginx itself. */
export const HEALTH_PATH = '/healthz';
