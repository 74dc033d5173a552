/**
 * The gateway's nginx.conf, as a pure function of typed options, so that it can be checked with
 * `nginx -t` and exercised under a real nginx in tests. Works on nginx 1.22 and 1.28: it uses
 * no directive newer than 1.22.
 *
 * How a request is decided (all in `map` blocks, evaluated lazily per request):
 *
 *   $host "acme.<domain>"          → $lookout_host_tenant        "acme"
 *   "tenant=acme" in tenant-*.conf → $lookout_known_host_tenant  "acme" (else "")
 *   "Authorization: Bearer T"      → $lookout_bearer_token       "T"
 *   "token=T" in tokens-*.conf     → $lookout_token_entry        "acme:T" (case-insensitive!)
 *   entry and T match exactly      → $lookout_token_match        "acme", or "acme:read:1767225600:acme.2"
 *   ... and it has not expired     → $lookout_token_tenant       "acme" (else ""); also
 *                                    $lookout_token_org "acme.2" (X-Scope-OrgID), $lookout_token_scope "read"
 *   "<host tenant>:<token tenant>" → $lookout_public_access      ok | unauthorized | forbidden | not_found
 *
 * and which endpoint it is, from the request URI exactly as sent (`$request_uri`), never from the
 * decoded and normalised `$uri` that nginx picks a location with:
 *
 *   dot-segments, `//`, `%2E`, ...    → $lookout_bad_path      "bad": 400
 *   the route path the URI matches   → $lookout_api_path      "/api/v1/rules/{namespace?}/{group?}" (else "": 404)
 *   that path's nginx location       → $lookout_api_location  "/api/v1/rules": must be the location nginx chose
 *   "<path> <method>"                → $lookout_route         "metrics.rules.read" (else "": 405)
 *   route name, token scope          → $lookout_scope_missing "admin" when the token lacks it (403)
 *   the URI sent upstream            → $lookout_upstream_uri  `$request_uri`, or with the prefix replaced
 *
 * Every API location is a prefix location on a route's literal prefix, so a path that merely
 * starts like a route (`/api/v1/pushfoo`) lands there and is refused by the checks above.
 */
import { block, comment, directive, serializeNginx, type Directive, type Node } from './nginx-syntax.js';
import {
  API_PATH_SPACES,
  API_ROUTES,
  GRAFANA_LIVE_PATH,
  HEALTH_PATH,
  NON_CANONICAL_PATH,
  TENANT_PLACEHOLDER,
  escapeRegex,
  literalPrefix,
  pathPatternRegex,
  requestUriRegex,
  type ApiUpstream,
  type GatewayRoute,
  type GatewayUpstreams,
} from './routes.js';
import { routeScope } from './scopes.js';
import { assertClientCidr } from './client-cidrs.js';
import { CLIENTS_FILE_GLOB, MAX_TOKEN_LENGTH, TENANT_FILE_GLOB, TENANT_KEY_PREFIX, TOKEN_KEY_PREFIX, TOKENS_FILE_GLOB } from './tenant-files.js';

export interface GatewayListener {
  /** IPv4 address, `[IPv6]` address, or `*`. */
  address: string;
  port: number;
}

export interface GatewayTls {
  certificatePath: string;
  keyPath: string;
}

export interface PublicListener extends GatewayListener {
  /**
   * TLS on the public listener (TLSv1.2 and TLSv1.3). `null` serves plain HTTP, which only
   * tests and benchmarks on loopback should do; it is explicit so it is never the default.
   */
  tls: GatewayTls | null;
}

/**
 * nginx resolves the upstream names itself (proxy_pass with variables), so it needs a
 * `resolver`. In Kubernetes the container writes an include file from /etc/resolv.conf at start
 * (see `resolverIncludeScript`); elsewhere, give the addresses.
 */
export type GatewayResolver =
  | { include: string }
  | {
      /** `127.0.0.1`, `10.0.0.10:53`, `[fd00::a]`, `[fd00::a]:53`. */
      addresses: readonly string[];
      /** How long answers are cached, overriding their TTL. */
      validSeconds?: number;
      /** Also ask for AAAA records. */
      ipv6?: boolean;
    };

export interface GatewayLimits {
  /** client_max_body_size of remote write and Loki push, e.g. `16m`. */
  pushBodySize: string;
  /** client_max_body_size of the other API routes (queries, rules, Alertmanager config). */
  apiBodySize: string;
  /** client_max_body_size of Grafana (dashboard imports). */
  grafanaBodySize: string;
  /**
   * Sustained API requests per second per tenant, counted by each gateway replica on its own
   * (a tenant spread over N replicas may send up to N times this).
   */
  requestsPerSecond: number;
  /** Requests above the rate a tenant may send at once before getting 429. */
  burst: number;
}

