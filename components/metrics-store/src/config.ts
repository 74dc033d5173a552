/**
 * The Cortex configuration file, as typed objects. One file serves every component: each
 * workload selects its module with `-target=<component>`, so the distributor, ingesters,
 * queriers and the rest always agree on rings, storage and limits.
 *
 * Only the subset Lookout sets is typed here. Cortex unmarshals its config strictly, so a
 * misspelt field stops it at start-up; every field path below was checked against Cortex's
 * own Go config structs (see `test/data/cortex-config-fields.json` for the sources).
 */
import { serviceHost } from '@lookout/kube';
import {
  GRPC_PORT,
  GOSSIP_PORT,
  GOSSIP_SERVICE,
  HTTP_PORT,
  PATHS,
  QUERY_FRONTEND_HEADLESS_SERVICE,
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
 * client takes credentials from the AWS SDK's default chain (EKS Pod Identity, IRSA, ...).
 */
export interface S3Config {
  endpoint: string;
  region: string;
  bucket_name: string;
}

export interface BucketConfig {
  backend: 's3';
  s3: S3Config;
}

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
  /** AWS region of the buckets, e.g. `eu-west-1`. */
  region: string;
  /** Bucket for TSDB blocks (and the bucket index). */
  blocksBucket: string;
  /** Bucket for ruler rule groups and Alertmanager configs and state (disjoint prefixes). */
  rulesBucket: string;
  /**
   * Where users reach the Alertmanager UI, e.g. `https://system.obs.example.com/alertmanager`.
   * Its path prefixes the Alertmanager's links, so it must end in `/alertmanager`, the path
   * Cortex serves the Alertmanager under.
   */
  alertmanagerExternalUrl: string;
  /** Store-gateways that load each block; at most the number of store-gateways. Default 3. */
  storeGatewayReplicationFactor?: number;
  /** Alertmanagers that hold each tenant's state; at most the number of Alertmanagers. Default 3. */
  alertmanagerReplicationFactor?: number;
  logLevel?: LogLevel;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

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
  if (!AWS_REGION.test(opts.region)) fail('region', `must be an AWS region such as eu-west-1, got "${opts.region}"`);
  for (const [argument, bucket] of [
    ['blocksBucket', opts.blocksBucket],
    ['rulesBucket', opts.rulesBucket],
  ] as const) {
    if (!S3_BUCKET.test(bucket) || bucket.includes('..')) fail(argument, `must be an S3 bucket name, got "${bucket}"`);
  }
  // The compactor and store-gateways treat every top-level prefix of the blocks bucket as a
  // tenant, so the ruler's `rules/` and the Alertmanager's `alerts/` must live elsewhere.
  if (opts.blocksBucket === opts.rulesBucket) fail('rulesBucket', 'must differ from blocksBucket');
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
  checkReplicationFactor('storeGatewayReplicationFactor', opts.storeGatewayReplicationFactor ?? 3);
  checkReplicationFactor('alertmanagerReplicationFactor', opts.alertmanagerReplicationFactor ?? 3);
}

/** The S3 client settings for one bucket in the instance's region. */
export function s3Bucket(region: string, bucket: string): BucketConfig {
  return { backend: 's3', s3: { endpoint: `s3.${region}.amazonaws.com`, region, bucket_name: bucket } };
}

const memberlistRing = (): RingKVConfig => ({ kvstore: { store: 'memberlist' } });

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
    frontend_worker: { frontend_address: `${serviceHost(QUERY_FRONTEND_HEADLESS_SERVICE, ns)}:${GRPC_PORT}` },
    query_range: { split_queries_by_interval: '24h' },
    blocks_storage: {
      ...s3Bucket(opts.region, opts.blocksBucket),
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
    },
    ruler_storage: s3Bucket(opts.region, opts.rulesBucket),
    alertmanager: {
      external_url: opts.alertmanagerExternalUrl,
      data_dir: `${PATHS.data}/alertmanager`,
      enable_api: true,
      sharding_enabled: true,
      sharding_ring: { ...memberlistRing(), replication_factor: opts.alertmanagerReplicationFactor ?? 3 },
      fallback_config_file: PATHS.alertmanagerFallbackFile,
    },
    alertmanager_storage: s3Bucket(opts.region, opts.rulesBucket),
    limits: {
      // The limit is the tenant's, whatever the number of distributors: each enforces its share.
      ingestion_rate_strategy: 'global',
      ingestion_rate: DEFAULT_LIMITS.samplesPerSecond,
      ingestion_burst_size: 2 * DEFAULT_LIMITS.samplesPerSecond,
      max_global_series_per_user: DEFAULT_LIMITS.activeSeries,
      compactor_blocks_retention_period: `${DEFAULT_LIMITS.retentionDays}d`,
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
