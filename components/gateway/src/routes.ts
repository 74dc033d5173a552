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
}

/**
 * The tenant API routes, served on both listeners. Everything else on a tenant host goes to the
 * tenant's Grafana (public listener only); Cortex and Loki admin endpoints are not reachable.
 */
export const API_ROUTES: readonly ApiRoute[] = [
  { prefix: '/api/v1/push', upstream: 'distributor', body: 'push' },
  { prefix: '/prometheus/api/v1/rules', upstream: 'ruler', body: 'api' },
  { prefix: '/prometheus/api/v1/alerts', upstream: 'ruler', body: 'api' },
  { prefix: '/prometheus/', upstream: 'queryFrontend', body: 'api' },
  { prefix: '/api/v1/rules', upstream: 'ruler', body: 'api' },
  { prefix: '/alertmanager', upstream: 'alertmanager', body: 'api' },
  { prefix: '/api/v1/alerts', upstream: 'alertmanager', body: 'api' },
  { prefix: '/loki/api/v1/push', upstream: 'lokiWrite', body: 'push' },
  { prefix: '/loki/api/v1/rules', upstream: 'lokiBackend', body: 'api' },
  { prefix: '/loki/', upstream: 'lokiRead', body: 'api' },
];

/** Where the tenant's Grafana is: the placeholder in `GatewayUpstreams.grafana`. */
export const TENANT_PLACEHOLDER = '{tenant}';

/** The health endpoint on both listeners, answered by nginx itself. */
export const HEALTH_PATH = '/healthz';