export interface GatewayPaths {
  pidFile: string;
  /** nginx creates its body and proxy temp directories under it; must be writable. */
  tempDir: string;
  /** A file, or `/dev/stdout` in a container. */
  accessLog: string;
  /** A file, or `/dev/stderr` in a container. */
  errorLog: string;
}

export interface GatewayConfigOptions {
  /** Tenant hosts are `<tenant>.<domain>`. */
  domain: string;
  public: PublicListener;
  /** Plain HTTP listener for in-cluster clients (the tenants' Grafanas); tenant from the token alone. */
  internal: GatewayListener;
  /** Directory holding the tenants' `tokens-*.conf` and `tenant-*.conf` files. */
  tenantsDir: string;
  upstreams: GatewayUpstreams;
  resolver: GatewayResolver;
  limits: GatewayLimits;
  paths: GatewayPaths;
  workerProcesses: number | 'auto';
  /** Per worker; default 4096. */
  workerConnections?: number;
  /**
   * Path rewrites for upstreams that serve an API under other paths than Cortex and Loki,
   * such as a plain Prometheus (remote write at `/api/v1/write`, PromQL at `/api/v1/...`) in
   * tests and benchmarks: requests to every route whose path starts with `prefix` go upstream
   * with `prefix` replaced by `replacement`, overriding the route's own `upstreamPath`.
   * Cortex and Loki need none.
   */
  pathRewrites?: ReadonlyArray<{ prefix: string; replacement: string }>;
  /**
   * Client CIDRs (IPv4 or IPv6) that may call the data APIs on the public listener; a tenant's
   * own `clients-<tenant>.conf` replaces this for that tenant. Absent: every client. Needs the
   * real client address in `$remote_addr` (see client-cidrs.ts).
   */
  allowedClientCidrs?: readonly string[];
}

export const DEFAULT_GATEWAY_LIMITS: GatewayLimits = {
  pushBodySize: '16m',
  apiBodySize: '4m',
  grafanaBodySize: '32m',
  requestsPerSecond: 500,
  burst: 1000,
};

/** Remote-write and push batches are buffered in memory up to this size, then on disk. */
const PUSH_BODY_BUFFER_SIZE = '512k';

const RATE_LIMIT_ZONE = 'lookout_tenants';

/**
 * nginx needs an entry of 8 + align8(key length + 2) bytes plus an 8-byte end marker to fit in
 * one bucket; 256 fits keys up to 238 characters, `token=` plus the longest token included.
 */
export const MAP_HASH_BUCKET_SIZE = 256;

/** The `WWW-Authenticate` challenge sent with every 401 (RFC 6750). */
export const BEARER_CHALLENGE = 'Bearer realm="lookout"';

const ACCESS_LOG_FORMAT = 'lookout_json';

/**
 * One JSON object per request. Neither the Authorization header nor the query string is
 * logged: the first is a secret, the second may carry anything a client put there.
 */
const ACCESS_LOG_FIELDS: ReadonlyArray<[string, string, 'string' | 'number']> = [
  ['time', '$time_iso8601', 'string'],
  ['listener', '$lookout_listener', 'string'],
  ['tenant', '$lookout_tenant', 'string'],
  ['host', '$host', 'string'],
  ['method', '$request_method', 'string'],
  ['route', '$lookout_route', 'string'],
  ['path', '$uri', 'string'],
  ['status', '$status', 'number'],
  ['bytes', '$body_bytes_sent', 'number'],
  ['request_length', '$request_length', 'number'],
  ['request_time', '$request_time', 'number'],
  ['upstream', '$upstream_addr', 'string'],
  ['upstream_status', '$upstream_status', 'string'],
  ['upstream_time', '$upstream_response_time', 'string'],
  ['remote_addr', '$remote_addr', 'string'],
  ['user_agent', '$http_user_agent', 'string'],
];

