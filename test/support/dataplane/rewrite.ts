/**
 * The one place where the files `lookout plan --render` writes are changed before the data
 * plane runs them on loopback. Only what must differ between a cluster and one machine is
 * touched: addresses, ports, local paths, instance names (the pod names Kubernetes would
 * give) and the storage endpoint, plus two sync intervals a test cannot wait out (listed
 * below). Everything else (limits, rings, replication factors, the receivers firewall, routes,
 * token checks) runs exactly as rendered.
 *
 * Cortex config (one copy per process), by key:
 *   server.http_listen_address, server.grpc_listen_address      added: 127.0.0.1
 *   server.http_listen_port, server.grpc_listen_port            the process's own ports
 *   memberlist.bind_addr, memberlist.advertise_addr             added: 127.0.0.1
 *   memberlist.bind_port, memberlist.advertise_port (added)     the process's own gossip port
 *   memberlist.join_members                                     the other processes' gossip ports
 *   <every ring>.instance_addr (ingester.lifecycler.address)    added: 127.0.0.1 (else read from eth0)
 *   <every ring>.instance_id (ingester.lifecycler.id)           added: the pod name (else the hostname,
 *                                                                the same for every process here)
 *   <storage>.s3.endpoint                                       the local S3 server's host:port
 *   <storage>.s3.insecure                                       added: true (plain HTTP on loopback)
 *   <storage>.gcs                                               nothing: it names no endpoint (Cortex's gcs
 *                                                                config has none); the processes'
 *                                                                STORAGE_EMULATOR_HOST points Google's
 *                                                                client at the emulator (plane.ts,
 *                                                                gcs-server.ts)
 *   any value `<service>.<namespace>.svc.cluster.local:<port>`  the local address of that Service
 *     (also inside a URL)                                       (frontend_worker, ruler → frontend
 *                                                                and Alertmanager)
 *   any value under /data, /etc/cortex, /etc/cortex-runtime     the same path under local directories
 *
 * Cortex config, intervals (SHORTENED_INTERVALS): periodic work a cluster waits out over 15 minutes,
 * shortened so a test sees the same sequence within its deadlines. What the work does is unchanged.
 *   blocks_storage.bucket_store.sync_interval                  added: 15s (15m): how often a store-gateway
 *                                                                syncs blocks and a querier re-reads a
 *                                                                bucket index, also one it found missing
 *   compactor.cleanup_interval                                  added: 15s (15m): how often the compactor
 *                                                                writes each tenant's bucket index
 *
 * Gateway nginx.conf, by directive:
 *   listen 0.0.0.0:<port> [ssl]                                 listen 127.0.0.1:<local port> [ssl]
 *   map $server_port entries naming the internal port           the local internal port
 *   set $lookout_upstream <service>…svc.cluster.local:<port>    the local address of that Service
 *   pid, *_temp_path, include /tmp/…                            under a local directory
 *   include /etc/lookout/tenants/…, ssl_certificate[_key] /etc/lookout/tls/…   local directories
 *   error_log /dev/stderr, access_log /dev/stdout               files in a local directory
 *
 * A rewrite that leaves a cluster name, a wildcard listener or a container path behind throws:
 * nothing started from these files may look up a name or listen off loopback.
 */
import YAML from 'yaml';

export const LOOPBACK = '127.0.0.1';

/** `name.namespace` of a Kubernetes Service with the port, to the local `127.0.0.1:<port>` that serves it. */
export type ServiceResolver = (service: { name: string; namespace: string; port: number }) => string | undefined;

const CLUSTER_ADDRESS = /([a-z0-9${}_-]+)\.([a-z0-9${}_-]+)\.svc\.cluster\.local:(\d+)/g;

/** Replaces every `<svc>.<ns>.svc.cluster.local:<port>` in `text`; throws for one the resolver does not know. */
export function localizeServiceAddresses(text: string, resolve: ServiceResolver): string {
  return text.replace(CLUSTER_ADDRESS, (whole, name: string, namespace: string, port: string) => {
    const local = resolve({ name, namespace, port: Number(port) });
    if (local === undefined) throw new Error(`rewrite: no local address for ${whole}`);
    return local;
  });
}

/** Path prefixes (container → local), longest first so `/etc/cortex-runtime` wins over `/etc/cortex`. */
export function localizePath(value: string, prefixes: Readonly<Record<string, string>>): string {
  const ordered = Object.keys(prefixes).sort((a, b) => b.length - a.length);
  for (const prefix of ordered) {
    if (value === prefix || value.startsWith(`${prefix}/`)) return prefixes[prefix]! + value.slice(prefix.length);
  }
  return value;
}

// ---- Cortex ---------------------------------------------------------------------------------

export interface CortexProcessAddresses {
  /** The pod name it stands for, e.g. `cortex-ingester-1`: its ring instance ID. */
  instanceId: string;
  httpPort: number;
  grpcPort: number;
  gossipPort: number;
  /** Replaces `/data` (the pod's volume). */
  dataDir: string;
}

