/**
 * The Cortex configuration file, as typed objects. One file serves every component: each
 * workload selects its module with `-target=<component>`, so the distributor, ingesters,
 * queriers and the rest always agree on rings, storage and limits.
 *
 * Only the subset Lookout sets is typed here. Cortex unmarshals its config strictly, so a
 * misspelt field stops it at start-up; every field path below was checked against Cortex's
 * own Go config structs (see `test/data/cortex-config-fields.json` for the sources).
 */
import { NON_PUBLIC_IPV4_RANGES, bucketNameProblem, checkCidrs, serviceHost, type ObjectStorage } from '@lookout/kube';
import {
  GRPC_PORT,
  GOSSIP_PORT,
  GOSSIP_SERVICE,
  HTTP_PORT,
  PATHS,
  QUERY_FRONTEND_HEADLESS_SERVICE,
  resourceName,
  serviceUrl,
} from './layout.js';
import { toYaml } from './yaml.js';

/** Every ring gossips over memberlist: no Consul or etcd to run. */
export interface KVStoreConfig {
  store: 'memberlist';
}

export interface RingKVConfig {
  kvstore: KVStoreConfig;
}

/**
 * An S3 bucket. There are deliberately no key fields: with `access_key_id` empty, Cortex's S3
 * client takes credentials from its SDK's default chain (a workload identity, or the standard
 * key variables from a Secret). Keys from Cortex's `s3` block (pkg/storage/bucket/s3/config.go).
 */
export interface S3Config {
  endpoint: string;
  region: string;
  bucket_name: string;
  /** Plain HTTP to the endpoint (S3-compatible stores on a trusted network). */
  insecure?: boolean;
  /** `path` for S3-compatible stores that do not serve virtual-hosted buckets. */
  bucket_lookup_type?: 'path';
}

/**
 * A GCS bucket. No `service_account` key: with it empty, Cortex's GCS client uses Google's
 * default credentials, which Workload Identity provides (pkg/storage/bucket/gcs/config.go).
 */
export interface GcsConfig {
  bucket_name: string;
}

export type BucketConfig = { backend: 's3'; s3: S3Config } | { backend: 'gcs'; gcs: GcsConfig };

/** The metrics store's buckets and how to reach them; S3 needs an endpoint (Cortex derives none). */
export type CortexStorage = ObjectStorage<{ blocksBucket: string; rulesBucket: string }>;

/** Per-tenant limits, both the defaults in `limits:` and the runtime `overrides:`. */
export interface LimitsConfig {
  ingestion_rate_strategy?: 'global' | 'local';
  /** Samples per second. With the `global` strategy it is shared by all distributors. */
  ingestion_rate?: number;
  ingestion_burst_size?: number;
  /** Active series across the cluster, before replication. */
  max_global_series_per_user?: number;
  /** A Prometheus duration such as `30d`. */
  compactor_blocks_retention_period?: string;
  /** The receivers firewall: no notification to RFC 1918/4193, loopback or link-local addresses. */
  alertmanager_receivers_firewall_block_private_addresses?: boolean;
  /** Further networks receivers may not reach, comma-separated (Cortex's `CIDRSliceCSV`, not a list). */
  alertmanager_receivers_firewall_block_cidr_networks?: string;
}