function accessLogFormat(): string {
  const fields = ACCESS_LOG_FIELDS.map(([key, variable, kind]) => (kind === 'number' ? `"${key}":${variable}` : `"${key}":"${variable}"`));
  return `{${fields.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------
// Validation: every option ends up inside nginx.conf, so each is checked against what it may be.

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const LISTEN_ADDRESS = /^(\*|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])$/;
const RESOLVER_ADDRESS = /^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;
const SIZE = /^[1-9]\d*[kKmMgG]?$/;
const UPSTREAM_URL = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9a-fA-F:.]+\])(?::(\d{1,5}))?\/?$/;
const SAFE_PATH = /^\/[A-Za-z0-9._\/-]*$/;

function fail(what: string, why: string): never {
  throw new Error(`gateway config: ${what} ${why}`);
}

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(what, `must be a port number, not ${port}`);
}

function checkPath(what: string, path: string): void {
  if (!SAFE_PATH.test(path)) fail(what, `must be an absolute path of [A-Za-z0-9._/-], not ${JSON.stringify(path)}`);
}

function checkPositiveInteger(what: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) fail(what, `must be a whole number ≥ ${min}, not ${value}`);
}

interface ParsedUpstream {
  scheme: 'http' | 'https';
  /** host:port, possibly with nginx variables in it. */
  authority: string;
}

function parseUpstream(what: string, url: string, hostTransform: (host: string) => string = (h) => h, shown = url): ParsedUpstream {
  const m = UPSTREAM_URL.exec(url);
  if (!m) fail(what, `must be an http(s) URL with a host and an optional port and no path, not ${JSON.stringify(shown)}`);
  const [, scheme, host, port] = m as unknown as [string, 'http' | 'https', string, string | undefined];
  if (port !== undefined) checkPort(`${what} port`, Number(port));
  return { scheme, authority: `${hostTransform(host)}${port === undefined ? '' : `:${port}`}` };
}

/** The Grafana URL template with `{tenant}` turned into the nginx variable of the host's tenant. */
function parseGrafanaTemplate(template: string): ParsedUpstream {
  if (!template.includes(TENANT_PLACEHOLDER)) fail('upstreams.grafana', `must contain ${TENANT_PLACEHOLDER}, not ${JSON.stringify(template)}`);
  // Validate with a stand-in label, then put the variable where the placeholder was.
  const STAND_IN = 'tenantplaceholder0';
  const probe = template.split(TENANT_PLACEHOLDER).join(STAND_IN);
  return parseUpstream('upstreams.grafana', probe, (host) => host.split(STAND_IN).join('${lookout_known_host_tenant}'), template);
}

function validate(options: GatewayConfigOptions): void {
  if (!DOMAIN.test(options.domain)) fail('domain', `must be a lowercase DNS name with at least two labels, not ${JSON.stringify(options.domain)}`);
  for (const [what, listener] of [['public', options.public], ['internal', options.internal]] as const) {
    if (!LISTEN_ADDRESS.test(listener.address)) fail(`${what}.address`, `must be an IPv4 address, [IPv6] address or *, not ${JSON.stringify(listener.address)}`);
    checkPort(`${what}.port`, listener.port);
  }
  if (options.public.port === options.internal.port) fail('internal.port', 'must differ from public.port (the listener is told apart by its port)');
  if (options.public.tls) {
    checkPath('public.tls.certificatePath', options.public.tls.certificatePath);
    checkPath('public.tls.keyPath', options.public.tls.keyPath);
  }
  checkPath('tenantsDir', options.tenantsDir);
  for (const [what, path] of Object.entries(options.paths)) checkPath(`paths.${what}`, path);
  if ('include' in options.resolver) {
    checkPath('resolver.include', options.resolver.include);
  } else {
    if (options.resolver.addresses.length === 0) fail('resolver.addresses', 'must list at least one DNS server');
    for (const address of options.resolver.addresses) {
      if (!RESOLVER_ADDRESS.test(address)) fail('resolver.addresses', `must be IPv4 or [IPv6] addresses with optional ports, not ${JSON.stringify(address)}`);
    }
    if (options.resolver.validSeconds !== undefined) checkPositiveInteger('resolver.validSeconds', options.resolver.validSeconds);
  }
  for (const key of ['pushBodySize', 'apiBodySize', 'grafanaBodySize'] as const) {
    if (!SIZE.test(options.limits[key])) fail(`limits.${key}`, `must be a size such as 512k or 16m, not ${JSON.stringify(options.limits[key])}`);
  }
  checkPositiveInteger('limits.requestsPerSecond', options.limits.requestsPerSecond);
  checkPositiveInteger('limits.burst', options.limits.burst, 0);
  if (options.workerProcesses !== 'auto') checkPositiveInteger('workerProcesses', options.workerProcesses);
  if (options.workerConnections !== undefined) checkPositiveInteger('workerConnections', options.workerConnections, 64);
  const seen = new Set<string>();
  for (const rewrite of options.pathRewrites ?? []) {
    if (!API_ROUTES.some((route) => underPrefix(route.path, rewrite.prefix))) fail('pathRewrites', `prefix ${JSON.stringify(rewrite.prefix)} starts no API route's path`);
    if (seen.has(rewrite.prefix)) fail('pathRewrites', `prefix ${rewrite.prefix} is rewritten twice`);
    seen.add(rewrite.prefix);
    checkPath(`pathRewrites replacement of ${rewrite.prefix}`, rewrite.replacement);
  }
  for (const route of API_ROUTES) {
    if (route.upstreamPath !== undefined) checkPath(`upstream path of route ${route.name}`, route.upstreamPath);
  }
  for (const cidr of options.allowedClientCidrs ?? []) assertClientCidr('allowedClientCidrs', cidr);
  if (options.allowedClientCidrs?.length === 0) fail('allowedClientCidrs', 'is empty: leave it out to admit every client');
}

