/**
 * The data plane's one rewrite of the rendered files (test/support/dataplane/rewrite.ts): on
 * the real `plan --render` output of every example, it changes exactly the listed addresses,
 * ports, paths, instance names, storage endpoint and sync intervals, and nothing else.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { localServices } from '../support/dataplane/plane.js';
import { readRenderedPlatform, renderPlan, type RenderedPlatform } from '../support/dataplane/rendered.js';
import {
  localizeArgs,
  localizePath,
  parseCortexYaml,
  rewriteCortexConfig,
  rewriteGatewayConfig,
  type CortexPlaneAddresses,
  type GatewayLocalAddresses,
  type ServiceResolver,
} from '../support/dataplane/rewrite.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lookout-rewrite-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const examples = readdirSync(join(root, 'examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => {
    const parsed = YAML.parse(readFileSync(join(root, 'examples', f), 'utf8')) as { provider?: string; name?: string };
    return { file: join(root, 'examples', f), provider: parsed.provider ?? 'aws', name: parsed.name ?? 'demo' };
  })
  // The rewrite's storage changes are S3's; on gcs it leaves the storage blocks as rendered (the
  // data plane points Cortex at fake-gcs-server through its environment: dataplane-gcs.test.ts).
  .filter((e) => e.provider === 'aws');

const rendered = new Map<string, RenderedPlatform>();
beforeAll(async () => {
  for (const e of examples) {
    const dir = join(tmp, e.name);
    await renderPlan({ provider: e.provider, instance: e.name, configFile: e.file, dir });
    rendered.set(e.file, readRenderedPlatform(dir));
  }
}, 120_000);

/** Every leaf as `a.b[0].c` → JSON value. */
function leaves(value: unknown, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${prefix}[${i}]`).forEach((x, k) => out.set(k, x)));
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k).forEach((x, key) => out.set(key, x));
  } else out.set(prefix, JSON.stringify(value));
  return out;
}

const LOCAL_PORTS: Record<string, number> = { 'cortex-query-frontend-headless:9095': 19095, 'cortex-query-frontend:9095': 19095, 'cortex-alertmanager:8080': 18081 };
const services: ServiceResolver = ({ name, port }) => (LOCAL_PORTS[`${name}:${port}`] ? `127.0.0.1:${LOCAL_PORTS[`${name}:${port}`]}` : undefined);

const plane: CortexPlaneAddresses = {
  configDir: '/work/x/etc-cortex',
  runtimeConfigDir: '/work/x/etc-cortex-runtime',
  s3Endpoint: '127.0.0.1:19000',
  gossipMembers: ['127.0.0.1:17946', '127.0.0.1:17947', '127.0.0.1:17948'],
  services,
};
const proc = { instanceId: 'cortex-ingester-1', httpPort: 18080, grpcPort: 19096, gossipPort: 17947, dataDir: '/work/x/ingester-1' };

/** Exactly the keys the rewrite may change (values checked below), as listed in rewrite.ts. */
const CHANGED_CORTEX_KEYS = [
  'server.http_listen_port',
  'server.grpc_listen_port',
  'memberlist.bind_port',
  'memberlist.join_members[0]',
  'frontend_worker.frontend_address',
  'ruler.frontend_address',
  'ruler.alertmanager_url',
  'blocks_storage.s3.endpoint',
  'ruler_storage.s3.endpoint',
  'alertmanager_storage.s3.endpoint',
  'ingester.lifecycler.tokens_file_path',
  'querier.active_query_tracker_dir',
  'blocks_storage.tsdb.dir',
  'blocks_storage.bucket_store.sync_dir',
  'compactor.data_dir',
  'store_gateway.sharding_ring.tokens_file_path',
  'ruler.rule_path',
  'alertmanager.data_dir',
  'alertmanager.fallback_config_file',
  'runtime_config.file',
];
const ADDED_CORTEX_KEYS = [
  'server.http_listen_address',
  'server.grpc_listen_address',
  'memberlist.bind_addr[0]',
  'memberlist.advertise_addr',
  'memberlist.advertise_port',
  'memberlist.join_members[1]',
  'distributor.ring.instance_addr',
  'distributor.ring.instance_id',
  'ingester.lifecycler.address',
  'ingester.lifecycler.id',
  'store_gateway.sharding_ring.instance_addr',
  'store_gateway.sharding_ring.instance_id',
  'compactor.sharding_ring.instance_addr',
  'compactor.sharding_ring.instance_id',
  'ruler.ring.instance_addr',
  'ruler.ring.instance_id',
  'alertmanager.sharding_ring.instance_addr',
  'alertmanager.sharding_ring.instance_id',
  'blocks_storage.s3.insecure',
  'ruler_storage.s3.insecure',
  'alertmanager_storage.s3.insecure',
  // SHORTENED_INTERVALS
  'blocks_storage.bucket_store.sync_interval',
  'compactor.cleanup_interval',
];

describe('the data plane rewrite of rendered Cortex configs', () => {
  it.each(examples)('changes only addresses, ports, paths, instance names, the S3 endpoint and the listed sync intervals in $file', ({ file }) => {
    const before = leaves(parseCortexYaml(rendered.get(file)!.cortexConfig));
    const after = leaves(parseCortexYaml(rewriteCortexConfig(rendered.get(file)!.cortexConfig, plane, proc)));
    const changed = [...before.keys()].filter((k) => after.get(k) !== before.get(k));
    const added = [...after.keys()].filter((k) => !before.has(k));
    expect(changed.sort()).toEqual([...CHANGED_CORTEX_KEYS].sort());
    expect(added.sort()).toEqual([...ADDED_CORTEX_KEYS].sort());
    // Everything else, limits and the receivers firewall included, is byte-for-byte as rendered.
    expect(after.get('limits.alertmanager_receivers_firewall_block_cidr_networks')).toBe(before.get('limits.alertmanager_receivers_firewall_block_cidr_networks'));

    const json = (k: string) => JSON.parse(after.get(k)!) as unknown;
    expect(json('server.http_listen_port')).toBe(18080);
    expect(json('server.grpc_listen_address')).toBe('127.0.0.1');
    expect(json('memberlist.bind_port')).toBe(17947);
    // Joins the others, not itself.
    expect([json('memberlist.join_members[0]'), json('memberlist.join_members[1]')]).toEqual(['127.0.0.1:17946', '127.0.0.1:17948']);
    expect(json('frontend_worker.frontend_address')).toBe('127.0.0.1:19095');
    expect(json('ruler.alertmanager_url')).toBe('http://127.0.0.1:18081/alertmanager');
    expect(json('blocks_storage.s3.endpoint')).toBe('127.0.0.1:19000');
    expect(json('blocks_storage.s3.bucket_name')).toBe(JSON.parse(before.get('blocks_storage.s3.bucket_name')!));
    expect(json('ingester.lifecycler.tokens_file_path')).toBe('/work/x/ingester-1/tokens');
    expect(json('runtime_config.file')).toBe('/work/x/etc-cortex-runtime/runtime.yaml');
    expect(json('alertmanager.fallback_config_file')).toBe('/work/x/etc-cortex/alertmanager-fallback.yaml');
    expect(json('ingester.lifecycler.id')).toBe('cortex-ingester-1');
    expect(json('blocks_storage.bucket_store.sync_interval')).toBe('15s');
    expect(json('compactor.cleanup_interval')).toBe('15s');
  });

  it('refuses to leave a cluster name behind', () => {
    const config = rendered.get(examples[0]!.file)!.cortexConfig;
    expect(() => rewriteCortexConfig(config, { ...plane, services: () => undefined }, proc)).toThrow(/no local address for cortex-query-frontend/);
    expect(() => rewriteCortexConfig(`${config}\nextra: /var/lib/x\n`, plane, proc)).toThrow(/no local directory for the container path \/var\/lib\/x/);
  });

  it('maps container paths on segment boundaries, the longest mount first', () => {
    const mounts = { '/etc/cortex': '/l/c', '/etc/cortex-runtime': '/l/r' };
    expect(localizePath('/etc/cortex-runtime/runtime.yaml', mounts)).toBe('/l/r/runtime.yaml');
    expect(localizePath('/etc/cortex/cortex.yaml', mounts)).toBe('/l/c/cortex.yaml');
    expect(localizePath('/etc/cortexfoo', mounts)).toBe('/etc/cortexfoo');
    expect(localizeArgs(['-target=ruler', '-config.file=/etc/cortex/cortex.yaml', '-querier.query-store-after=2h'], '/l/c/ruler.yaml')).toEqual([
      '-target=ruler',
      '-config.file=/l/c/ruler.yaml',
      '-querier.query-store-after=2h',
    ]);
  });
});

const gateway: GatewayLocalAddresses = {
  publicPort: 28443,
  internalPort: 28080,
  tempDir: '/work/g/tmp',
  tenantsDir: '/work/g/tenants',
  tlsDir: '/work/g/tls',
  logDir: '/work/g/log',
  services: ({ name, port }) => `127.0.0.1:${name === 'cortex-distributor' ? 31001 : port + 30000}`,
};

describe('the data plane rewrite of the rendered gateway config', () => {
  it.each(examples)('changes only listeners, upstream addresses and paths in $file', ({ file }) => {
    const original = rendered.get(file)!.nginxConfig.split('\n');
    const rewritten = rewriteGatewayConfig(rendered.get(file)!.nginxConfig, gateway).split('\n');
    expect(rewritten).toHaveLength(original.length);
    const changed = original.flatMap((line, i) => (line === rewritten[i] ? [] : [{ before: line.trim(), after: rewritten[i]!.trim() }]));
    const kinds = new Map<string, number>();
    for (const { before, after } of changed) {
      const kind = before.split(/\s+/)[0]!;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      if (kind === 'set') expect(after).toMatch(/^set \$lookout_upstream "?127\.0\.0\.1:\d+"?;$/);
      else if (kind === 'listen') expect(after).toMatch(/^listen 127\.0\.0\.1:(28443 ssl|28080);$/);
      else if (/^\d+$/.test(kind)) expect(after).toMatch(/^28080 /);
      else expect(after).toMatch(/ \/work\/g\//);
    }
    // Only these directives change; the maps, routes, limits and checks stay as rendered.
    expect([...kinds.keys()].filter((k) => !/^\d+$/.test(k)).sort()).toEqual(
      ['access_log', 'client_body_temp_path', 'error_log', 'fastcgi_temp_path', 'include', 'listen', 'pid', 'proxy_temp_path', 'scgi_temp_path', 'set', 'ssl_certificate', 'ssl_certificate_key', 'uwsgi_temp_path'].sort(),
    );
    expect(kinds.get('listen')).toBe(2);
    expect(rewritten.join('\n')).toContain('set $lookout_upstream 127.0.0.1:31001;');
    expect(rewritten.join('\n')).not.toMatch(/svc\.cluster\.local|0\.0\.0\.0/);
  });

  it('refuses an upstream it cannot place on loopback', () => {
    expect(() => rewriteGatewayConfig(rendered.get(examples[0]!.file)!.nginxConfig, { ...gateway, services: () => undefined })).toThrow(
      /no local address for cortex-distributor\.lookout\.svc\.cluster\.local:8080/,
    );
  });
});

describe('the data plane’s Service addresses', () => {
  it.each(examples)('place every Service the rendered configs of $file name on the port of the process it selects', ({ file }) => {
    const platform = rendered.get(file)!;
    const targets = platform.cortexWorkloads.map((w) => w.target);
    // Ports that tell the targets and port kinds apart: 10000 + index (HTTP), 20000 + (gRPC), 30000 + (gossip).
    const procs = targets.map((target, i) => ({ target, httpPort: 10000 + i, grpcPort: 20000 + i, gossipPort: 30000 + i }));
    const resolve = localServices(platform, procs, 40000);
    const at = (target: string, kind: 'httpPort' | 'grpcPort') => `127.0.0.1:${procs.find((p) => p.target === target)![kind]}`;

    const config = YAML.parse(rewriteCortexConfig(platform.cortexConfig, { ...plane, services: resolve }, proc)) as {
      frontend_worker: { frontend_address: string };
      ruler: { frontend_address: string; alertmanager_url: string };
    };
    expect(config.frontend_worker.frontend_address).toBe(at('query-frontend', 'grpcPort'));
    expect(config.ruler.frontend_address).toBe(at('query-frontend', 'grpcPort'));
    expect(config.ruler.alertmanager_url).toBe(`http://${at('alertmanager', 'httpPort')}/alertmanager`);

    const nginx = rewriteGatewayConfig(platform.nginxConfig, { ...gateway, services: resolve });
    const upstreams = new Set([...nginx.matchAll(/set \$lookout_upstream "?([^";]+)"?;/g)].map((m) => m[1]));
    expect([...upstreams].sort()).toEqual(
      [at('distributor', 'httpPort'), at('query-frontend', 'httpPort'), at('ruler', 'httpPort'), at('alertmanager', 'httpPort'), '127.0.0.1:40000'].sort(),
    );
    // Remote write goes to the distributors, and only there.
    const push = nginx.slice(nginx.indexOf('location /api/v1/push {'), nginx.indexOf('location /prometheus/'));
    expect([...push.matchAll(/set \$lookout_upstream ([^;]+);/g)].map((m) => m[1])).toEqual([at('distributor', 'httpPort')]);
  });
});
