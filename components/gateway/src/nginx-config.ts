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
 *   entry and T match exactly      → $lookout_token_tenant       "acme" (else "")
 *   "<host tenant>:<token tenant>" → $lookout_public_access      ok | unauthorized | forbidden | not_found
 */
import { block, comment, directive, serializeNginx, type Directive, type Node } from './nginx-syntax.js';
import { API_ROUTES, HEALTH_PATH, TENANT_PLACEHOLDER, type ApiRoute, type ApiUpstream, type GatewayUpstreams } from './routes.js';
import { MAX_TOKEN_LENGTH, TENANT_FILE_GLOB, TENANT_KEY_PREFIX, TOKEN_KEY_PREFIX, TOKENS_FILE_GLOB } from './tenant-files.js';

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
   * tests and benchmarks: requests under `prefix` (one of the API routes' prefixes) go upstream
   * with `prefix` replaced by `replacement`, overriding the route's own `upstreamPrefix`.
   * Cortex and Loki need none.
   */
  pathRewrites?: ReadonlyArray<{ prefix: string; replacement: string }>;
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
    if (!API_ROUTES.some((route) => route.prefix === rewrite.prefix)) fail('pathRewrites', `prefix ${JSON.stringify(rewrite.prefix)} is not an API route prefix`);
    if (seen.has(rewrite.prefix)) fail('pathRewrites', `prefix ${rewrite.prefix} is rewritten twice`);
    seen.add(rewrite.prefix);
    checkPath(`pathRewrites replacement of ${rewrite.prefix}`, rewrite.replacement);
  }
  const variables = new Set<string>();
  for (const route of API_ROUTES) {
    if (route.upstreamPrefix !== undefined) checkPath(`upstream prefix of ${route.prefix}`, route.upstreamPrefix);
    // Two prefixes differing only in punctuation would share a variable: a bug in the table.
    const variable = upstreamUriVariable(route);
    if (variables.has(variable)) throw new Error(`gateway routes: ${route.prefix} has the same URI variable as another route`);
    variables.add(variable);
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

/** Escapes a string for a PCRE pattern; used for the domain in the host regex. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

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
    block(
      ['map', '$lookout_token_entry|$lookout_bearer_token', '$lookout_token_tenant'],
      [directive('default', ''), directive('~^([a-z0-9-]+):([A-Za-z0-9_-]+)\\|\\2$', '$1')],
    ),
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

function unauthorized(): Directive {
  return block(
    ['if', '($lookout_public_access', '=', 'unauthorized)'],
    [directive('add_header', 'WWW-Authenticate', BEARER_CHALLENGE, 'always'), directive('return', '401', 'missing or unknown bearer token\n')],
  );
}

/** The checks at the top of each API location, in the order nginx must apply them. */
function publicApiChecks(): Node[] {
  return [
    block(['if', '($lookout_public_access', '=', 'not_found)'], [directive('return', '404', 'unknown tenant\n')]),
    unauthorized(),
    block(['if', '($lookout_public_access', '=', 'forbidden)'], [directive('return', '403', 'this token belongs to another tenant\n')]),
  ];
}

function internalApiChecks(): Node[] {
  return [
    block(
      ['if', '($lookout_internal_access', '=', 'unauthorized)'],
      [directive('add_header', 'WWW-Authenticate', BEARER_CHALLENGE, 'always'), directive('return', '401', 'missing or unknown bearer token\n')],
    ),
  ];
}

/**
 * The headers sent upstream. nginx inherits proxy_set_header only when a level sets none, so
 * every proxied location gets the full list.
 */
function proxyHeaders(kind: 'api' | 'grafana'): Node[] {
  return [
    directive('proxy_set_header', 'Host', kind === 'grafana' ? '$host' : '$proxy_host'),
    comment(kind === 'api' ? 'Set by the gateway; a client copy is never passed on.' : 'Not a Cortex/Loki request; a client copy is dropped.'),
    directive('proxy_set_header', 'X-Scope-OrgID', kind === 'api' ? '$lookout_tenant' : ''),
    directive('proxy_set_header', 'Authorization', kind === 'api' ? '' : '$lookout_grafana_authorization'),
    directive('proxy_set_header', 'X-Real-IP', '$remote_addr'),
    directive('proxy_set_header', 'X-Forwarded-For', '$remote_addr'),
    directive('proxy_set_header', 'X-Forwarded-Proto', '$scheme'),
    directive('proxy_set_header', 'X-Forwarded-Host', '$host'),
    directive('proxy_set_header', 'Upgrade', '$http_upgrade'),
    directive('proxy_set_header', 'Connection', '$lookout_connection_upgrade'),
  ];
}

function apiLocation(route: ApiRoute, upstream: ParsedUpstream, checks: Node[], limits: GatewayLimits, rewritten: boolean): Directive {
  const uri = `$${upstreamUriVariable(route)}`;
  return block(
    ['location', route.prefix],
    [
      ...checks,
      // The location matched the decoded, normalised path; a raw URI that does not start with
      // the prefix (`/prometheus/%72ules`) cannot be rewritten faithfully and goes nowhere.
      ...(rewritten ? [block(['if', `(${uri}`, '=', `${NOT_REWRITABLE})`], [directive('return', '404', 'not an API path\n')])] : []),
      directive('limit_req', `zone=${RATE_LIMIT_ZONE}`, `burst=${limits.burst}`, 'nodelay'),
      directive('client_max_body_size', route.body === 'push' ? limits.pushBodySize : limits.apiBodySize),
      ...(route.body === 'push' ? [directive('client_body_buffer_size', PUSH_BODY_BUFFER_SIZE)] : []),
      // A variable in proxy_pass makes nginx resolve the name per request (cached `valid=`),
      // so a Service that does not exist yet or changes its IP never stops the gateway.
      directive('set', '$lookout_upstream', upstream.authority),
      // With a URI part built from variables, nginx sends exactly that URI, query included.
      directive('proxy_pass', `${upstream.scheme}://$lookout_upstream${rewritten ? uri : ''}`),
      ...proxyHeaders('api'),
    ],
  );
}

/** The upstream path prefix of a route: a test's rewrite, else the route's own, else none. */
function upstreamPrefixOf(options: GatewayConfigOptions, route: ApiRoute): string | undefined {
  return options.pathRewrites?.find((r) => r.prefix === route.prefix)?.replacement ?? route.upstreamPrefix;
}

/** Map value of a request URI that does not start with its route's prefix as sent. */
const NOT_REWRITABLE = 'none';

/** `/prometheus/rules` → `lookout_uri_prometheus_rules`: the variable holding the upstream URI. */
function upstreamUriVariable(route: ApiRoute): string {
  return `lookout_uri${route.prefix.replace(/[^A-Za-z0-9]+/g, '_')}`;
}

/**
 * One map per rewritten route, from the request URI as the client sent it (still
 * percent-encoded, query included) to the URI sent upstream. Unlike `rewrite`, which works
 * on the decoded path and re-encodes it, this keeps an encoded `/` in a rule namespace
 * (`/prometheus/rules/team%2Fa`) a single path segment upstream.
 */
function upstreamUriMaps(options: GatewayConfigOptions): Node[] {
  const maps: Node[] = [];
  for (const route of API_ROUTES) {
    const prefix = upstreamPrefixOf(options, route);
    if (prefix === undefined) continue;
    // A prefix ending in `/` takes any rest; otherwise the rest starts a new segment or the query.
    const rest = route.prefix.endsWith('/') ? '(.*)' : '((?:[/?].*)?)';
    maps.push(
      block(
        ['map', '$request_uri', `$${upstreamUriVariable(route)}`],
        [directive('default', NOT_REWRITABLE), directive(`~^${escapeRegex(route.prefix)}${rest}$`, `${prefix}$1`)],
      ),
    );
  }
  return maps.length === 0 ? [] : [comment('Request URIs of the routes whose upstream serves them under another path.'), ...maps];
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

function publicServer(options: GatewayConfigOptions, upstreams: Record<ApiUpstream, ParsedUpstream>, grafana: ParsedUpstream): Directive {
  const tls = options.public.tls;
  return block(
    ['server'],
    [
      comment(`Public listener: one host per tenant, <tenant>.${options.domain}.`),
      listen(options.public, tls !== null),
      directive('server_name', '_'),
      ...(tls ? tlsDirectives(tls) : []),
      healthLocation(),
      ...API_ROUTES.map((route) =>
        apiLocation(route, upstreams[route.upstream], publicApiChecks(), options.limits, upstreamPrefixOf(options, route) !== undefined),
      ),
      comment("Everything else is the tenant's Grafana, which has its own login: no bearer token needed."),
      block(
        ['location', '/'],
        [
          block(['if', '($lookout_grafana_access', '=', 'not_found)'], [directive('return', '404', 'unknown tenant\n')]),
          directive('client_max_body_size', options.limits.grafanaBodySize),
          directive('set', '$lookout_upstream', grafana.authority),
          directive('proxy_pass', `${grafana.scheme}://$lookout_upstream`),
          ...proxyHeaders('grafana'),
        ],
      ),
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
      ...API_ROUTES.map((route) =>
        apiLocation(route, upstreams[route.upstream], internalApiChecks(), options.limits, upstreamPrefixOf(options, route) !== undefined),
      ),
      block(['location', '/'], [directive('return', '404', 'not an API path\n')]),
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
        ...upstreamUriMaps(options),
        publicServer(options, upstreams, grafana),
        internalServer(options, upstreams),
      ],
    ),
  ];
  return serializeNginx(nodes);
}