/** Whether a route path starts with a rewrite prefix at a segment boundary. */
function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || (path.startsWith(prefix) && (prefix.endsWith('/') || path[prefix.length] === '/'));
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/** The regex that takes the tenant label out of `$host` (`$host` is lowercased by nginx). */
export function hostTenantRegex(domain: string): string {
  return `~^(?<lookout_host_label>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\\.${escapeRegex(domain)}$`;
}

function resolverDirectives(resolver: GatewayResolver): Node[] {
  if ('include' in resolver) {
    return [comment('Written from /etc/resolv.conf when the container starts.'), directive('include', resolver.include)];
  }
  return [
    directive(
      'resolver',
      ...resolver.addresses,
      `valid=${resolver.validSeconds ?? 10}s`,
      ...(resolver.ipv6 ? [] : ['ipv6=off']),
    ),
  ];
}

function tenantMaps(options: GatewayConfigOptions): Node[] {
  const dir = options.tenantsDir.replace(/\/+$/, '');
  return [
    comment('The tenant a host names: <tenant>.<domain>.'),
    block(['map', '$host', '$lookout_host_tenant'], [directive('default', ''), directive(hostTenantRegex(options.domain), '$lookout_host_label')]),
    comment('Only tenants with a tenant-<name>.conf file exist (the tenant stacks write them).'),
    block(
      ['map', `${TENANT_KEY_PREFIX}$lookout_host_tenant`, '$lookout_known_host_tenant'],
      [directive('default', ''), directive('include', `${dir}/${TENANT_FILE_GLOB}`)],
    ),
    comment('The bearer token of the request, when the Authorization header has one.'),
    block(
      ['map', '$http_authorization', '$lookout_bearer_token'],
      [directive('default', ''), directive('~*^bearer +(?<lookout_bearer>[A-Za-z0-9_-]+) *$', '$lookout_bearer')],
    ),
    comment(
      'Token → "<tenant>:<token>". nginx compares map strings case-insensitively, so the next map\n' +
        'accepts the entry only if its token is exactly (case-sensitively) the one sent.',
    ),
    block(
      ['map', `${TOKEN_KEY_PREFIX}$lookout_bearer_token`, '$lookout_token_entry'],
      [directive('default', ''), directive('include', `${dir}/${TOKENS_FILE_GLOB}`)],
    ),
    comment('The entry without its token: "<tenant>" (old form) or "<tenant>:<scope>:<expiry>:<tenant id>".'),
    block(
      ['map', '$lookout_token_entry|$lookout_bearer_token', '$lookout_token_match'],
      [directive('default', ''), directive('~^([a-z0-9-]+):([A-Za-z0-9_-]+)((?::[^|]*)?)\\|\\2$', '$1$3')],
    ),
    ...tokenLifetimeMaps(),
    ...clientMaps(options),
    comment('The decision on the public listener: unknown host first, then the token, then whose it is.'),
    block(
      ['map', '$lookout_known_host_tenant:$lookout_token_tenant', '$lookout_public_access'],
      [
        directive('~^:', 'not_found'),
        directive('~^([a-z0-9-]+):\\1$', 'ok'),
        directive('~^[a-z0-9-]+:$', 'unauthorized'),
        directive('default', 'forbidden'),
      ],
    ),
    comment('The internal listener needs only a known token; Grafana only a known tenant host.'),
    block(['map', '$lookout_token_tenant', '$lookout_internal_access'], [directive('default', 'ok'), directive('', 'unauthorized')]),
    block(['map', '$lookout_known_host_tenant', '$lookout_grafana_access'], [directive('default', 'ok'), directive('', 'not_found')]),
    comment('The tenant of a request: from the host on the public listener, from the token on the internal one.'),
    block(
      ['map', '$server_port', '$lookout_tenant'],
      [directive('default', '$lookout_known_host_tenant'), directive(String(options.internal.port), '$lookout_token_tenant')],
    ),
    block(['map', '$server_port', '$lookout_listener'], [directive('default', 'public'), directive(String(options.internal.port), 'internal')]),
    comment("Grafana keeps its own credentials (basic auth, service account tokens); a gateway token never reaches it."),
    block(['map', '$lookout_token_tenant', '$lookout_grafana_authorization'], [directive('default', ''), directive('', '$http_authorization')]),
    block(['map', '$http_upgrade', '$lookout_connection_upgrade'], [directive('default', 'upgrade'), directive('', '')]),
  ];
}

