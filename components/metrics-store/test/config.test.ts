import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  alertmanagerFallbackConfig,
  cortexConfig,
  receiverBlockedCidrs,
  renderAlertmanagerFallbackConfig,
  bucketConfig,
  renderCortexConfig,
} from '../src/config.js';
import { COMPONENT_LAYOUT, CORTEX_COMPONENTS, OVERRIDES_EXPORTER } from '../src/layout.js';
import { suiteTitle, testBinaries } from '../../../test/support/test-binaries.js';
import { loadPinned } from '../../../scripts/test-binaries-lib.mjs';
import { CHECKED_FIELDS, GCS, OPTIONS, S3_COMPATIBLE, leafPaths, ringPaths } from './support.js';

const config = cortexConfig(OPTIONS);

describe('cortexConfig', () => {
  it('gossips every ring over memberlist through the headless gossip Service', () => {
    expect(ringPaths(config).sort()).toEqual(
      [
        'alertmanager.sharding_ring',
        'compactor.sharding_ring',
        'distributor.ring',
        'ingester.lifecycler.ring',
        'ruler.ring',
        'store_gateway.sharding_ring',
      ].sort(),
    );
    for (const ring of ringPaths(config)) {
      const node = ring.split('.').reduce<any>((o, k) => o[k], config);
      expect(node.kvstore, ring).toEqual({ store: 'memberlist' });
    }
    expect(config.memberlist.join_members).toEqual(['cortex-gossip.lookout.svc.cluster.local:7946']);
    expect(config.memberlist.bind_port).toBe(7946);
    // The sharded components really shard over their ring.
    expect(config.compactor.sharding_enabled).toBe(true);
    expect(config.store_gateway.sharding_enabled).toBe(true);
    expect(config.ruler.enable_sharding).toBe(true);
    expect(config.alertmanager.sharding_enabled).toBe(true);
  });

  it('replicates every series to three ingesters and keeps their tokens and TSDB on the volume', () => {
    expect(config.ingester.lifecycler.ring.replication_factor).toBe(3);
    expect(config.ingester.lifecycler.tokens_file_path).toBe('/data/tokens');
    expect(config.blocks_storage.tsdb.dir).toBe('/data/tsdb');
  });

  it('stores blocks, rules and Alertmanager state in S3 in the region, rules and Alertmanager sharing a bucket', () => {
    const endpoint = 's3.eu-west-1.amazonaws.com';
    const { blocksBucket, rulesBucket } = OPTIONS.storage;
    expect(config.blocks_storage.backend).toBe('s3');
    expect(config.blocks_storage).toMatchObject({ s3: { endpoint, region: 'eu-west-1', bucket_name: blocksBucket } });
    expect(config.ruler_storage).toEqual({ backend: 's3', s3: { endpoint, region: 'eu-west-1', bucket_name: rulesBucket } });
    expect(config.alertmanager_storage).toEqual(config.ruler_storage);
    expect(config.blocks_storage.bucket_store.bucket_index.enabled).toBe(true);
  });

  it('holds no credentials: S3 access comes from the pod identity', () => {
    const credentialLike = /access_key|secret|session_token|password|token$/i;
    const offending = leafPaths(config).filter((p) => credentialLike.test(p.split('.').pop()!) && !p.endsWith('tokens_file_path'));
    expect(offending).toEqual([]);
    for (const bucket of [config.blocks_storage, config.ruler_storage, config.alertmanager_storage]) {
      expect(Object.keys((bucket as { s3: object }).s3).sort()).toEqual(['bucket_name', 'endpoint', 'region']);
    }
  });

  it('reaches an S3-compatible store by its endpoint, path-style and over plain HTTP, still without keys', () => {
    const compatible = cortexConfig({ ...OPTIONS, storage: S3_COMPATIBLE });
    const s3 = { endpoint: 'minio.storage.svc.cluster.local:9000', region: 'us-east-1', insecure: true, bucket_lookup_type: 'path' };
    expect(compatible.blocks_storage).toMatchObject({ backend: 's3', s3: { ...s3, bucket_name: 'lookout-metrics' } });
    expect(compatible.ruler_storage).toEqual({ backend: 's3', s3: { ...s3, bucket_name: 'lookout-rules' } });
    expect(compatible.alertmanager_storage).toEqual(compatible.ruler_storage);
    // The Secret's keys reach the pods as environment variables, never this file.
    expect(renderCortexConfig({ ...OPTIONS, storage: S3_COMPATIBLE })).not.toMatch(/access_key|secret|object-storage/);
  });

  it('stores everything in GCS buckets with Google default credentials (no service_account key)', () => {
    const gcs = cortexConfig({ ...OPTIONS, storage: GCS });
    expect(gcs.blocks_storage).toMatchObject({ backend: 'gcs', gcs: { bucket_name: 'lookout-prod-metrics' } });
    expect(gcs.blocks_storage).not.toHaveProperty('s3');
    expect(gcs.ruler_storage).toEqual({ backend: 'gcs', gcs: { bucket_name: 'lookout-prod-rules' } });
    expect(gcs.alertmanager_storage).toEqual(gcs.ruler_storage);
  });

  it('wires the query path, the ruler and the Alertmanager to their in-cluster Services', () => {
    expect(config.frontend_worker.frontend_address).toBe('cortex-query-frontend-headless.lookout.svc.cluster.local:9095');
    expect(config.ruler.alertmanager_url).toBe('http://cortex-alertmanager.lookout.svc.cluster.local:8080/alertmanager');
    expect(config.ruler.enable_api).toBe(true);
    expect(config.alertmanager.enable_api).toBe(true);
    expect(config.alertmanager.external_url).toBe(OPTIONS.alertmanagerExternalUrl);
    expect(config.alertmanager.fallback_config_file).toBe('/etc/cortex/alertmanager-fallback.yaml');
    expect(config.server).toMatchObject({ http_listen_port: 8080, grpc_listen_port: 9095 });
    expect(config.auth_enabled).toBe(true);
    // Rejected queries are counted by reason (cortex_rejected_queries_total) for the dashboards.
    expect(config.frontend.query_stats_enabled).toBe(true);
  });

  it('enforces limits globally and reads per-tenant overrides from the runtime config file', () => {
    expect(config.limits.ingestion_rate_strategy).toBe('global');
    // The global series limit is only enforced when series are sharded by all labels.
    expect(config.distributor.shard_by_all_labels).toBe(true);
    expect(config.limits.ingestion_burst_size).toBe(2 * config.limits.ingestion_rate!);
    expect(config.runtime_config.file).toBe('/etc/cortex-runtime/runtime.yaml');
  });

  it("turns Cortex's receivers firewall on: private, shared, link-local and the cluster's own networks, as one comma-separated string", () => {
    expect(config.limits.alertmanager_receivers_firewall_block_private_addresses).toBe(true);
    const blocked = config.limits.alertmanager_receivers_firewall_block_cidr_networks!;
    // Cortex reads this field as a CSV string (flagext.CIDRSliceCSV): a YAML list would not parse.
    expect(typeof blocked).toBe('string');
    const list = blocked.split(',');
    for (const cidr of ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '::/128', 'fc00::/7', 'fe80::/10', ...OPTIONS.clusterCidrs]) {
      expect(list, cidr).toContain(cidr);
    }
    expect(new Set(list).size).toBe(list.length);
    expect(receiverBlockedCidrs(['10.0.0.0/16'])).toContain('10.0.0.0/16');
    expect(() => cortexConfig({ ...OPTIONS, clusterCidrs: ['10.0.0.0'] })).toThrow(/clusterCidrs must be IPv4 or IPv6 CIDRs/);
    expect(() => cortexConfig({ ...OPTIONS, clusterCidrs: ['10.0.0.0/16,1.2.3.0/24'] })).toThrow(/clusterCidrs/);
  });

  it('writes only field paths checked against Cortex’s config structs, and all of them', () => {
    const written = leafPaths(config).sort();
    expect(written).toEqual(Object.keys(CHECKED_FIELDS.configFields).sort());
    for (const [path, source] of Object.entries(CHECKED_FIELDS.configFields)) {
      expect(CHECKED_FIELDS.sources[source], `${path} cites an unknown source`).toBeTypeOf('string');
    }
  });

  it('writes, for S3-compatible and GCS storage, only checked paths, and every checked storage variant', () => {
    const checked = new Set([...Object.keys(CHECKED_FIELDS.configFields), ...Object.keys(CHECKED_FIELDS.storageVariantFields)]);
    const written = new Set<string>();
    for (const storage of [S3_COMPATIBLE, GCS]) {
      for (const path of leafPaths(cortexConfig({ ...OPTIONS, storage }))) {
        expect(checked, `${storage.backend}: ${path}`).toContain(path);
        written.add(path);
      }
    }
    for (const [path, source] of Object.entries(CHECKED_FIELDS.storageVariantFields)) {
      expect(written, path).toContain(path);
      expect(CHECKED_FIELDS.sources[source], `${path} cites an unknown source`).toBeTypeOf('string');
    }
  });

  it('renders YAML that parses back (as YAML 1.1, like Go’s yaml.v2) to the same object, the same every time', () => {
    const text = renderCortexConfig(OPTIONS);
    expect(YAML.parse(text, { version: '1.1' })).toEqual(config);
    expect(YAML.parse(text)).toEqual(config);
    expect(renderCortexConfig({ ...OPTIONS })).toBe(text);
    expect(renderCortexConfig({ ...OPTIONS, storage: { ...OPTIONS.storage, region: 'us-east-2' } as typeof OPTIONS.storage })).not.toBe(text);
  });

  it('derives replication factors from the options', () => {
    const small = cortexConfig({ ...OPTIONS, storeGatewayReplicationFactor: 2, alertmanagerReplicationFactor: 1 });
    expect(small.store_gateway.sharding_ring.replication_factor).toBe(2);
    expect(small.alertmanager.sharding_ring.replication_factor).toBe(1);
    expect(config.store_gateway.sharding_ring.replication_factor).toBe(3);
  });

  const storage = (override: Record<string, unknown>) => ({ storage: { ...OPTIONS.storage, ...override } as typeof OPTIONS.storage });
  it.each([
    [storage({ region: 'Europe' }), /storage.region must be an S3 region name/],
    [storage({ endpoint: undefined }), /storage.endpoint is required for s3/],
    [storage({ endpoint: 'https://s3.eu-west-1.amazonaws.com' }), /storage.endpoint must be a host or host:port without a scheme/],
    [{ namespace: 'Lookout' }, /namespace must be a DNS label/],
    [storage({ blocksBucket: 'UPPER' }), /storage.blocksBucket must be an S3 bucket name/],
    [{ storage: { ...GCS, rulesBucket: 'a' } }, /storage.rulesBucket must be a GCS bucket name/],
    [storage({ rulesBucket: OPTIONS.storage.blocksBucket }), /rulesBucket must differ from blocksBucket/],
    [{ alertmanagerExternalUrl: 'system.obs.example.com/alertmanager' }, /alertmanagerExternalUrl must be an absolute URL/],
    [{ alertmanagerExternalUrl: 'https://system.obs.example.com/alertmanager/' }, /must end in \/alertmanager/],
    [{ alertmanagerExternalUrl: 'ftp://system.obs.example.com/alertmanager' }, /http\(s\)/],
    [{ storeGatewayReplicationFactor: 0 }, /storeGatewayReplicationFactor must be a positive integer/],
  ])('refuses %o', (override, message) => {
    expect(() => cortexConfig({ ...OPTIONS, ...override })).toThrow(message);
  });

  it('falls back, for tenants without an Alertmanager config, to one that sends nothing anywhere', () => {
    const fallback = alertmanagerFallbackConfig();
    expect(fallback.route.receiver).toBe('blackhole');
    expect(fallback.receivers).toEqual([{ name: 'blackhole' }]);
    expect(YAML.parse(renderAlertmanagerFallbackConfig())).toEqual(fallback);
  });

  it('builds the S3 settings of one bucket', () => {
    const s3 = { backend: 's3' as const, region: 'ap-southeast-2', endpoint: 's3.ap-southeast-2.amazonaws.com', blocksBucket: 'a', rulesBucket: 'b' };
    expect(bucketConfig(s3, 'b')).toEqual({
      backend: 's3',
      s3: { endpoint: 's3.ap-southeast-2.amazonaws.com', region: 'ap-southeast-2', bucket_name: 'b' },
    });
  });
});