export interface CortexConfig {
  auth_enabled: boolean;
  server: { http_listen_port: number; grpc_listen_port: number; log_level: LogLevel };
  distributor: { shard_by_all_labels: boolean; ring: RingKVConfig };
  ingester: {
    lifecycler: {
      ring: { kvstore: KVStoreConfig; replication_factor: number };
      tokens_file_path: string;
    };
  };
  querier: { active_query_tracker_dir: string };
  frontend: { query_stats_enabled: boolean };
  frontend_worker: { frontend_address: string };
  query_range: { split_queries_by_interval: string };
  blocks_storage: BucketConfig & {
    tsdb: { dir: string };
    bucket_store: { sync_dir: string; bucket_index: { enabled: boolean } };
  };
  compactor: { data_dir: string; sharding_enabled: boolean; sharding_ring: RingKVConfig };
  store_gateway: {
    sharding_enabled: boolean;
    sharding_ring: RingKVConfig & { replication_factor: number; tokens_file_path: string };
  };
  ruler: {
    enable_api: boolean;
    enable_sharding: boolean;
    ring: RingKVConfig;
    rule_path: string;
    alertmanager_url: string;
    /** The query-frontends' gRPC address: rules are evaluated there, not on blocks read by the ruler. */
    frontend_address: string;
  };
  ruler_storage: BucketConfig;
  alertmanager: {
    external_url: string;
    data_dir: string;
    enable_api: boolean;
    sharding_enabled: boolean;
    sharding_ring: RingKVConfig & { replication_factor: number };
    fallback_config_file: string;
  };
  alertmanager_storage: BucketConfig;
  limits: LimitsConfig;
  runtime_config: { file: string; period: string };
  memberlist: { join_members: string[]; bind_port: number; abort_if_cluster_join_fails: boolean };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Writes go to three ingesters, so one ingester (or zone) can be lost without losing samples. */
export const INGESTER_REPLICATION_FACTOR = 3;

/** Limits for tenants the runtime config does not name (the gateway only admits named ones). */
export const DEFAULT_LIMITS = {
  samplesPerSecond: 10_000,
  activeSeries: 100_000,
  retentionDays: 30,
} as const;

export interface CortexConfigOptions {
  /** Namespace of the Cortex Services; it appears in every in-cluster address. */
  namespace: string;
  /**
   * The buckets: `blocksBucket` for TSDB blocks (and the bucket index), `rulesBucket` for ruler
   * rule groups and Alertmanager configs and state (disjoint prefixes).
   */
  storage: CortexStorage;
  /**
   * Where users reach the Alertmanager UI, e.g. `https://system.obs.example.com/alertmanager`.
   * Its path prefixes the Alertmanager's links, so it must end in `/alertmanager`, the path
   * Cortex serves the Alertmanager under.
   */
  alertmanagerExternalUrl: string;
  /**
   * The cluster's own networks beyond the private ranges Cortex already blocks: pod, Service and
   * node (VPC) CIDRs. No Alertmanager receiver may send to them (Cortex's receivers firewall).
   */
  clusterCidrs: readonly string[];
  /** Store-gateways that load each block; at most the number of store-gateways. Default 3. */
  storeGatewayReplicationFactor?: number;
  /** Alertmanagers that hold each tenant's state; at most the number of Alertmanagers. Default 3. */
  alertmanagerReplicationFactor?: number;
  logLevel?: LogLevel;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Region names of S3 and the stores that mimic it: `eu-west-1`, `us-east-1`, `auto`. */
const S3_REGION = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** `host` or `host:port`, no scheme: `insecure` says whether it is HTTP. */
const ENDPOINT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$/i;

function fail(argument: string, problem: string): never {
  throw new Error(`MetricsStore: ${argument} ${problem}`);
}

function checkReplicationFactor(argument: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) fail(argument, `must be a positive integer, got ${value}`);
  return value;
}

/** Checks the options a Cortex config is made from; throws an Error naming the bad argument. */
export function validateCortexConfigOptions(opts: CortexConfigOptions): void {
  if (!DNS_LABEL.test(opts.namespace)) fail('namespace', `must be a DNS label, got "${opts.namespace}"`);
  const storage = opts.storage;
  if (storage.backend === 's3') {
    if (!S3_REGION.test(storage.region)) fail('storage.region', `must be an S3 region name such as eu-west-1, got "${storage.region}"`);
    // Cortex's S3 client (Thanos objstore) refuses to start without one.
    if (storage.endpoint === undefined) fail('storage.endpoint', 'is required for s3: Cortex does not derive it from the region');
    if (!ENDPOINT.test(storage.endpoint)) fail('storage.endpoint', `must be a host or host:port without a scheme, got "${storage.endpoint}"`);
  } else if (storage.backend !== 'gcs') {
    fail('storage.backend', `must be s3 or gcs, got "${(storage as { backend: unknown }).backend}"`);
  }
  for (const argument of ['blocksBucket', 'rulesBucket'] as const) {
    const problem = bucketNameProblem(storage.backend, storage[argument]);
    if (problem) fail(`storage.${argument}`, problem);
  }
  // The compactor and store-gateways treat every top-level prefix of the blocks bucket as a
  // tenant, so the ruler's `rules/` and the Alertmanager's `alerts/` must live elsewhere.
  if (storage.blocksBucket === storage.rulesBucket) fail('storage.rulesBucket', 'must differ from blocksBucket');
  let url: URL;
  try {
    url = new URL(opts.alertmanagerExternalUrl);
  } catch {
    fail('alertmanagerExternalUrl', `must be an absolute URL, got "${opts.alertmanagerExternalUrl}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('alertmanagerExternalUrl', 'must be an http(s) URL');
  if (!url.pathname.endsWith('/alertmanager')) {
    fail('alertmanagerExternalUrl', `must end in /alertmanager (Cortex serves the Alertmanager there), got "${opts.alertmanagerExternalUrl}"`);
  }
  checkCidrs('MetricsStore: clusterCidrs', opts.clusterCidrs);
  checkReplicationFactor('storeGatewayReplicationFactor', opts.storeGatewayReplicationFactor ?? 3);
  checkReplicationFactor('alertmanagerReplicationFactor', opts.alertmanagerReplicationFactor ?? 3);
}

/** The client settings for one bucket of the store's backend. */
export function bucketConfig(storage: CortexStorage, bucket: string): BucketConfig {
  if (storage.backend === 'gcs') return { backend: 'gcs', gcs: { bucket_name: bucket } };
  return {
    backend: 's3',
    s3: {
      endpoint: storage.endpoint!,
      region: storage.region,
      bucket_name: bucket,
      ...(storage.insecure ? { insecure: true } : {}),
      ...(storage.forcePathStyle ? { bucket_lookup_type: 'path' as const } : {}),
    },
  };
}

const memberlistRing = (): RingKVConfig => ({ kvstore: { store: 'memberlist' } });

/** IPv6 addresses that are never a receiver on the internet: unspecified, loopback, unique local, link-local. */
const NON_PUBLIC_IPV6_RANGES = ['::/128', '::1/128', 'fc00::/7', 'fe80::/10'];

/**
 * Every network an Alertmanager receiver may not call: all non-public ranges, spelt out even
 * where Cortex's private-address check already covers them (it misses 0.0.0.0/8, which reaches
 * the local host, and 100.64.0.0/10, where some clusters put pods), and the cluster's own CIDRs.
 */
export function receiverBlockedCidrs(clusterCidrs: readonly string[]): string[] {
  return [...new Set([...NON_PUBLIC_IPV4_RANGES, ...NON_PUBLIC_IPV6_RANGES, ...clusterCidrs])];
}

/** The Cortex config for every workload of one metrics store. Pure: same options, same object. */
export function cortexConfig(opts: CortexConfigOptions): CortexConfig {
  validateCortexConfigOptions(opts);
  const ns = opts.namespace;
  return {
    auth_enabled: true,
    server: { http_listen_port: HTTP_PORT, grpc_listen_port: GRPC_PORT, log_level: opts.logLevel ?? 'info' },
    // Sharding by all labels spreads a tenant's series over all ingesters; the global series
    // limit is only enforced with it.
    distributor: { shard_by_all_labels: true, ring: memberlistRing() },
    ingester: {
      lifecycler: {
        ring: { kvstore: { store: 'memberlist' }, replication_factor: INGESTER_REPLICATION_FACTOR },
        // On the persistent volume: a restarted ingester takes back its own tokens, and with
        // them the series whose WAL it holds.
        tokens_file_path: `${PATHS.data}/tokens`,
      },
    },
    querier: { active_query_tracker_dir: `${PATHS.data}/active-query-tracker` },
    // Counts rejected queries by reason (cortex_rejected_queries_total: too many samples, series
    // or bytes fetched, time range, ...), which the self-monitoring dashboards chart; it also
    // logs one line of statistics per query.
    frontend: { query_stats_enabled: true },
    frontend_worker: { frontend_address: `${serviceHost(QUERY_FRONTEND_HEADLESS_SERVICE, ns)}:${GRPC_PORT}` },
    query_range: { split_queries_by_interval: '24h' },
    blocks_storage: {
      ...bucketConfig(opts.storage, opts.storage.blocksBucket),
      tsdb: { dir: `${PATHS.data}/tsdb` },
      bucket_store: { sync_dir: `${PATHS.data}/tsdb-sync`, bucket_index: { enabled: true } },
    },
    compactor: { data_dir: `${PATHS.data}/compactor`, sharding_enabled: true, sharding_ring: memberlistRing() },
    store_gateway: {
      sharding_enabled: true,
      sharding_ring: {
        ...memberlistRing(),
        replication_factor: opts.storeGatewayReplicationFactor ?? 3,
        tokens_file_path: `${PATHS.data}/tokens`,
      },
    },
    ruler: {
      enable_api: true,
      enable_sharding: true,
      ring: memberlistRing(),
      rule_path: `${PATHS.data}/rules`,
      // Cortex serves the Alertmanager under /alertmanager; the ruler appends /api/v2/alerts.
      alertmanager_url: `${serviceUrl('alertmanager', ns)}/alertmanager`,
      // Rule queries go to the query-frontends (and on to the queriers, which read blocks), so
      // the ruler needs no access to the blocks bucket.
      frontend_address: `${serviceHost(resourceName('queryFrontend'), ns)}:${GRPC_PORT}`,
    },
    ruler_storage: bucketConfig(opts.storage, opts.storage.rulesBucket),
    alertmanager: {
      external_url: opts.alertmanagerExternalUrl,
      data_dir: `${PATHS.data}/alertmanager`,
      enable_api: true,
      sharding_enabled: true,
      sharding_ring: { ...memberlistRing(), replication_factor: opts.alertmanagerReplicationFactor ?? 3 },
      fallback_config_file: PATHS.alertmanagerFallbackFile,
    },
    alertmanager_storage: bucketConfig(opts.storage, opts.storage.rulesBucket),
    limits: {
      // The limit is the tenant's, whatever the number of distributors: each enforces its share.
      ingestion_rate_strategy: 'global',
      ingestion_rate: DEFAULT_LIMITS.samplesPerSecond,
      ingestion_burst_size: 2 * DEFAULT_LIMITS.samplesPerSecond,
      max_global_series_per_user: DEFAULT_LIMITS.activeSeries,
      compactor_blocks_retention_period: `${DEFAULT_LIMITS.retentionDays}d`,
      // A tenant's Alertmanager config names its receivers' URLs: without this it could make
      // the Alertmanager call any endpoint inside the cluster (an ingester's /shutdown, Loki's
      // /flush). Tenants' runtime overrides inherit these defaults.
      alertmanager_receivers_firewall_block_private_addresses: true,
      alertmanager_receivers_firewall_block_cidr_networks: receiverBlockedCidrs(opts.clusterCidrs).join(','),
    },
    runtime_config: { file: PATHS.runtimeConfigFile, period: '10s' },
    memberlist: {
      join_members: [`${serviceHost(GOSSIP_SERVICE, ns)}:${GOSSIP_PORT}`],
      bind_port: GOSSIP_PORT,
      // The first pods of a fresh install find nobody to join; they must start anyway and be
      // joined by the next ones, instead of crash-looping until the whole ring is up.
      abort_if_cluster_join_fails: false,
    },
  };
}

export function renderCortexConfig(opts: CortexConfigOptions): string {
  return toYaml(cortexConfig(opts));
}

/**
 * The Alertmanager config of tenants that have not uploaded their own: route everything to a
 * receiver that sends nowhere. Cortex refuses to start if this file is not a valid config.
 */
export function alertmanagerFallbackConfig(): { route: { receiver: string }; receivers: Array<{ name: string }> } {
  return { route: { receiver: 'blackhole' }, receivers: [{ name: 'blackhole' }] };
}

export function renderAlertmanagerFallbackConfig(): string {
  return toYaml(alertmanagerFallbackConfig());
}