/**
 * A token's tenant, id and scope, and whether it has expired. Expiry needs the time, and nginx
 * has no arithmetic: the expiry (ten digits) and `$msec` (ten digits before its dot until
 * 2286) are compared digit by digit with one regular expression: a common prefix, then a
 * position where the expiry's digit is the greater one. No such position: expired.
 */
function tokenLifetimeMaps(): Node[] {
  const later = Array.from({ length: 9 }, (_, i) => `${i + 1}\\d*:\\S+ \\2[0-${i}]`).join('|');
  return [
    block(
      ['map', '$lookout_token_match $msec', '$lookout_token_tenant'],
      [
        directive('default', ''),
        directive('~^([a-z0-9-]+) ', '$1'),
        directive('~^([a-z0-9-]+):[a-z]+:-:', '$1'),
        directive(`~^([a-z0-9-]+):[a-z]+:(\\d*)(?:${later})`, '$1'),
      ],
    ),
    comment('A known token that is no longer accepted has expired.'),
    block(
      ['map', '$lookout_token_match|$lookout_token_tenant', '$lookout_auth_error'],
      [directive('default', 'missing or unknown bearer token'), directive('~^[^|]+\\|$', 'bearer token expired')],
    ),
    comment("The tenant id the stores key data by: the tenant's name for tokens in the old form."),
    block(
      ['map', '$lookout_token_match', '$lookout_token_org'],
      [directive('default', ''), directive('~^([a-z0-9-]+)$', '$1'), directive('~^[a-z0-9-]+:[a-z]+:[-0-9]+:([a-z0-9.-]+)$', '$1')],
    ),
    block(['map', '$lookout_token_match', '$lookout_token_scope'], [directive('default', 'all'), directive('~^[a-z0-9-]+:([a-z]+):', '$1')]),
  ];
}

function unauthorized(): Directive {
  return block(
    ['if', '($lookout_public_access', '=', 'unauthorized)'],
    [directive('add_header', 'WWW-Authenticate', BEARER_CHALLENGE, 'always'), directive('return', '401', '$lookout_auth_error\n')],
  );
}

/** 403 when the route needs a scope the token lacks; after the route is known (404, 405 first). */
function refuseMissingScope(): Directive {
  return block(
    ['if', '($lookout_scope_missing)'],
    [directive('return', '403', 'token scope $lookout_token_scope does not include $lookout_scope_missing, which $lookout_route needs\n')],
  );
}

/**
 * Whether the client may call the host tenant's data APIs: the tenant's own list when it has one
 * (clients-<tenant>.conf), else the instance's (`geo`, on the real client address).
 */
function clientMaps(options: GatewayConfigOptions): Node[] {
  const dir = options.tenantsDir.replace(/\/+$/, '');
  const cidrs = options.allowedClientCidrs;
  return [
    comment(cidrs ? 'Clients the instance admits to the data APIs.' : 'No instance-wide client allow-list: every client.'),
    block(['geo', '$lookout_instance_client'], [directive('default', cidrs ? 'deny' : 'allow'), ...(cidrs ?? []).map((cidr) => directive(cidr, 'allow'))]),
    comment("A tenant's own allow-list, when its stack wrote one."),
    block(['map', '$lookout_known_host_tenant $remote_addr', '$lookout_tenant_client'], [directive('default', ''), directive('include', `${dir}/${CLIENTS_FILE_GLOB}`)]),
    block(
      ['map', '$lookout_tenant_client:$lookout_instance_client', '$lookout_client_access'],
      [directive('default', 'deny'), directive('~^allow:', 'allow'), directive(':allow', 'allow')],
    ),
  ];
}

/** 400 for a raw path whose meaning could differ between nginx and an upstream. */
function refuseNonCanonical(): Directive {
  return block(['if', '($lookout_bad_path)'], [directive('return', '400', 'not a canonical path: no dot-segments, empty segments, encoded dots or backslashes\n')]);
}

/** The checks at the top of each API location, in the order nginx must apply them. */
function publicApiChecks(): Node[] {
  return [
    refuseNonCanonical(),
    block(['if', '($lookout_client_access', '=', 'deny)'], [directive('return', '403', 'client address $remote_addr may not call these APIs\n')]),
    block(['if', '($lookout_public_access', '=', 'not_found)'], [directive('return', '404', 'unknown tenant\n')]),
    unauthorized(),
    block(['if', '($lookout_public_access', '=', 'forbidden)'], [directive('return', '403', 'this token belongs to another tenant\n')]),
  ];
}

function internalApiChecks(): Node[] {
  return [
    refuseNonCanonical(),
    block(
      ['if', '($lookout_internal_access', '=', 'unauthorized)'],
      [directive('add_header', 'WWW-Authenticate', BEARER_CHALLENGE, 'always'), directive('return', '401', '$lookout_auth_error\n')],
    ),
  ];
}

