/**
 * The Loki 3 configuration of the simple scalable deployment, generated from typed objects.
 * One file serves the three targets (`-target=write|read|backend`); per-tenant limits live in
 * a separate runtime-config file that Loki reloads without a restart.
 *
 * Only the fields Lookout sets are typed here. Loki refuses unknown fields at start-up, so each
 * name follows the Loki 3.x configuration reference (`docs/sources/shared/configuration.md`).
 */
import YAML from 'yaml';
import { serviceHost, type ObjectStorage } from '@lookout/kube';

export const HTTP_PORT = 3100;
export const GRPC_PORT = 9095;
export const GOSSIP_PORT = 7946;

/** Where the pods mount their files; the data directory is a PVC (write, backend) or an emptyDir (read). */
export const CONFIG_DIR = '/etc/loki/config';
export const CONFIG_FILE = 'config.yaml';
export const RUNTIME_CONFIG_DIR = '/etc/loki/runtime-config';
export const RUNTIME_CONFIG_FILE = 'runtime-config.yaml';
export const DATA_DIR = '/var/loki';

/** Service names: the contract with the gateway, the collector and the tenants' Grafana. */
export const SERVICE_NAMES = {
  write: 'loki-write',
  read: 'loki-read',
  backend: 'loki-backend',
  /** Every backend pod's IP: index-gateway clients balance over them (`dns+` discovery). */
  backendHeadless: 'loki-backend-headless',
  gossip: 'loki-gossip',
} as const;

/**
 * Object key layout in the logs bucket. Loki's ruler store always writes `rules/<tenant>/...`
 * at the bucket root and cannot be prefixed, while chunks are keyed `<tenant>/...`. Chunks,
 * index and delete requests therefore go under `data/`, so no tenant's chunks share a prefix
 * with the ruler. Inside `data/`, the index and delete requests use a prefix with an underscore,
 * which no tenant name (a DNS label) can spell. Changing any of these orphans existing data.
 */
export const OBJECT_KEY_LAYOUT = {
  /** `storage_config.object_prefix`: chunks (`data/<tenant>/...`), index, delete requests, cluster seed. */
  objectPrefix: 'data/',
  /** `period_config.index.path_prefix` and `compactor.delete_request_store_key_prefix`, under `objectPrefix`. */
  indexPrefix: 'tsdb_index/',
  /** Fixed by Loki's ruler store (`rules/<tenant>/<namespace>/<group>`), at the bucket root. */
  rulerPrefix: 'rules/',
} as const;

/**
 * Tenant IDs the renderer accepts: DNS labels, which is what keeps the key layout collision-free,
 * optionally with `.<generation>` for a re-created tenant (a `.` is never in a label).
 */
export const TENANT_ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[1-9][0-9]{0,8})?$/;

/**
 * The schema periods, oldest first. Loki picks the schema for a day by these `from` dates, so
 * an existing entry must never change: moving `from` makes Loki read data written before the
 * new date with no (or the wrong) schema, and it becomes unreadable. A schema change appends a
 * new entry with a `from` date in the future and keeps the old ones. 2026-01-01 predates the
 * first bundle (2026.11.0), so every instance's data, including logs backfilled within
 * `reject_old_samples_max_age`, falls after it. Each period's `object_store` is the instance's
 * backend, which never changes for an instance.
 */
export const SCHEMA_PERIODS: readonly Omit<LokiPeriodConfig, 'object_store'>[] = [
  {
    from: '2026-01-01',
    store: 'tsdb',
    schema: 'v13',
    index: { prefix: 'index_', period: '24h', path_prefix: OBJECT_KEY_LAYOUT.indexPrefix },
  },
];

// ---------------------------------------------------------------------------------------------
// The subset of Loki's configuration that Lookout sets.

export interface LokiServerConfig {
  http_listen_port: number;
  grpc_listen_port: number;
  http_server_read_timeout: string;
  http_server_write_timeout: string;
  log_level: 'debug' | 'info' | 'warn' | 'error';
}

/** Keys of Loki's `s3_storage_config` (its S3 client's config struct, v3.7.5). No keys: see lokiConfig. */
export interface LokiS3StorageConfig {
  bucketnames: string;
  /** `host[:port]` of an S3-compatible store; absent when the S3 client derives it from the region. */
  endpoint?: string;
  region: string;
  s3forcepathstyle: boolean;
  /** Plain HTTP to the endpoint. */
  insecure?: boolean;
}

/** Keys of Loki's `gcs_storage_config` (its GCS client's config struct, v3.7.5). */
export interface LokiGcsStorageConfig {
  bucket_name: string;
}