const amtool = spawnSync('amtool', ['--version'], { stdio: 'ignore' }).status === 0;
if (!amtool) console.warn('amtool not found: skipping the fallback Alertmanager config check (apt-get install prometheus-alertmanager)');

describe.skipIf(!amtool)('the fallback Alertmanager config (needs amtool: apt-get install prometheus-alertmanager)', () => {
  it('passes amtool check-config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cortex-fallback-'));
    try {
      const file = join(dir, 'fallback.yaml');
      writeFileSync(file, renderAlertmanagerFallbackConfig());
      const out = execFileSync('amtool', ['check-config', file], { encoding: 'utf8' });
      expect(out).toMatch(/SUCCESS/);
      expect(out).toMatch(/1 receivers/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Cortex's own validation of the generated config: a real binary loads it strictly, parses the
 * flags each workload adds, validates it and builds its modules (`-modules`), exactly as at
 * start-up, without starting anything. Run with the build standing in for each Cortex a
 * bundle pins.
 */
const pinnedCortexTags = new Set(
  readdirSync(new URL('../../../bundles/', import.meta.url))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(new URL(`../../../bundles/${f}`, import.meta.url), 'utf8')).components.cortex.image.tag as string),
);
/** The builds of test/binaries.json that stand in for a Cortex a bundle pins (`imageTag`). */
const cortexVersions = (loadPinned() as Array<{ name: string; version: string; imageTag?: string }>)
  .filter((e) => e.name === 'cortex' && pinnedCortexTags.has(e.imageTag ?? e.version))
  .map((e) => e.version);

describe.each(cortexVersions.map((version) => [version, testBinaries([{ name: 'cortex', version }])] as const))('the generated config under the real Cortex %s', (version, binaries) => {
  it.skipIf(binaries.missing !== undefined)(suiteTitle(`loads, validates and builds every target with Cortex ${version}`, binaries), () => {
    const cortex = binaries.paths.cortex!;
    const dir = mkdtempSync(join(tmpdir(), 'cortex-config-'));
    try {
      const file = join(dir, 'cortex.yaml');
      // The paths the pods mount, here in a temporary directory.
      writeFileSync(file, renderCortexConfig(OPTIONS).replaceAll('/etc/cortex/', `${dir}/`).replaceAll('/etc/cortex-runtime/', `${dir}/`));
      writeFileSync(join(dir, 'alertmanager-fallback.yaml'), renderAlertmanagerFallbackConfig());
      writeFileSync(join(dir, 'runtime.yaml'), 'overrides: {}\n');
      const targets = [...CORTEX_COMPONENTS.map((c) => [COMPONENT_LAYOUT[c].target, COMPONENT_LAYOUT[c].args ?? []] as const), [OVERRIDES_EXPORTER.target, []] as const];
      for (const [target, args] of targets) {
        const run = spawnSync(cortex, [`-config.file=${file}`, `-target=${target}`, ...args, '-modules'], { encoding: 'utf8', timeout: 30_000 });
        expect(run.status, `${target}: ${run.stderr}`).toBe(0);
        expect(run.stdout).toContain('Modules marked with * are included in target All');
      }
      // The check is real: Cortex refuses the firewall's CIDRs written as a YAML list.
      const yaml = YAML.parse(readFileSync(file, 'utf8'), { version: '1.1' });
      yaml.limits.alertmanager_receivers_firewall_block_cidr_networks = ['10.0.0.0/8'];
      writeFileSync(file, YAML.stringify(yaml, { version: '1.1' }));
      const bad = spawnSync(cortex, [`-config.file=${file}`, '-target=alertmanager', '-modules'], { encoding: 'utf8', timeout: 30_000 });
      expect(bad.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