/**
 * The headers sent upstream. nginx inherits proxy_set_header only when a level sets none, so
 * every proxied location gets the full list. `Upgrade` and `Connection` pass only to websocket
 * endpoints; everywhere else they are cleared, so no other endpoint can be switched to another
 * protocol through the gateway.
 */
function proxyHeaders(kind: 'api' | 'grafana', websocket: boolean): Node[] {
  return [
    directive('proxy_set_header', 'Host', kind === 'grafana' ? '$host' : '$proxy_host'),
    comment(kind === 'api' ? 'Set by the gateway; a client copy is never passed on.' : 'Not a Cortex/Loki request; a client copy is dropped.'),
    directive('proxy_set_header', 'X-Scope-OrgID', kind === 'api' ? '$lookout_token_org' : ''),
    directive('proxy_set_header', 'Authorization', kind === 'api' ? '' : '$lookout_grafana_authorization'),
    directive('proxy_set_header', 'X-Real-IP', '$remote_addr'),
    directive('proxy_set_header', 'X-Forwarded-For', '$remote_addr'),
    directive('proxy_set_header', 'X-Forwarded-Proto', '$scheme'),
    directive('proxy_set_header', 'X-Forwarded-Host', '$host'),
    directive('proxy_set_header', 'Upgrade', websocket ? '$http_upgrade' : ''),
    directive('proxy_set_header', 'Connection', websocket ? '$lookout_connection_upgrade' : ''),
  ];
}

/** The API routes grouped by nginx location (their literal prefix), in table order. */
function apiLocations(): Array<{ location: string; routes: GatewayRoute[] }> {
  const groups = new Map<string, GatewayRoute[]>();
  for (const route of API_ROUTES) {
    const location = literalPrefix(route.path);
    groups.set(location, [...(groups.get(location) ?? []), route]);
  }
  return [...groups].map(([location, routes]) => ({ location, routes }));
}

/** The distinct route paths, in table order. */
function routePaths(): string[] {
  return [...new Set(API_ROUTES.map((r) => r.path))];
}

/**
 * One location per literal prefix. The location was chosen on the decoded path; the checks make
 * sure the raw path is on a route of this very location, and that the method is one it takes.
 */
function apiLocation(location: string, routes: GatewayRoute[], upstream: ParsedUpstream, checks: Node[], limits: GatewayLimits): Directive {
  const { body, websocket } = routes[0]!;
  return block(
    ['location', location],
    [
      ...checks,
      comment(`Routes: ${routes.map((r) => `${r.name} (${r.methods.join(', ')} ${r.path})`).join('; ')}.`),
      block(['if', '($lookout_api_location', '!=', `${location})`], [directive('return', '404', 'not an API path\n')]),
      // `""` and `)` as two words: nginx takes a lone `)` as the end of the condition.
      block(['if', '($lookout_route', '=', '', ')'], [directive('add_header', 'Allow', '$lookout_allow', 'always'), directive('return', '405', 'method not allowed\n')]),
      refuseMissingScope(),
      directive('limit_req', `zone=${RATE_LIMIT_ZONE}`, `burst=${limits.burst}`, 'nodelay'),
      directive('client_max_body_size', body === 'push' ? limits.pushBodySize : limits.apiBodySize),
      ...(body === 'push' ? [directive('client_body_buffer_size', PUSH_BODY_BUFFER_SIZE)] : []),
      // A variable in proxy_pass makes nginx resolve the name per request (cached `valid=`),
      // so a Service that does not exist yet or changes its IP never stops the gateway.
      directive('set', '$lookout_upstream', upstream.authority),
      // With a URI part built from variables, nginx sends exactly that URI, query included.
      directive('proxy_pass', `${upstream.scheme}://$lookout_upstream$lookout_upstream_uri`),
      ...proxyHeaders('api', Boolean(websocket)),
    ],
  );
}

/** The rewrite of a route path: a test's (longest matching prefix), else the route's own, else none. */
function rewriteOf(options: GatewayConfigOptions, path: string): { prefix: string; replacement: string } | undefined {
  const own = API_ROUTES.find((r) => r.path === path && r.upstreamPath !== undefined);
  const test = (options.pathRewrites ?? []).filter((r) => underPrefix(path, r.prefix)).sort((a, b) => b.prefix.length - a.prefix.length)[0];
  if (test) return test;
  return own ? { prefix: literalPrefix(path), replacement: own.upstreamPath! } : undefined;
}