/** Loki's name of each object store backend, in schema periods, the ruler and the compactor. */
export type LokiObjectStore = 's3' | 'gcs';

/**
 * Keys of the Thanos objstore S3 client (`pkg/storage/bucket/s3`, v3.7.6), which Loki uses for
 * every object once `storage_config.use_thanos_objstore` is true.
 */
export interface LokiObjstoreS3Config {
  bucket_name: string;
  endpoint: string;
  region: string;
  bucket_lookup_type: 'auto' | 'path';
  insecure?: boolean;
}

/** `storage_config.object_store` / `ruler_storage`: one backend of the Thanos objstore clients. */
export type LokiObjstoreBackend = { s3: LokiObjstoreS3Config } | { gcs: LokiGcsStorageConfig };

/**
 * Where Loki keeps rule groups, and with it which object-store clients Loki uses:
 * - `ruler.storage` (deprecated in 3.7): Loki's own clients for every object, rules at `rules/`.
 * - `ruler_storage`: Loki only reads this block when `storage_config.use_thanos_objstore` is
 *   true, and that switch moves every object (chunks, index, delete requests) to the Thanos
 *   clients, which ignore `storage_config.object_prefix`. So the chunk prefix becomes the
 *   objstore's `storage_prefix` and every key stays where it was: chunks and index under
 *   `data/`, rules under `rules/<tenant>/<base64url namespace>/<base64url group>` at the bucket
 *   root, the same key layout and encoding as the old store (Loki v3.7.6,
 *   pkg/ruler/rulestore/{objectclient,bucketclient}).
 */
export type LokiRuleStorage = 'ruler.storage' | 'ruler_storage';

export interface LokiRingConfig {
  kvstore: { store: 'memberlist' };
}

export interface LokiCommonConfig {
  path_prefix: string;
  replication_factor: number;
  ring: LokiRingConfig;
  /** Absent with `ruler_storage`: the objstore config lives in `storage_config.object_store`. */
  storage?: { s3: LokiS3StorageConfig } | { gcs: LokiGcsStorageConfig };
  compactor_address: string;
}

export interface LokiMemberlistConfig {
  join_members: string[];
  bind_port: number;
  cluster_label: string;
}

export interface LokiPeriodConfig {
  from: string;
  store: 'tsdb';
  object_store: LokiObjectStore;
  schema: 'v13';
  index: { prefix: string; period: string; path_prefix: string };
}

export interface LokiStorageConfig {
  /** With Loki's own clients (`ruler.storage`). */
  object_prefix?: string;
  /** With `ruler_storage`: the Thanos clients, and the chunk prefix as their `storage_prefix`. */
  use_thanos_objstore?: true;
  object_store?: LokiObjstoreBackend & { storage_prefix: string };
  tsdb_shipper: {
    active_index_directory: string;
    cache_location: string;
    index_gateway_client: { server_address: string };
  };
}

export interface LokiIngesterConfig {
  wal: { enabled: boolean; dir: string; flush_on_shutdown: boolean };
}

export interface LokiCompactorConfig {
  working_directory: string;
  compaction_interval: string;
  retention_enabled: boolean;
  retention_delete_delay: string;
  delete_request_store: LokiObjectStore;
  delete_request_store_key_prefix: string;
}

/** Limits that can also be overridden per tenant in the runtime config. */
export interface LokiTenantOverrides {
  ingestion_rate_mb: number;
  ingestion_burst_size_mb: number;
  retention_period: string;
}

export interface LokiLimitsConfig extends LokiTenantOverrides {
  max_global_streams_per_user: number;
  allow_structured_metadata: boolean;
  volume_enabled: boolean;
  reject_old_samples: boolean;
  reject_old_samples_max_age: string;
  max_cache_freshness_per_query: string;
  split_queries_by_interval: string;
  query_timeout: string;
}

export interface LokiRulerConfig {
  /** Absent with `ruler_storage`. */
  storage?: { type: 's3'; s3: LokiS3StorageConfig } | { type: 'gcs'; gcs: LokiGcsStorageConfig };
  rule_path: string;
  wal: { dir: string };
  alertmanager_url: string;
  enable_alertmanager_v2: boolean;
  enable_api: boolean;
  enable_sharding: boolean;
}

