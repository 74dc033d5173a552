import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  alertmanagerFallbackConfig,
  cortexConfig,
  renderAlertmanagerFallbackConfig,
  renderCortexConfig,
  s3Bucket,
} from '../src/config.js';
import { CHECKED_FIELDS, OPTIONS, leafPaths, ringPaths } from './support.js';

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
    expect(config.blocks_storage.backend).toBe('s3');
    expect(config.blocks_storage.s3).toEqual({ endpoint, region: 'eu-west-1', bucket_name: OPTIONS.blocksBucket });
    expect(config.ruler_storage).toEqual({ backend: 's3', s3: { endpoint, region: 'eu-west-1', bucket_name: OPTIONS.rulesBucket } });
    expect(config.alertmanager_storage).toEqual(config.ruler_storage);
    expect(config.blocks_storage.bucket_store.bucket_index.enabled).toBe(true);
  });

  it('holds no credentials: S3 access comes from the pod identity', () => {
    const credentialLike = /access_key|secret|session_token|password|token$/i;
    const offending = leafPaths(config).filter((p) => credentialLike.test(p.split('.').pop()!) && !p.endsWith('tokens_file_path'));
    expect(offending).toEqual([]);
    for (const bucket of [config.blocks_storage.s3, config.ruler_storage.s3, config.alertmanager_storage.s3]) {
      expect(Object.keys(bucket).sort()).toEqual(['bucket_name', 'endpoint', 'region']);
    }
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
  });

  it('enforces limits globally and reads per-tenant overrides from the runtime config file', () => {
    expect(config.limits.ingestion_rate_strategy).toBe('global');
    // The global series limit is only enforced when series are sharded by all labels.
    expect(config.distributor.shard_by_all_labels).toBe(true);
    expect(config.limits.ingestion_burst_size).toBe(2 * config.limits.ingestion_rate!);
    expect(config.runtime_config.file).toBe('/etc/cortex-runtime/runtime.yaml');
  });

  it('writes only field paths checked against Cortex’s config structs, and all of them', () => {
    const written = leafPaths(config).sort();
    expect(written).toEqual(Object.keys(CHECKED_FIELDS.configFields).sort());
    for (const [path, source] of Object.entries(CHECKED_FIELDS.configFields)) {
      expect(CHECKED_FIELDS.sources[source], `${path} cites an unknown source`).toBeTypeOf('string');
    }
  });

  it('renders YAML that parses back (as YAML 1.1, like Go’s yaml.v2) to the same object, the same every time', () => {
    const text = renderCortexConfig(OPTIONS);
    expect(YAML.parse(text, { version: '1.1' })).toEqual(config);
    expect(YAML.parse(text)).toEqual(config);
    expect(renderCortexConfig({ ...OPTIONS })).toBe(text);
    expect(renderCortexConfig({ ...OPTIONS, region: 'us-east-2' })).not.toBe(text);
  });

  it('derives replication factors from the options', () => {
    const small = cortexConfig({ ...OPTIONS, storeGatewayReplicationFactor: 2, alertmanagerReplicationFactor: 1 });
    expect(small.store_gateway.sharding_ring.replication_factor).toBe(2);
    expect(small.alertmanager.sharding_ring.replication_factor).toBe(1);
    expect(config.store_gateway.sharding_ring.replication_factor).toBe(3);
  });

  it.each([
    [{ region: 'Europe' }, /region must be an AWS region/],
    [{ namespace: 'Lookout' }, /namespace must be a DNS label/],
    [{ blocksBucket: 'UPPER' }, /blocksBucket must be an S3 bucket name/],
    [{ rulesBucket: OPTIONS.blocksBucket }, /rulesBucket must differ from blocksBucket/],
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
    expect(s3Bucket('ap-southeast-2', 'b')).toEqual({
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