/** The maps that identify the endpoint from the raw request URI (see the file's header). */
function routeMaps(options: GatewayConfigOptions): Node[] {
  const paths = routePaths();
  const rewrites = paths.flatMap((path) => {
    const rewrite = rewriteOf(options, path);
    if (!rewrite) return [];
    const rest = pathPatternRegex(path.slice(rewrite.prefix.length));
    return [directive(`~^${escapeRegex(rewrite.prefix)}(${rest}(?:\\?.*)?)$`, `${rewrite.replacement}$1`)];
  });
  const methodsOf = (path: string) => API_ROUTES.filter((r) => r.path === path).flatMap((r) => r.methods);
  return [
    comment('A raw path nginx and an upstream could read differently: dot-segments, empty segments, encoded dots or slashes next to them, backslashes, NUL, a fragment.'),
    block(['map', '$request_uri', '$lookout_bad_path'], [directive('default', ''), directive(`~*${NON_CANONICAL_PATH}`, 'bad')]),
    comment('The route path the raw request URI is on (whole segments, literals as spelt in the table).'),
    block(['map', '$request_uri', '$lookout_api_path'], [directive('default', ''), ...paths.map((path) => directive(`~${requestUriRegex(path)}`, path))]),
    block(['map', '$lookout_api_path', '$lookout_api_location'], [directive('default', ''), ...paths.map((path) => directive(path, literalPrefix(path)))]),
    comment('The route: a path and one of its methods. Its name is logged (and what a token scope will name).'),
    block(
      ['map', '$lookout_api_path $request_method', '$lookout_route'],
      [directive('default', ''), ...API_ROUTES.flatMap((r) => r.methods.map((m) => directive(`${r.path} ${m}`, r.name)))],
    ),
    comment('The scope each route needs, and the one a token lacks for it (empty: none lacking).'),
    block(['map', '$lookout_route', '$lookout_route_scope'], [directive('default', ''), ...API_ROUTES.map((r) => directive(r.name, routeScope(r)))]),
    block(
      ['map', '$lookout_token_scope:$lookout_route_scope', '$lookout_scope_missing'],
      [directive('default', '$lookout_route_scope'), directive('~^all:', ''), directive('~^([a-z]+):\\1$', ''), directive('~:$', '')],
    ),
    block(['map', '$lookout_api_path', '$lookout_allow'], [directive('default', ''), ...paths.map((path) => directive(path, methodsOf(path).join(', ')))]),
    comment('The URI sent upstream: as the client sent it (still percent-encoded), with the prefix replaced where the store serves the route under another path.'),
    block(['map', '$request_uri', '$lookout_upstream_uri'], [directive('default', '$request_uri'), ...rewrites]),
  ];
}

function healthLocation(): Directive {
  return block(['location', '=', HEALTH_PATH], [directive('access_log', 'off'), directive('return', '200', 'ok\n')]);
}

function listen(listener: GatewayListener, tls: boolean): Directive {
  return directive('listen', `${listener.address}:${listener.port}`, ...(tls ? ['ssl'] : []));
}

function tlsDirectives(tls: GatewayTls): Node[] {
  return [
    directive('ssl_certificate', tls.certificatePath),
    directive('ssl_certificate_key', tls.keyPath),
    directive('ssl_protocols', 'TLSv1.2', 'TLSv1.3'),
    comment('Mozilla "intermediate" ciphers for TLSv1.2; TLSv1.3 suites are OpenSSL defaults.'),
    directive(
      'ssl_ciphers',
      'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
    ),
    directive('ssl_prefer_server_ciphers', 'off'),
    directive('ssl_session_cache', 'shared:lookout_tls:10m'),
    directive('ssl_session_timeout', '1d'),
    directive('ssl_session_tickets', 'off'),
  ];
}

function upstreamsOf(options: GatewayConfigOptions): Record<ApiUpstream, ParsedUpstream> {
  const { grafana: _grafana, ...api } = options.upstreams;
  return Object.fromEntries(Object.entries(api).map(([key, url]) => [key, parseUpstream(`upstreams.${key}`, url)])) as Record<ApiUpstream, ParsedUpstream>;
}

function grafanaLocation(words: string[], grafana: ParsedUpstream, limits: GatewayLimits, websocket: boolean): Directive {
  return block(words, [
    refuseNonCanonical(),
    block(['if', '($lookout_grafana_access', '=', 'not_found)'], [directive('return', '404', 'unknown tenant\n')]),
    directive('client_max_body_size', limits.grafanaBodySize),
    directive('set', '$lookout_upstream', grafana.authority),
    directive('proxy_pass', `${grafana.scheme}://$lookout_upstream$request_uri`),
    ...proxyHeaders('grafana', websocket),
  ]);
}