export interface LokiConfig {
  auth_enabled: boolean;
  server: LokiServerConfig;
  common: LokiCommonConfig;
  memberlist: LokiMemberlistConfig;
  schema_config: { configs: LokiPeriodConfig[] };
  storage_config: LokiStorageConfig;
  ingester: LokiIngesterConfig;
  compactor: LokiCompactorConfig;
  limits_config: LokiLimitsConfig;
  ruler: LokiRulerConfig;
  /** The rule store when the Thanos clients are on; no prefix, so rules stay at `rules/`. */
  ruler_storage?: LokiObjstoreBackend & { backend: LokiObjectStore };
  index_gateway: { mode: 'simple' };
  query_scheduler: { use_scheduler_ring: boolean };
  query_range: { align_queries_with_step: boolean };
  runtime_config: { file: string; period: string };
  analytics: { reporting_enabled: boolean };
}

/** Runtime config: per-tenant overrides keyed by tenant ID (`X-Scope-OrgID`). */
export interface LokiRuntimeConfig {
  overrides: Record<string, LokiTenantOverrides>;
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/** Defaults for tenants without an override (limits_config). */
export interface LokiDefaultLimits {
  ingestionRateMB: number;
  ingestionBurstMB: number;
  retentionDays: number;
  maxGlobalStreamsPerUser: number;
}

export const DEFAULT_LIMITS: LokiDefaultLimits = {
  ingestionRateMB: 4,
  ingestionBurstMB: 6,
  retentionDays: 14,
  maxGlobalStreamsPerUser: 5000,
};

export interface LokiConfigOptions {
  /** Namespace of the Loki services (DNS names in the config depend on it). */
  namespace: string;
  /** The logs bucket and how to reach it; credentials never come from this config. */
  storage: LokiStorage;
  /** Alertmanager base URL for the ruler; Loki appends `/api/v2/alerts`. Default: the Cortex Alertmanager. */
  alertmanagerUrl?: string;
  /** Write replicas holding each stream; 3 tolerates the loss of one write pod (or zone). */
  replicationFactor?: number;
  limits?: Partial<LokiDefaultLimits>;
  /** Where rule groups live (see LokiRuleStorage). Default `ruler.storage`, as before. */
  ruleStorage?: LokiRuleStorage;
}

/** Per-tenant log limits rendered into the runtime config. */
export interface LogTenantLimits {
  /** Tenant ID, as the gateway sets it in `X-Scope-OrgID`. */
  name: string;
  /** Ingestion rate limit in MB per second. */
  ingestionRateMB: number;
  /** Burst in MB; default 1.5 × the rate. */
  ingestionBurstMB?: number;
  /** Retention in whole days (at least 1: Loki's minimum retention is 24h). */
  retentionDays: number;
}

/** The log store's bucket and how to reach it. */
export type LokiStorage = ObjectStorage<{ bucket: string }> & LokiDefaultEndpoint;

/**
 * Where an S3 client that cannot derive the endpoint from the region connects when the
 * connection gives no `endpoint`: Loki's own client (`ruler.storage` layout) derives it, the
 * Thanos client (`ruler_storage` layout) needs it. Only the `ruler_storage` layout reads it, so
 * it does not change the config of the other layout.
 */
export interface LokiDefaultEndpoint {
  defaultEndpoint?: string;
}

export function defaultAlertmanagerUrl(namespace: string): string {
  return `http://${serviceHost('cortex-alertmanager', namespace)}:8080/alertmanager`;
}

const BURST_FACTOR = 1.5;

/** Avoids float noise (0.1 × 1.5 = 0.15000000000000002) in rendered limits. */
function roundMB(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function retentionPeriod(days: number): string {
  return `${days * 24}h`;
}

function checkPositive(what: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`LogStore: ${what} must be a positive number, found ${value}`);
}

function checkRetentionDays(what: string, days: number): void {
  if (!Number.isInteger(days) || days < 1) throw new Error(`LogStore: ${what} must be a whole number of days, at least 1, found ${days}`);
}

function resolvedLimits(overrides: Partial<LokiDefaultLimits> = {}): LokiDefaultLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  checkPositive('default ingestion rate', limits.ingestionRateMB);
  checkPositive('default ingestion burst', limits.ingestionBurstMB);
  checkRetentionDays('default retention', limits.retentionDays);
  if (!Number.isInteger(limits.maxGlobalStreamsPerUser) || limits.maxGlobalStreamsPerUser < 1) {
    throw new Error(`LogStore: maxGlobalStreamsPerUser must be a positive integer, found ${limits.maxGlobalStreamsPerUser}`);
  }
  return limits;
}

// ---------------------------------------------------------------------------------------------
// Generators.