export interface CortexPlaneAddresses {
  /** Replaces the ConfigMap mount `/etc/cortex`. */
  configDir: string;
  /** Replaces the runtime ConfigMap mount `/etc/cortex-runtime`. */
  runtimeConfigDir: string;
  /** `127.0.0.1:<port>` of the S3 server. */
  s3Endpoint: string;
  /** `127.0.0.1:<port>` gossip addresses of all Cortex processes. */
  gossipMembers: readonly string[];
  services: ServiceResolver;
}

/** Where each ring's own address and ID go. */
const RING_INSTANCE_KEYS: ReadonlyArray<{ path: readonly string[]; addr: string; id: string }> = [
  { path: ['distributor', 'ring'], addr: 'instance_addr', id: 'instance_id' },
  { path: ['ingester', 'lifecycler'], addr: 'address', id: 'id' },
  { path: ['store_gateway', 'sharding_ring'], addr: 'instance_addr', id: 'instance_id' },
  { path: ['compactor', 'sharding_ring'], addr: 'instance_addr', id: 'instance_id' },
  { path: ['ruler', 'ring'], addr: 'instance_addr', id: 'instance_id' },
  { path: ['alertmanager', 'sharding_ring'], addr: 'instance_addr', id: 'instance_id' },
];

const STORAGE_KEYS = ['blocks_storage', 'ruler_storage', 'alertmanager_storage'] as const;

/**
 * Cortex's 15-minute defaults for finding newly shipped blocks. Without them, a querier that was
 * asked for a tenant before its first block was shipped keeps "no bucket index" for 15 minutes.
 */
export const SHORTENED_INTERVALS: ReadonlyArray<{ path: readonly string[]; key: string; value: string }> = [
  { path: ['blocks_storage', 'bucket_store'], key: 'sync_interval', value: '15s' },
  { path: ['compactor'], key: 'cleanup_interval', value: '15s' },
];

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(tree: Tree, path: readonly string[]): Tree {
  let node = tree;
  for (const key of path) {
    if (!isTree(node[key])) throw new Error(`rewrite: the Cortex config has no ${path.join('.')}`);
    node = node[key] as Tree;
  }
  return node;
}

/** Applies `f` to every string leaf, keeping structure. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (isTree(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

const FOREIGN_NAMES = [/svc\.cluster\.local/, /amazonaws\.com/, /googleapis\.com/];

function assertLocal(value: unknown, where: string): void {
  if (typeof value === 'string') {
    if (FOREIGN_NAMES.some((re) => re.test(value))) throw new Error(`rewrite: ${where} still holds "${value}", which is not on loopback`);
  } else if (Array.isArray(value)) value.forEach((v, i) => assertLocal(v, `${where}[${i}]`));
  else if (isTree(value)) for (const [k, v] of Object.entries(value)) assertLocal(v, where ? `${where}.${k}` : k);
}

/** A container path mapped to a local one; throws for an absolute path under no known mount. */
function localPathOrThrow(value: string, prefixes: Readonly<Record<string, string>>): string {
  if (!value.startsWith('/')) return value;
  const local = localizePath(value, prefixes);
  if (local === value) throw new Error(`rewrite: no local directory for the container path ${value}`);
  return local;
}

/** Parses Cortex YAML the way Cortex does (YAML 1.1). */
export function parseCortexYaml(text: string): Tree {
  const parsed: unknown = YAML.parse(text, { version: '1.1' });
  if (!isTree(parsed)) throw new Error('rewrite: the Cortex config is not a YAML mapping');
  return parsed;
}

/** The rendered cortex.yaml of the platform stack, made runnable by one local process. */
export function rewriteCortexConfig(rendered: string, plane: CortexPlaneAddresses, proc: CortexProcessAddresses): string {
  const paths = { '/data': proc.dataDir, '/etc/cortex': plane.configDir, '/etc/cortex-runtime': plane.runtimeConfigDir };
  const parsed = parseCortexYaml(rendered);
  // Gossip first: the one Service name that stands for all processes, not for one address.
  const self = `${LOOPBACK}:${proc.gossipPort}`;
  Object.assign(child(parsed, ['memberlist']), {
    bind_addr: [LOOPBACK],
    bind_port: proc.gossipPort,
    advertise_addr: LOOPBACK,
    // Not derived from bind_port: without it every process would tell its peers 7946.
    advertise_port: proc.gossipPort,
    join_members: plane.gossipMembers.filter((m) => m !== self),
  });
  const config = mapStrings(parsed, (s) => localizeServiceAddresses(localPathOrThrow(s, paths), plane.services)) as Tree;

  Object.assign(child(config, ['server']), {
    http_listen_address: LOOPBACK,
    http_listen_port: proc.httpPort,
    grpc_listen_address: LOOPBACK,
    grpc_listen_port: proc.grpcPort,
  });
  for (const ring of RING_INSTANCE_KEYS) Object.assign(child(config, ring.path), { [ring.addr]: LOOPBACK, [ring.id]: proc.instanceId });
  for (const key of STORAGE_KEYS) {
    const storage = child(config, [key]);
    // A gcs bucket names no endpoint: left as rendered; the data plane sets STORAGE_EMULATOR_HOST instead.
    if (storage.backend === 'gcs') continue;
    if (storage.backend !== 's3') throw new Error(`rewrite: ${key}.backend is ${String(storage.backend)}; only s3 and gcs are known`);
    Object.assign(child(storage, ['s3']), { endpoint: plane.s3Endpoint, insecure: true });
  }
  for (const interval of SHORTENED_INTERVALS) {
    const section = child(config, interval.path);
    // Only added: a rendered value is a choice of the platform's, which the data plane must run as is.
    if (section[interval.key] !== undefined) throw new Error(`rewrite: ${[...interval.path, interval.key].join('.')} is rendered; drop it from SHORTENED_INTERVALS`);
    section[interval.key] = interval.value;
  }
  assertLocal(config, '');
  return YAML.stringify(config, { version: '1.1', lineWidth: 0 });
}

