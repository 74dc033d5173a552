/**
 * The shape of the Cortex deployment, in one place: which components run, as which kind of
 * workload, under which Service names and ports, and where their files live in the container.
 * The config generator and the Kubernetes resources both read it, so a Service name or a mount
 * path cannot drift between the Cortex config and the pod spec.
 */
import { serviceHost } from '@lookout/kube';

/** Cortex's HTTP API (and `/ready`, `/metrics`). */
export const HTTP_PORT = 8080;
/**
 * The container port's name: self-monitoring scrapes `/metrics` on the port of every platform
 * pod named `http-metrics` (the convention of @lookout/self-monitoring). Services keep calling
 * their port `http`.
 */
export const HTTP_PORT_NAME = 'http-metrics';
/** Cortex's gRPC server: ingester pushes, querier workers, ring clients. */
export const GRPC_PORT = 9095;
/** memberlist gossip, the key-value store of every ring. */
export const GOSSIP_PORT = 7946;

/**
 * The ServiceAccounts of the workloads that use a bucket, one per cloud identity, which whoever
 * owns the buckets binds to them: `blocks` (ingesters, queriers, store-gateways, compactor) uses
 * the blocks bucket only; `ruler` and `alertmanager` use the rules bucket only, so that neither
 * the ruler nor the Alertmanager (which calls URLs its tenants choose) can read or delete a
 * tenant's blocks. The distributors, query-frontends and overrides exporter touch no bucket
 * and run with no token at all.
 */
export const SERVICE_ACCOUNTS = { blocks: 'cortex', ruler: 'cortex-ruler', alertmanager: 'cortex-alertmanager' } as const;
export type CortexIdentity = keyof typeof SERVICE_ACCOUNTS;
/** The blocks identity's ServiceAccount. */
export const SERVICE_ACCOUNT = SERVICE_ACCOUNTS.blocks;
/** The Deployment/StatefulSet name prefix and the `app.kubernetes.io/name` label. */
export const APP_NAME = 'cortex';
export const CONFIG_MAP = 'cortex';
export const RUNTIME_CONFIG_MAP = 'cortex-runtime';
export const GOSSIP_SERVICE = 'cortex-gossip';
export const QUERY_FRONTEND_HEADLESS_SERVICE = 'cortex-query-frontend-headless';
/** Pod label that puts a pod behind the gossip Service (the contract with NetworkPolicies). */
export const GOSSIP_LABEL = { key: 'lookout.dev/gossip-ring', value: 'cortex' } as const;

/** Where things are in the container. `/data` and `/tmp` are the only writable paths. */
export const PATHS = {
  configDir: '/etc/cortex',
  configFile: '/etc/cortex/cortex.yaml',
  alertmanagerFallbackFile: '/etc/cortex/alertmanager-fallback.yaml',
  runtimeConfigDir: '/etc/cortex-runtime',
  runtimeConfigFile: '/etc/cortex-runtime/runtime.yaml',
  data: '/data',
  tmp: '/tmp',
} as const;

export const CONFIG_KEYS = {
  config: 'cortex.yaml',
  alertmanagerFallback: 'alertmanager-fallback.yaml',
  runtime: 'runtime.yaml',
} as const;

/** The eight workloads, keyed as in the bundle's `sizing.cortex`. */
export const CORTEX_COMPONENTS = [
  'distributor',
  'ingester',
  'querier',
  'queryFrontend',
  'storeGateway',
  'compactor',
  'ruler',
  'alertmanager',
] as const;
export type CortexComponent = (typeof CORTEX_COMPONENTS)[number];

export interface ComponentLayout {
  /** Cortex's `-target` module name, also the Kubernetes name suffix. */
  target: string;
  kind: 'Deployment' | 'StatefulSet';
  /**
   * Stateful stores whose replicas must land in different zones (when there are enough of
   * them): losing a zone then loses at most one replica of each series, block or silence.
   */
  hardZoneSpread: boolean;
  /** Seconds Kubernetes waits after SIGTERM; ingesters need long enough to cut and ship blocks. */
  terminationGracePeriodSeconds: number;
  /** The bucket identity (ServiceAccount) it runs with; none: no bucket, and no token mounted. */
  identity?: CortexIdentity;
  /** The components it calls, over gRPC and over HTTP: its egress besides DNS, gossip and its bucket. */
  calls: { grpc: readonly CortexComponent[]; http: readonly CortexComponent[] };
  /** It sends notifications to receivers outside the cluster (webhooks, chat, paging services). */
  callsReceivers?: boolean;
  /** Flags for this target only, after the shared config file (Cortex lets flags override it). */
  args?: readonly string[];
}