/** The Loki configuration shared by the write, read and backend targets. */
export function lokiConfig(opts: LokiConfigOptions): LokiConfig {
  const { namespace } = opts;
  const { storage } = opts;
  if (storage.backend !== 's3' && storage.backend !== 'gcs') {
    throw new Error(`LogStore: storage.backend must be s3 or gcs, found "${(storage as { backend: unknown }).backend}"`);
  }
  if (!storage.bucket) throw new Error('LogStore: storage.bucket must not be empty');
  if (storage.backend === 's3' && !storage.region) throw new Error('LogStore: storage.region must not be empty');
  const replicationFactor = opts.replicationFactor ?? 3;
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new Error(`LogStore: replicationFactor must be a positive integer, found ${replicationFactor}`);
  }
  const limits = resolvedLimits(opts.limits);
  const bucket = bucketStorage(storage);
  const objstore = (opts.ruleStorage ?? 'ruler.storage') === 'ruler_storage';
  const backendHttp = `http://${serviceHost(SERVICE_NAMES.backend, namespace)}:${HTTP_PORT}`;

  return {
    // The gateway sets X-Scope-OrgID from the bearer token; Loki must never fall back to `fake`.
    auth_enabled: true,
    server: {
      http_listen_port: HTTP_PORT,
      grpc_listen_port: GRPC_PORT,
      // Long log queries outlive the 30s defaults; the query timeout below is the real bound.
      http_server_read_timeout: '600s',
      http_server_write_timeout: '600s',
      log_level: 'info',
    },
    common: {
      path_prefix: DATA_DIR,
      replication_factor: replicationFactor,
      ring: { kvstore: { store: 'memberlist' } },
      // No keys: with none here, the S3 client's default credential chain finds the pod's
      // identity (or the standard key variables from a Secret) on its own, and the GCS
      // client Google's default credentials (Workload Identity).
      ...(objstore ? {} : { storage: bucket.storage }),
      // Queriers fetch delete requests from the compactor, which runs in the backend target.
      compactor_address: backendHttp,
    },
    memberlist: {
      join_members: [`${serviceHost(SERVICE_NAMES.gossip, namespace)}:${GOSSIP_PORT}`],
      bind_port: GOSSIP_PORT,
      // Messages from another ring (Cortex gossips on the same port) are dropped, not merged.
      cluster_label: 'lookout-loki',
    },
    schema_config: {
      configs: SCHEMA_PERIODS.map((p) => ({ from: p.from, store: p.store, object_store: storage.backend, schema: p.schema, index: { ...p.index } })),
    },
    storage_config: {
      ...(objstore
        ? {
            use_thanos_objstore: true as const,
            // The same `data/` prefix, spelled as the objstore wants it (letters, digits, dashes).
            object_store: { ...objstoreBackend(storage), storage_prefix: OBJECT_KEY_LAYOUT.objectPrefix.replace(/\/$/, '') },
          }
        : { object_prefix: OBJECT_KEY_LAYOUT.objectPrefix }),
      tsdb_shipper: {
        active_index_directory: `${DATA_DIR}/tsdb-index`,
        cache_location: `${DATA_DIR}/tsdb-cache`,
        // Simple scalable mode: the index gateway runs in every backend pod.
        index_gateway_client: {
          server_address: `dns+${serviceHost(SERVICE_NAMES.backendHeadless, namespace)}:${GRPC_PORT}`,
        },
      },
    },
    ingester: {
      // The WAL lives on the write pods' PVC, so acknowledged logs survive a crash; a graceful
      // shutdown (scale-down, node drain) also flushes chunks to the bucket.
      wal: { enabled: true, dir: `${DATA_DIR}/wal`, flush_on_shutdown: true },
    },
    compactor: {
      working_directory: `${DATA_DIR}/compactor`,
      compaction_interval: '10m',
      retention_enabled: true,
      retention_delete_delay: '2h',
      delete_request_store: storage.backend,
      delete_request_store_key_prefix: OBJECT_KEY_LAYOUT.indexPrefix,
    },
    limits_config: {
      ingestion_rate_mb: limits.ingestionRateMB,
      ingestion_burst_size_mb: limits.ingestionBurstMB,
      retention_period: retentionPeriod(limits.retentionDays),
      max_global_streams_per_user: limits.maxGlobalStreamsPerUser,
      allow_structured_metadata: true,
      volume_enabled: true,
      reject_old_samples: true,
      reject_old_samples_max_age: '168h',
      max_cache_freshness_per_query: '10m',
      split_queries_by_interval: '15m',
      query_timeout: '300s',
    },
    ruler: {
      ...(objstore ? {} : { storage: bucket.ruler }),
      rule_path: `${DATA_DIR}/rules-temp`,
      wal: { dir: `${DATA_DIR}/ruler-wal` },
      alertmanager_url: opts.alertmanagerUrl ?? defaultAlertmanagerUrl(namespace),
      enable_alertmanager_v2: true,
      enable_api: true,
      // Each rule group is evaluated by one backend pod, not by all of them.
      enable_sharding: true,
    },
    ...(objstore ? { ruler_storage: { backend: storage.backend, ...objstoreBackend(storage) } } : {}),
    index_gateway: { mode: 'simple' },
    // Read pods (query-frontend, queriers) find the backend's query-schedulers through the
    // scheduler ring on memberlist, so no scheduler address or discovery Service is needed.
    query_scheduler: { use_scheduler_ring: true },
    query_range: { align_queries_with_step: true },
    runtime_config: { file: `${RUNTIME_CONFIG_DIR}/${RUNTIME_CONFIG_FILE}`, period: '10s' },
    // Lookout runs in its users' accounts: no usage reports to a third party.
    analytics: { reporting_enabled: false },
  };
}