// ---- gateway --------------------------------------------------------------------------------

export interface GatewayLocalAddresses {
  publicPort: number;
  internalPort: number;
  /** Replaces `/tmp` (pid file, temp paths, the resolver include). */
  tempDir: string;
  /** Replaces `/etc/lookout/tenants` (the tenants Secret). */
  tenantsDir: string;
  /** Replaces `/etc/lookout/tls` (the certificate Secret). */
  tlsDir: string;
  /** Where `/dev/stdout` and `/dev/stderr` logs go instead. */
  logDir: string;
  services: ServiceResolver;
}

const LISTEN = /^(\s*listen\s+)0\.0\.0\.0:(\d+)((?:\s+ssl)?;)$/;

/** The rendered gateway nginx.conf, made runnable by a local nginx. */
export function rewriteGatewayConfig(rendered: string, local: GatewayLocalAddresses): string {
  const lines = rendered.split('\n');
  const listens = lines.flatMap((l) => {
    const m = LISTEN.exec(l);
    return m ? [{ port: Number(m[2]), ssl: m[3]!.includes('ssl') }] : [];
  });
  const publicListen = listens.filter((l) => l.ssl);
  const internalListen = listens.filter((l) => !l.ssl);
  if (publicListen.length !== 1 || internalListen.length !== 1) {
    throw new Error(`rewrite: expected one TLS and one plain listener in nginx.conf, found ${listens.length}`);
  }
  const renderedInternal = internalListen[0]!.port;
  const paths = {
    '/tmp': local.tempDir,
    '/etc/lookout/tenants': local.tenantsDir,
    '/etc/lookout/tls': local.tlsDir,
  };
  const logs: Record<string, string> = { '/dev/stdout': `${local.logDir}/access.log`, '/dev/stderr': `${local.logDir}/error.log` };

  let inServerPortMap = false;
  const out = lines.map((line) => {
    const listen = LISTEN.exec(line);
    if (listen) return `${listen[1]}${LOOPBACK}:${listen[3]!.includes('ssl') ? local.publicPort : local.internalPort}${listen[3]}`;
    if (/^\s*map \$server_port /.test(line)) inServerPortMap = true;
    else if (inServerPortMap && /^\s*}\s*$/.test(line)) inServerPortMap = false;
    else if (inServerPortMap) {
      const entry = /^(\s*)(\d+)(\s.*)$/.exec(line);
      if (entry && Number(entry[2]) === renderedInternal) return `${entry[1]}${local.internalPort}${entry[3]}`;
      if (entry) throw new Error(`rewrite: a map on $server_port names port ${entry[2]}, which is no listener of the gateway`);
    }
    const directive = /^(\s*)(pid|client_body_temp_path|proxy_temp_path|fastcgi_temp_path|uwsgi_temp_path|scgi_temp_path|include|ssl_certificate|ssl_certificate_key|error_log|access_log)\s+(\S+?)(;|\s.*;)$/.exec(line);
    if (directive) {
      const [, indent, name, value, rest] = directive as unknown as [string, string, string, string, string];
      const localValue = logs[value] ?? localPathOrThrow(value, paths);
      return `${indent}${name} ${localValue}${rest}`;
    }
    if (/^\s*set \$lookout_upstream /.test(line)) return localizeServiceAddresses(line, local.services);
    return line;
  });
  const text = out.join('\n');
  const leftover = /svc\.cluster\.local|0\.0\.0\.0|\/dev\/std(out|err)/.exec(text.replace(/^\s*#.*$/gm, ''));
  if (leftover) throw new Error(`rewrite: nginx.conf still holds "${leftover[0]}" after the rewrite`);
  return text;
}

/** What the container writes to /tmp/resolver.conf at start. Every upstream is an address here, so nothing is ever looked up. */
export function localResolverInclude(): string {
  return `resolver ${LOOPBACK}:53 valid=10s ipv6=off;\n`;
}

/** The args of a rendered workload's container, with `-config.file` pointing at the local copy. */
export function localizeArgs(args: readonly string[], configFile: string): string[] {
  return args.map((a) => (a.startsWith('-config.file=') ? `-config.file=${configFile}` : a));
}