function publicServer(options: GatewayConfigOptions, upstreams: Record<ApiUpstream, ParsedUpstream>, grafana: ParsedUpstream): Directive {
  const tls = options.public.tls;
  const locations = apiLocations();
  const taken = new Set(locations.map((l) => l.location));
  return block(
    ['server'],
    [
      comment(`Public listener: one host per tenant, <tenant>.${options.domain}.`),
      listen(options.public, tls !== null),
      directive('server_name', '_'),
      ...(tls ? tlsDirectives(tls) : []),
      healthLocation(),
      ...locations.map(({ location, routes }) => apiLocation(location, routes, upstreams[routes[0]!.upstream], publicApiChecks(), options.limits)),
      comment("The stores' path spaces: what is on no route is refused here, never sent to Grafana."),
      ...API_PATH_SPACES.filter((space) => !taken.has(space)).map((space) =>
        block(['location', space], [refuseNonCanonical(), directive('return', '404', 'not an API path\n')]),
      ),
      comment("Everything else is the tenant's Grafana, which has its own login: no bearer token needed. Only Grafana Live upgrades to a websocket."),
      grafanaLocation(['location', '=', GRAFANA_LIVE_PATH], grafana, options.limits, true),
      grafanaLocation(['location', '/'], grafana, options.limits, false),
    ],
  );
}

function internalServer(options: GatewayConfigOptions, upstreams: Record<ApiUpstream, ParsedUpstream>): Directive {
  return block(
    ['server'],
    [
      comment('Internal listener (in-cluster clients): the tenant is the bearer token\'s; no Grafana here.'),
      listen(options.internal, false),
      directive('server_name', '_'),
      healthLocation(),
      ...apiLocations().map(({ location, routes }) => apiLocation(location, routes, upstreams[routes[0]!.upstream], internalApiChecks(), options.limits)),
      block(['location', '/'], [refuseNonCanonical(), directive('return', '404', 'not an API path\n')]),
    ],
  );
}

/** The complete nginx.conf of the gateway. Deterministic: the same options give the same text. */
export function renderGatewayConfig(options: GatewayConfigOptions): string {
  validate(options);
  const upstreams = upstreamsOf(options);
  const grafana = parseGrafanaTemplate(options.upstreams.grafana);
  const temp = options.paths.tempDir.replace(/\/+$/, '');
  const nodes: Node[] = [
    comment('Generated by @lookout/gateway (renderGatewayConfig); do not edit.'),
    directive('worker_processes', String(options.workerProcesses)),
    directive('pid', options.paths.pidFile),
    directive('error_log', options.paths.errorLog, 'warn'),
    directive('pcre_jit', 'on'),
    block(['events'], [directive('worker_connections', String(options.workerConnections ?? 4096))]),
    block(
      ['http'],
      [
        directive('server_tokens', 'off'),
        directive('default_type', 'text/plain'),
        directive('tcp_nodelay', 'on'),
        directive('keepalive_timeout', '65s'),
        directive('client_header_timeout', '30s'),
        directive('client_body_timeout', '60s'),
        directive('send_timeout', '60s'),
        comment('Grafana session cookies can be long.'),
        directive('large_client_header_buffers', '4', '16k'),
        directive('client_max_body_size', options.limits.apiBodySize),
        directive('client_body_temp_path', `${temp}/client_body`),
        directive('proxy_temp_path', `${temp}/proxy`),
        directive('fastcgi_temp_path', `${temp}/fastcgi`),
        directive('uwsgi_temp_path', `${temp}/uwsgi`),
        directive('scgi_temp_path', `${temp}/scgi`),
        directive('proxy_http_version', '1.1'),
        directive('proxy_connect_timeout', '5s'),
        directive('proxy_send_timeout', '300s'),
        directive('proxy_read_timeout', '300s'),
        ...resolverDirectives(options.resolver),
        directive('resolver_timeout', '5s'),
        directive('log_format', ACCESS_LOG_FORMAT, 'escape=json', accessLogFormat()),
        directive('access_log', options.paths.accessLog, ACCESS_LOG_FORMAT),
        comment('Requests per second per tenant; requests without a tenant are never counted.'),
        directive('limit_req_zone', '$lookout_tenant', `zone=${RATE_LIMIT_ZONE}:10m`, `rate=${options.limits.requestsPerSecond}r/s`),
        directive('limit_req_status', '429'),
        directive('limit_req_log_level', 'warn'),
        comment(
          `The map hashes must hold the longest key (a ${MAX_TOKEN_LENGTH}-character token); the default\n` +
            'bucket (one cache line) does not even hold a typical 58-character token key.',
        ),
        directive('map_hash_bucket_size', String(MAP_HASH_BUCKET_SIZE)),
        directive('map_hash_max_size', '16384'),
        ...tenantMaps(options),
        ...routeMaps(options),
        publicServer(options, upstreams, grafana),
        internalServer(options, upstreams),
      ],
    ),
  ];
  return serializeNginx(nodes);
}