/** The bucket's section in `common.storage` and in `ruler.storage`, for the store's backend. */
function bucketStorage(storage: LokiStorage): { storage: LokiCommonConfig['storage']; ruler: LokiRulerConfig['storage'] } {
  if (storage.backend === 'gcs') {
    const gcs = (): LokiGcsStorageConfig => ({ bucket_name: storage.bucket });
    return { storage: { gcs: gcs() }, ruler: { type: 'gcs', gcs: gcs() } };
  }
  const s3 = (): LokiS3StorageConfig => ({
    bucketnames: storage.bucket,
    ...(storage.endpoint ? { endpoint: storage.endpoint } : {}),
    region: storage.region,
    s3forcepathstyle: storage.forcePathStyle ?? false,
    ...(storage.insecure ? { insecure: true } : {}),
  });
  return { storage: { s3: s3() }, ruler: { type: 's3', s3: s3() } };
}

/**
 * The bucket for the Thanos objstore clients. They need an S3 endpoint (Loki's own client
 * derived it from the region; see LokiDefaultEndpoint), and take the path style as a lookup type.
 */
function objstoreBackend(storage: LokiStorage): LokiObjstoreBackend {
  if (storage.backend === 'gcs') return { gcs: { bucket_name: storage.bucket } };
  const endpoint = storage.endpoint ?? storage.defaultEndpoint;
  if (!endpoint) throw new Error('LogStore: storage.endpoint or storage.defaultEndpoint must be set with ruleStorage ruler_storage: the Thanos S3 client does not derive it from the region');
  return {
    s3: {
      bucket_name: storage.bucket,
      endpoint,
      region: storage.region,
      bucket_lookup_type: storage.forcePathStyle ? 'path' : 'auto',
      ...(storage.insecure ? { insecure: true } : {}),
    },
  };
}

/** Per-tenant overrides; tenants are sorted so the file depends only on their set. */
export function lokiRuntimeConfig(tenants: readonly LogTenantLimits[]): LokiRuntimeConfig {
  const seen = new Set<string>();
  const overrides: Record<string, LokiTenantOverrides> = {};
  for (const tenant of [...tenants].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (!TENANT_ID_PATTERN.test(tenant.name)) {
      throw new Error(`LogStore: tenant "${tenant.name}" is not a DNS label (lowercase letters, digits, inner hyphens), optionally with .<generation>`);
    }
    if (seen.has(tenant.name)) throw new Error(`LogStore: tenant "${tenant.name}" is listed twice`);
    seen.add(tenant.name);
    checkPositive(`tenant "${tenant.name}" ingestion rate`, tenant.ingestionRateMB);
    const burst = tenant.ingestionBurstMB ?? tenant.ingestionRateMB * BURST_FACTOR;
    checkPositive(`tenant "${tenant.name}" ingestion burst`, burst);
    if (burst < tenant.ingestionRateMB) {
      throw new Error(`LogStore: tenant "${tenant.name}" burst (${burst} MB) is below its rate (${tenant.ingestionRateMB} MB/s)`);
    }
    checkRetentionDays(`tenant "${tenant.name}" retention`, tenant.retentionDays);
    overrides[tenant.name] = {
      ingestion_rate_mb: roundMB(tenant.ingestionRateMB),
      ingestion_burst_size_mb: roundMB(burst),
      retention_period: retentionPeriod(tenant.retentionDays),
    };
  }
  return { overrides };
}

const YAML_OPTIONS = { lineWidth: 0 } as const;

export function renderLokiConfig(opts: LokiConfigOptions): string {
  return YAML.stringify(lokiConfig(opts), YAML_OPTIONS);
}

export function renderLokiRuntimeConfig(tenants: readonly LogTenantLimits[]): string {
  return YAML.stringify(lokiRuntimeConfig(tenants), YAML_OPTIONS);
}
