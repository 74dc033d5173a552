import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  OBJECT_KEY_LAYOUT,
  RUNTIME_CONFIG_DIR,
  RUNTIME_CONFIG_FILE,
  SCHEMA_PERIODS,
  TENANT_ID_PATTERN,
  lokiConfig,
  lokiRuntimeConfig,
  renderLokiConfig,
  renderLokiRuntimeConfig,
  type LokiConfigOptions,
} from '../src/config.js';
import { S3_COMPATIBLE_CONNECTION } from '../../../test/support/object-storage.js';

const BUCKET = 'lookout-prod-logs-1a2b3c4d';
const OPTS: LokiConfigOptions = { namespace: 'lookout', storage: { backend: 's3', region: 'eu-west-1', bucket: BUCKET } };

/** An S3-compatible store on the cluster's network, with keys from a Secret (which never reach the config). */
const S3_COMPATIBLE: LokiConfigOptions['storage'] = { ...S3_COMPATIBLE_CONNECTION, bucket: 'lookout-logs' };

/** Every key anywhere in a parsed YAML document, as dotted paths. */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, `${prefix}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [`${prefix}${k}`, ...keyPaths(v, `${prefix}${k}.`)]);
  }
  return [];
}

describe('lokiConfig', () => {
  const config = lokiConfig(OPTS);

  it('requires a tenant on every request and replicates each stream to three write pods', () => {
    expect(config.auth_enabled).toBe(true);
    expect(config.common.replication_factor).toBe(3);
    expect(lokiConfig({ ...OPTS, replicationFactor: 1 }).common.replication_factor).toBe(1);
    expect(config.server).toMatchObject({ http_listen_port: 3100, grpc_listen_port: 9095 });
  });

  it('keeps every ring on memberlist, seeded by the headless gossip Service of its namespace', () => {
    expect(config.common.ring.kvstore.store).toBe('memberlist');
    expect(config.memberlist.join_members).toEqual(['loki-gossip.lookout.svc.cluster.local:7946']);
    expect(lokiConfig({ ...OPTS, namespace: 'obs' }).memberlist.join_members).toEqual(['loki-gossip.obs.svc.cluster.local:7946']);
    // No ring is configured away from memberlist anywhere else (e.g. a consul/etcd store).
    const stores = keyPaths(config).filter((p) => p.endsWith('kvstore.store'));
    expect(stores).toEqual(['common.ring.kvstore.store']);
  });

  it('uses S3 for chunks, index, rules and delete requests, with no credentials in the config', () => {
    expect(config.common.storage).toEqual({ s3: { bucketnames: BUCKET, region: 'eu-west-1', s3forcepathstyle: false } });
    expect(config.ruler.storage).toEqual({ type: 's3', s3: { bucketnames: BUCKET, region: 'eu-west-1', s3forcepathstyle: false } });
    expect(config.compactor.delete_request_store).toBe('s3');
    const rendered = renderLokiConfig(OPTS);
    for (const forbidden of ['access_key_id', 'secret_access_key', 'session_token', 'AKIA']) expect(rendered).not.toContain(forbidden);
    // The `s3:` URL form can carry keys (s3://key:secret@region/bucket); it is never used.
    const s3Blocks = [config.common.storage, config.ruler.storage].map((s) => (s as unknown as { s3: Record<string, unknown> }).s3);
    for (const block of s3Blocks) expect(Object.keys(block).sort()).toEqual(['bucketnames', 'region', 's3forcepathstyle']);
  });

  it('reaches an S3-compatible store by its endpoint, path-style and over plain HTTP, still without keys', () => {
    const compatible = lokiConfig({ ...OPTS, storage: S3_COMPATIBLE });
    const s3 = {
      bucketnames: 'lookout-logs',
      endpoint: 'minio.storage.svc.cluster.local:9000',
      region: 'us-east-1',
      s3forcepathstyle: true,
      insecure: true,
    };
    expect(compatible.common.storage).toEqual({ s3 });
    expect(compatible.ruler.storage).toEqual({ type: 's3', s3 });
    expect(compatible.schema_config.configs[0]!.object_store).toBe('s3');
    const rendered = renderLokiConfig({ ...OPTS, storage: S3_COMPATIBLE });
    for (const forbidden of ['access_key_id', 'secret_access_key', 'object-storage']) expect(rendered).not.toContain(forbidden);
    // Separate objects, so the YAML has no anchors or aliases Loki would have to resolve.
    expect(rendered).not.toMatch(/[&*]a\d/);
  });

  it('uses GCS for chunks, index, rules and delete requests with Google default credentials', () => {
    const gcs = lokiConfig({ ...OPTS, storage: { backend: 'gcs', bucket: 'lookout-prod-logs' } });
    expect(gcs.common.storage).toEqual({ gcs: { bucket_name: 'lookout-prod-logs' } });
    expect(gcs.ruler.storage).toEqual({ type: 'gcs', gcs: { bucket_name: 'lookout-prod-logs' } });
    expect(gcs.schema_config.configs.map((p) => p.object_store)).toEqual(['gcs']);
    expect(gcs.compactor.delete_request_store).toBe('gcs');
    // Everything but the storage sections is the same as on S3.
    const rest = (c: typeof gcs) => ({ ...c, common: { ...c.common, storage: null }, ruler: { ...c.ruler, storage: null }, schema_config: null, compactor: { ...c.compactor, delete_request_store: null } });
    expect(rest(gcs)).toEqual(rest(config));
    expect(renderLokiConfig({ ...OPTS, storage: { backend: 'gcs', bucket: 'lookout-prod-logs' } })).not.toContain('service_account');
  });

  it('indexes with TSDB on schema v13 from a fixed past date, one day per table', () => {
    expect(config.schema_config.configs).toEqual([
      {
        from: '2026-01-01',
        store: 'tsdb',
        object_store: 's3',
        schema: 'v13',
        index: { prefix: 'index_', period: '24h', path_prefix: OBJECT_KEY_LAYOUT.indexPrefix },
      },
    ]);
    // The date is a constant, not today's date: re-rendering later must not move it.
    expect(SCHEMA_PERIODS[0]!.from).toBe('2026-01-01');
    expect(new Date(`${SCHEMA_PERIODS[0]!.from}T00:00:00Z`).getTime()).toBeLessThan(Date.UTC(2026, 10, 21));
  });

  it('enables retention on the compactor, which keeps its state on the backend volume', () => {
    expect(config.compactor).toMatchObject({
      retention_enabled: true,
      delete_request_store: 's3',
      delete_request_store_key_prefix: OBJECT_KEY_LAYOUT.indexPrefix,
      working_directory: '/var/loki/compactor',
    });
    expect(config.limits_config.retention_period).toBe('336h');
    expect(lokiConfig({ ...OPTS, limits: { retentionDays: 30 } }).limits_config.retention_period).toBe('720h');
  });

  it('sets the default limits, structured metadata and the volume API', () => {
    expect(config.limits_config).toMatchObject({
      ingestion_rate_mb: 4,
      ingestion_burst_size_mb: 6,
      max_global_streams_per_user: 5000,
      allow_structured_metadata: true,
      volume_enabled: true,
    });
    expect(() => lokiConfig({ ...OPTS, limits: { retentionDays: 0 } })).toThrow(/retention/);
    expect(() => lokiConfig({ ...OPTS, limits: { ingestionRateMB: -1 } })).toThrow(/ingestion rate/);
  });

  it('keeps every writable path under the data volume (the root filesystem is read-only)', () => {
    const paths = [
      config.common.path_prefix,
      config.storage_config.tsdb_shipper.active_index_directory,
      config.storage_config.tsdb_shipper.cache_location,
      config.ingester.wal.dir,
      config.compactor.working_directory,
      config.ruler.rule_path,
      config.ruler.wal.dir,
    ];
    for (const p of paths) expect(p.startsWith('/var/loki')).toBe(true);
    expect(config.ingester.wal).toEqual({ enabled: true, dir: '/var/loki/wal', flush_on_shutdown: true });
  });

  it('wires the simple scalable targets: scheduler ring, backend index gateways and compactor', () => {
    expect(config.query_scheduler.use_scheduler_ring).toBe(true);
    expect(config.index_gateway.mode).toBe('simple');
    expect(config.storage_config.tsdb_shipper.index_gateway_client.server_address).toBe(
      'dns+loki-backend-headless.lookout.svc.cluster.local:9095',
    );
    expect(config.common.compactor_address).toBe('http://loki-backend.lookout.svc.cluster.local:3100');
    expect(config.runtime_config.file).toBe(`${RUNTIME_CONFIG_DIR}/${RUNTIME_CONFIG_FILE}`);
  });

  it('sends the ruler’s alerts to the Cortex Alertmanager and serves the rules API', () => {
    expect(config.ruler).toMatchObject({
      alertmanager_url: 'http://cortex-alertmanager.lookout.svc.cluster.local:8080/alertmanager',
      enable_alertmanager_v2: true,
      enable_api: true,
      enable_sharding: true,
    });
    expect(lokiConfig({ ...OPTS, alertmanagerUrl: 'http://am:9093' }).ruler.alertmanager_url).toBe('http://am:9093');
  });

  it('lays out object keys so that no tenant name can reach the ruler’s or the index’s keys', () => {
    expect(config.storage_config.object_prefix).toBe('data/');
    // Chunks are `<object_prefix><tenant>/...`; the ruler writes `rules/<tenant>/...` at the root.
    const chunkPrefix = (tenant: string) => `${config.storage_config.object_prefix}${tenant}/`;
    for (const tenant of ['rules', 'index', 'data', 'tsdb-index', 'system']) {
      expect(TENANT_ID_PATTERN.test(tenant)).toBe(true);
      expect(chunkPrefix(tenant).startsWith(OBJECT_KEY_LAYOUT.rulerPrefix)).toBe(false);
      expect(chunkPrefix(tenant).startsWith(`${config.storage_config.object_prefix}${OBJECT_KEY_LAYOUT.indexPrefix}`)).toBe(false);
    }
    // The index prefix is not a tenant ID, so no tenant's chunks can share its directory.
    expect(TENANT_ID_PATTERN.test(OBJECT_KEY_LAYOUT.indexPrefix.replace(/\/$/, ''))).toBe(false);
    expect(config.schema_config.configs[0]!.index.path_prefix).toBe(config.compactor.delete_request_store_key_prefix);
  });

  it('renders deterministically and round-trips through YAML', () => {
    const rendered = renderLokiConfig(OPTS);
    expect(renderLokiConfig({ ...OPTS })).toBe(rendered);
    expect(YAML.parse(rendered)).toEqual(lokiConfig(OPTS));
    expect(renderLokiConfig({ ...OPTS, storage: { ...OPTS.storage, bucket: 'other' } })).not.toBe(rendered);
    // The schema date stays a string for Loki's DayTime parser.
    expect(YAML.parse(rendered).schema_config.configs[0].from).toBe('2026-01-01');
  });

  it('refuses an empty bucket or region, or a backend it cannot render', () => {
    expect(() => lokiConfig({ ...OPTS, storage: { ...OPTS.storage, bucket: '' } })).toThrow(/bucket/);
    expect(() => lokiConfig({ ...OPTS, storage: { backend: 's3', region: '', bucket: BUCKET } })).toThrow(/region/);
    expect(() => lokiConfig({ ...OPTS, storage: { backend: 'azure', bucket: BUCKET } as never })).toThrow(/storage.backend must be s3 or gcs/);
  });
});

describe('lokiRuntimeConfig', () => {
  it('turns MB/s into ingestion_rate_mb, defaults the burst to 1.5× and days into hours', () => {
    const runtime = lokiRuntimeConfig([
      { name: 'system', ingestionRateMB: 8, retentionDays: 7 },
      { name: 'acme', ingestionRateMB: 4, ingestionBurstMB: 20, retentionDays: 30 },
      { name: 'tiny', ingestionRateMB: 0.1, retentionDays: 1 },
    ]);
    expect(runtime.overrides).toEqual({
      acme: { ingestion_rate_mb: 4, ingestion_burst_size_mb: 20, retention_period: '720h' },
      system: { ingestion_rate_mb: 8, ingestion_burst_size_mb: 12, retention_period: '168h' },
      tiny: { ingestion_rate_mb: 0.1, ingestion_burst_size_mb: 0.15, retention_period: '24h' },
    });
  });

  it('renders the same file whatever the order of the tenants, and round-trips', () => {
    const a = { name: 'a', ingestionRateMB: 1, retentionDays: 3 };
    const b = { name: 'b', ingestionRateMB: 2, retentionDays: 5 };
    const rendered = renderLokiRuntimeConfig([a, b]);
    expect(renderLokiRuntimeConfig([b, a])).toBe(rendered);
    expect(YAML.parse(rendered)).toEqual(lokiRuntimeConfig([a, b]));
    expect(Object.keys(YAML.parse(rendered).overrides)).toEqual(['a', 'b']);
    expect(YAML.parse(renderLokiRuntimeConfig([]))).toEqual({ overrides: {} });
  });

  it('refuses tenants that would break the key layout or Loki’s limits', () => {
    const ok = { ingestionRateMB: 1, retentionDays: 1 };
    expect(() => lokiRuntimeConfig([{ name: 'tsdb_index', ...ok }])).toThrow(/DNS label/);
    expect(() => lokiRuntimeConfig([{ name: 'Acme', ...ok }])).toThrow(/DNS label/);
    expect(() => lokiRuntimeConfig([{ name: 'a', ...ok }, { name: 'a', ...ok }])).toThrow(/twice/);
    expect(() => lokiRuntimeConfig([{ name: 'a', ingestionRateMB: 0, retentionDays: 1 }])).toThrow(/ingestion rate/);
    expect(() => lokiRuntimeConfig([{ name: 'a', ingestionRateMB: 4, ingestionBurstMB: 2, retentionDays: 1 }])).toThrow(/below its rate/);
    expect(() => lokiRuntimeConfig([{ name: 'a', ingestionRateMB: 1, retentionDays: 0 }])).toThrow(/retention/);
    expect(() => lokiRuntimeConfig([{ name: 'a', ingestionRateMB: 1, retentionDays: 1.5 }])).toThrow(/retention/);
  });
});

/** Dotted path → JSON value of every leaf, to compare two configs field by field. */
function leaves(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

function changedFields(a: object, b: object): string[] {
  const [la, lb] = [leaves(a), leaves(b)];
  return [...new Set([...la.keys(), ...lb.keys()])].filter((k) => la.get(k) !== lb.get(k)).sort();
}

describe('rule storage (bundle 2026.12.0 moves it to ruler_storage)', () => {
  it('ruler.storage is the default: the config of earlier bundles does not change', () => {
    expect(renderLokiConfig({ ...OPTS, ruleStorage: 'ruler.storage' })).toBe(renderLokiConfig(OPTS));
    // The default endpoint is only for the Thanos client: Loki's own derives it from the region.
    expect(renderLokiConfig({ ...OPTS, storage: { ...OPTS.storage, defaultEndpoint: 's3.eu-west-1.amazonaws.com' } })).toBe(renderLokiConfig(OPTS));
    expect(() => lokiConfig({ ...OPTS, ruleStorage: 'ruler_storage' })).toThrow(/storage\.endpoint or storage\.defaultEndpoint must be set with ruleStorage ruler_storage/);
    expect(lokiConfig(OPTS).ruler.storage).toEqual({ type: 's3', s3: { bucketnames: BUCKET, region: 'eu-west-1', s3forcepathstyle: false } });
    expect(lokiConfig(OPTS).storage_config.object_prefix).toBe('data/');
    expect(lokiConfig(OPTS)).not.toHaveProperty('ruler_storage');
  });

  it('ruler_storage changes exactly the storage fields, and every object keeps its key', () => {
    const before = lokiConfig(OPTS);
    const after = lokiConfig({ ...OPTS, storage: { ...OPTS.storage, defaultEndpoint: 's3.eu-west-1.amazonaws.com' }, ruleStorage: 'ruler_storage' });
    expect(changedFields(before, after)).toEqual([
      'common.storage.s3.bucketnames',
      'common.storage.s3.region',
      'common.storage.s3.s3forcepathstyle',
      'ruler.storage.s3.bucketnames',
      'ruler.storage.s3.region',
      'ruler.storage.s3.s3forcepathstyle',
      'ruler.storage.type',
      'ruler_storage.backend',
      'ruler_storage.s3.bucket_lookup_type',
      'ruler_storage.s3.bucket_name',
      'ruler_storage.s3.endpoint',
      'ruler_storage.s3.region',
      'storage_config.object_prefix',
      'storage_config.object_store.s3.bucket_lookup_type',
      'storage_config.object_store.s3.bucket_name',
      'storage_config.object_store.s3.endpoint',
      'storage_config.object_store.s3.region',
      'storage_config.object_store.storage_prefix',
      'storage_config.use_thanos_objstore',
    ]);
    // ruler_storage is only read with the Thanos clients on (Loki v3.7.6 initRulerStorage).
    expect(after.storage_config.use_thanos_objstore).toBe(true);
    // The Thanos clients ignore object_prefix: the same prefix, as storage_prefix (`data` + `/` + key).
    expect(`${after.storage_config.object_store!.storage_prefix}/`).toBe(before.storage_config.object_prefix);
    // Rules: no prefix, so `rules/<tenant>/...` at the bucket root, where ruler.storage wrote them.
    expect(after.ruler_storage).toEqual({
      backend: 's3',
      s3: { bucket_name: BUCKET, endpoint: 's3.eu-west-1.amazonaws.com', region: 'eu-west-1', bucket_lookup_type: 'auto' },
    });
    expect(after.ruler_storage).not.toHaveProperty('storage_prefix');
  });

  it('keeps an S3-compatible endpoint, path style and plain HTTP, and GCS buckets', () => {
    const s3 = lokiConfig({ ...OPTS, storage: S3_COMPATIBLE, ruleStorage: 'ruler_storage' });
    const legacy = lokiConfig({ ...OPTS, storage: S3_COMPATIBLE });
    const old = (legacy.common.storage as { s3: { endpoint?: string; insecure?: boolean; s3forcepathstyle: boolean } }).s3;
    const objstore = (s3.ruler_storage as { s3: { endpoint: string; insecure?: boolean; bucket_lookup_type: string } }).s3;
    expect(objstore.endpoint).toBe(old.endpoint);
    expect(objstore.insecure).toBe(old.insecure);
    expect(objstore.bucket_lookup_type).toBe(old.s3forcepathstyle ? 'path' : 'auto');
    expect(s3.storage_config.object_store).toMatchObject({ s3: objstore, storage_prefix: 'data' });

    const gcs = lokiConfig({ ...OPTS, storage: { backend: 'gcs', bucket: 'logs-gcs' }, ruleStorage: 'ruler_storage' });
    expect(gcs.ruler_storage).toEqual({ backend: 'gcs', gcs: { bucket_name: 'logs-gcs' } });
    expect(gcs.storage_config.object_store).toEqual({ gcs: { bucket_name: 'logs-gcs' }, storage_prefix: 'data' });
  });
});