/**
 * How far back the ruler's own querier reads: Prometheus's rule manager restores the `for`
 * state of alerts from the last `for_outage_tolerance` (1h by default) at start-up, through the
 * ruler's local queryable. Below this age Cortex asks ingesters only (they hold the last hours),
 * so the ruler never reads the blocks bucket; rule evaluation itself goes through the
 * query-frontends (`ruler.frontend_address`).
 */
export const RULER_QUERY_STORE_AFTER = '2h';

const NONE = { grpc: [], http: [] } as const;

export const COMPONENT_LAYOUT: Record<CortexComponent, ComponentLayout> = {
  distributor: { target: 'distributor', kind: 'Deployment', hardZoneSpread: false, terminationGracePeriodSeconds: 60, calls: { grpc: ['ingester'], http: [] } },
  ingester: { target: 'ingester', kind: 'StatefulSet', hardZoneSpread: true, terminationGracePeriodSeconds: 1200, identity: 'blocks', calls: NONE },
  querier: {
    target: 'querier',
    kind: 'Deployment',
    hardZoneSpread: false,
    terminationGracePeriodSeconds: 60,
    identity: 'blocks',
    calls: { grpc: ['queryFrontend', 'ingester', 'storeGateway'], http: [] },
  },
  queryFrontend: { target: 'query-frontend', kind: 'Deployment', hardZoneSpread: false, terminationGracePeriodSeconds: 60, calls: NONE },
  storeGateway: { target: 'store-gateway', kind: 'StatefulSet', hardZoneSpread: true, terminationGracePeriodSeconds: 120, identity: 'blocks', calls: NONE },
  compactor: { target: 'compactor', kind: 'StatefulSet', hardZoneSpread: false, terminationGracePeriodSeconds: 120, identity: 'blocks', calls: NONE },
  ruler: {
    target: 'ruler',
    kind: 'Deployment',
    hardZoneSpread: false,
    terminationGracePeriodSeconds: 60,
    identity: 'ruler',
    // Queries through the query-frontends, writes recording rules to the ingesters, asks the
    // other rulers for their groups, and sends alerts to the Alertmanager.
    calls: { grpc: ['queryFrontend', 'ingester', 'ruler'], http: ['alertmanager'] },
    args: [`-querier.query-store-after=${RULER_QUERY_STORE_AFTER}`],
  },
  alertmanager: {
    target: 'alertmanager',
    kind: 'StatefulSet',
    hardZoneSpread: true,
    terminationGracePeriodSeconds: 120,
    identity: 'alertmanager',
    // Replicates its state to, and forwards requests between, the other Alertmanagers.
    calls: { grpc: ['alertmanager'], http: [] },
    callsReceivers: true,
  },
};

/**
 * The overrides exporter publishes every tenant's limits from the runtime config as
 * `cortex_overrides{limit_name, user}`, for dashboards and alerts that compare usage with
 * limits. It joins no ring, needs no storage and serves no API, so it is not one of the
 * workloads above: one replica, no Service, no PodDisruptionBudget.
 */
export const OVERRIDES_EXPORTER = {
  target: 'overrides-exporter',
  name: `${APP_NAME}-overrides-exporter`,
  /** Replicas are not sharded in Cortex: each would export every tenant's series again. */
  replicas: 1,
  terminationGracePeriodSeconds: 30,
} as const;

/** `cortex-<target>`: the workload's and its Service's name. */
export function resourceName(component: CortexComponent): string {
  return `${APP_NAME}-${COMPONENT_LAYOUT[component].target}`;
}

/** `http://cortex-<target>.<ns>.svc.cluster.local:8080`, the in-cluster base URL of a component. */
export function serviceUrl(component: CortexComponent, namespace: string): string {
  return `http://${serviceHost(resourceName(component), namespace)}:${HTTP_PORT}`;
}
