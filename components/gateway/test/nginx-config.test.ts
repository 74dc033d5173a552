import { describe, expect, it } from 'vitest';
import { API_ROUTES, DEFAULT_GATEWAY_LIMITS, GRAFANA_DATASOURCE_PATHS, GRAFANA_LIVE_PATH, escapeRegex, hostTenantRegex, literalPrefix, renderGatewayConfig, type GatewayConfigOptions } from '../src/index.js';
import { quoteWord, serializeNginx, block, comment, directive } from '../src/nginx-syntax.js';

function options(overrides: Partial<GatewayConfigOptions> = {}): GatewayConfigOptions {
  return {
    domain: 'obs.example.com',
    public: { address: '0.0.0.0', port: 8443, tls: { certificatePath: '/etc/tls/tls.crt', keyPath: '/etc/tls/tls.key' } },
    internal: { address: '0.0.0.0', port: 8080 },
    tenantsDir: '/etc/lookout/tenants',
    upstreams: {
      distributor: 'http://cortex-distributor.lookout.svc.cluster.local:8080',
      queryFrontend: 'http://cortex-query-frontend.lookout.svc.cluster.local:8080',
      ruler: 'http://cortex-ruler.lookout.svc.cluster.local:8080',
      alertmanager: 'http://cortex-alertmanager.lookout.svc.cluster.local:8080',
      lokiWrite: 'http://loki-write.lookout.svc.cluster.local:3100',
      lokiRead: 'http://loki-read.lookout.svc.cluster.local:3100',
      lokiBackend: 'http://loki-backend.lookout.svc.cluster.local:3100',
      grafana: 'http://grafana.tenant-{tenant}.svc.cluster.local:3000',
    },
    resolver: { include: '/tmp/resolver.conf' },
    limits: DEFAULT_GATEWAY_LIMITS,
    paths: { pidFile: '/tmp/nginx.pid', tempDir: '/tmp', accessLog: '/dev/stdout', errorLog: '/dev/stderr' },
    workerProcesses: 2,
    ...overrides,
  };
}

/** The text of each `server { ... }` block, public first. */
function servers(config: string): string[] {
  return config.split(/^    server \{$/m).slice(1);
}

/** The body of one `location <prefix> {` block inside a server's text. */
function location(server: string, prefix: string): string {
  const start = server.indexOf(`        location ${prefix} {\n`);
  if (start < 0) throw new Error(`no location ${prefix}`);
  return server.slice(start, server.indexOf('\n        }\n', start));
}

describe('nginx syntax', () => {
  it('leaves plain words bare and quotes the rest so nginx reads them back exactly', () => {
    expect(quoteWord('proxy_pass')).toBe('proxy_pass');
    expect(quoteWord('$lookout_tenant')).toBe('$lookout_tenant');
    expect(quoteWord('($a')).toBe('($a');
    expect(quoteWord('')).toBe('""');
    expect(quoteWord('a b')).toBe('"a b"');
    expect(quoteWord('Bearer realm="lookout"')).toBe('"Bearer realm=\\"lookout\\""');
    expect(quoteWord('~^a\\.b$')).toBe('"~^a\\\\.b$"');
    expect(quoteWord('ok\n')).toBe('"ok\\n"');
    expect(quoteWord('x;y{z}#')).toBe('"x;y{z}#"');
    expect(() => quoteWord('a\0b')).toThrow(/NUL/);
  });

  it('serializes directives, blocks and comments with indentation', () => {
    const text = serializeNginx([comment('why'), block(['events'], [directive('worker_connections', '64')]), directive('pid', '/tmp/p')]);
    expect(text).toBe('# why\nevents {\n    worker_connections 64;\n}\npid /tmp/p;\n');
  });
});

describe('renderGatewayConfig', () => {
  it('is deterministic', () => {
    expect(renderGatewayConfig(options())).toBe(renderGatewayConfig(options()));
    expect(renderGatewayConfig(options())).not.toBe(renderGatewayConfig(options({ domain: 'other.example.com' })));
  });

  it('terminates TLSv1.2 and TLSv1.3 on the public listener, or serves plain HTTP when told to', () => {
    const tls = renderGatewayConfig(options());
    expect(tls).toContain('listen 0.0.0.0:8443 ssl;');
    expect(tls).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    expect(tls).toContain('ssl_certificate /etc/tls/tls.crt;');
    expect(tls).toContain('ssl_certificate_key /etc/tls/tls.key;');
    expect(tls).toContain('listen 0.0.0.0:8080;');
    const plain = renderGatewayConfig(options({ public: { address: '127.0.0.1', port: 18443, tls: null } }));
    expect(plain).toContain('listen 127.0.0.1:18443;');
    expect(plain).not.toContain('ssl');
  });

  it('escapes the domain in the host regex', () => {
    expect(escapeRegex('a.b-c.com')).toBe('a\\.b\\-c\\.com');
    const regex = hostTenantRegex('obs.example.com');
    expect(regex).toBe('~^(?<lookout_host_label>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\\.obs\\.example\\.com$');
    // The same pattern in JavaScript's regex dialect (named groups are written the same way).
    const js = new RegExp(regex.slice(1));
    expect(js.exec('acme.obs.example.com')?.groups?.lookout_host_label).toBe('acme');
    expect(js.exec('team-7.obs.example.com')?.groups?.lookout_host_label).toBe('team-7');
    for (const host of ['acme.obsxexample.com', 'acme.obs.example.comx', 'a.b.obs.example.com', 'obs.example.com', '-a.obs.example.com', 'acme.obs.example.com.evil.test']) {
      expect(js.test(host), host).toBe(false);
    }
    // In the file the backslashes are escaped for nginx's tokenizer, which turns `\\` back into `\`.
    expect(renderGatewayConfig(options())).toContain('"~^(?<lookout_host_label>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\\\\.obs\\\\.example\\\\.com$" $lookout_host_label;');
  });

  it('includes the tenant files into the token and tenant maps', () => {
    const config = renderGatewayConfig(options({ tenantsDir: '/srv/tenants/' }));
    expect(config).toContain('include /srv/tenants/tokens-*.conf;');
    expect(config).toContain('include /srv/tenants/tenant-*.conf;');
    expect(config).toMatch(/map token=\$lookout_bearer_token \$lookout_token_entry \{\n\s+default "";\n\s+include \/srv\/tenants\/tokens-\*\.conf;/);
    expect(config).toMatch(/map tenant=\$lookout_host_tenant \$lookout_known_host_tenant \{\n\s+default "";\n\s+include \/srv\/tenants\/tenant-\*\.conf;/);
  });

  it('routes every API path on both listeners, sets X-Scope-OrgID and clears Authorization', () => {
    const [publicServer, internalServer] = servers(renderGatewayConfig(options()));
    for (const server of [publicServer!, internalServer!]) {
      for (const route of API_ROUTES) {
        const body = location(server, literalPrefix(route.path));
        const host = new URL(options().upstreams[route.upstream]).host;
        expect(body, route.name).toContain(`set $lookout_upstream ${host};`);
        // The URI its map computed: as sent, or with the prefix replaced.
        expect(body, route.name).toContain('proxy_pass http://$lookout_upstream$lookout_upstream_uri;');
        expect(body, route.name).toContain(`if ($lookout_api_location != ${literalPrefix(route.path)}) {`);
        expect(body, route.name).toContain(`${route.name} (${route.methods.join(', ')} ${route.path})`);
        expect(body).toContain('proxy_set_header X-Scope-OrgID $lookout_token_org;');
        expect(body).toContain('proxy_set_header Authorization "";');
        expect(body).toContain(`limit_req zone=lookout_tenants burst=${DEFAULT_GATEWAY_LIMITS.burst} nodelay;`);
        expect(body).toContain(`client_max_body_size ${route.body === 'push' ? '16m' : '4m'};`);
        // The refusals come first: an unauthenticated request learns nothing about paths.
        expect(body.indexOf('if ($lookout_bad_path)')).toBeLessThan(body.indexOf('if ($lookout_api_location'));
        expect(body.indexOf('access = unauthorized')).toBeLessThan(body.indexOf('if ($lookout_api_location'));
        expect(body.indexOf('if ($lookout_api_location')).toBeLessThan(body.indexOf('if ($lookout_route = "" )'));
      }
    }
    expect(location(publicServer!, '/api/v1/push')).toContain('if ($lookout_public_access = forbidden)');
    expect(location(internalServer!, '/api/v1/push')).toContain('if ($lookout_internal_access = unauthorized)');
    expect(location(internalServer!, '/api/v1/push')).not.toContain('$lookout_public_access');
  });

  it('passes Upgrade and Connection only in the websocket locations', () => {
    const [publicServer, internalServer] = servers(renderGatewayConfig(options()));
    const websocket = new Set(API_ROUTES.filter((r) => r.websocket).map((r) => literalPrefix(r.path)));
    expect([...websocket].sort()).toEqual(['/logs/loki/api/v1/tail', '/loki/api/v1/tail']);
    for (const server of [publicServer!, internalServer!]) {
      for (const prefix of new Set(API_ROUTES.map((r) => literalPrefix(r.path)))) {
        const body = location(server, prefix);
        if (websocket.has(prefix)) {
          expect(body).toContain('proxy_set_header Upgrade $http_upgrade;');
          expect(body).toContain('proxy_set_header Connection $lookout_connection_upgrade;');
        } else {
          expect(body, prefix).toContain('proxy_set_header Upgrade "";');
          expect(body, prefix).toContain('proxy_set_header Connection "";');
        }
      }
    }
    expect(location(publicServer!, `= ${GRAFANA_LIVE_PATH}`)).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(location(publicServer!, '/')).toContain('proxy_set_header Upgrade "";');
  });

  it("refuses non-canonical paths on every location that proxies, and keeps the stores' path spaces from Grafana", () => {
    const config = renderGatewayConfig(options());
    const [publicServer, internalServer] = servers(config);
    expect(config).toContain('map $request_uri $lookout_bad_path {');
    for (const server of [publicServer!, internalServer!]) {
      const proxying = server.split(/\n        location /).slice(1).filter((l) => l.includes('proxy_pass'));
      expect(proxying.length).toBeGreaterThan(30);
      for (const l of proxying) expect(l, l.split('\n')[0]).toContain('if ($lookout_bad_path) {');
    }
    for (const space of ['/prometheus/', '/loki/', '/logs/']) expect(location(publicServer!, space)).toContain('return 404');
    expect(location(internalServer!, '/')).toContain('if ($lookout_bad_path) {');
  });

  it("sends / to the tenant's Grafana on the public listener only", () => {
    const [publicServer, internalServer] = servers(renderGatewayConfig(options()));
    const grafana = location(publicServer!, '/');
    expect(grafana).toContain('set $lookout_upstream "grafana.tenant-${lookout_known_host_tenant}.svc.cluster.local:3000";');
    expect(grafana).toContain('proxy_set_header Host $host;');
    expect(grafana).toContain('proxy_set_header X-Scope-OrgID "";');
    expect(grafana).toContain('proxy_set_header Authorization $lookout_grafana_authorization;');
    expect(grafana).not.toContain('limit_req');
    expect(location(internalServer!, '/')).toContain('return 404');
    expect(internalServer).not.toContain('grafana.tenant');
    expect(internalServer).not.toContain(GRAFANA_LIVE_PATH);
  });

  it('uses the rate, burst and body limits given', () => {
    const config = renderGatewayConfig(
      options({ limits: { pushBodySize: '32m', apiBodySize: '2m', grafanaBodySize: '8m', requestsPerSecond: 7, burst: 0 } }),
    );
    expect(config).toContain('limit_req_zone $lookout_tenant zone=lookout_tenants:10m rate=7r/s;');
    expect(config).toContain('limit_req zone=lookout_tenants burst=0 nodelay;');
    expect(config).toContain('limit_req_status 429;');
    expect(config).toContain('client_max_body_size 32m;');
    expect(config).toContain('client_max_body_size 8m;');
    expect(config).toContain('client_max_body_size 2m;');
  });

  it('logs JSON without the Authorization header, the query string or cookies', () => {
    const config = renderGatewayConfig(options());
    const format = config.split('\n').find((l) => l.includes('log_format'))!;
    expect(format).toContain('escape=json');
    for (const field of ['tenant', 'method', 'path', 'status', 'bytes', 'request_time', 'upstream_status']) expect(format).toContain(`\\"${field}\\":`);
    for (const variable of ['$http_authorization', '$request ', '$request_uri', '$args', '$query_string', '$http_cookie', '$lookout_bearer_token']) {
      expect(format).not.toContain(variable);
    }
    expect(format).toContain('$uri');
  });

  it('takes the resolver from an include file or from explicit addresses', () => {
    expect(renderGatewayConfig(options())).toContain('include /tmp/resolver.conf;');
    const explicit = renderGatewayConfig(options({ resolver: { addresses: ['10.96.0.10', '[fd00::a]:53'], validSeconds: 30 } }));
    expect(explicit).toContain('resolver 10.96.0.10 [fd00::a]:53 valid=30s ipv6=off;');
    expect(renderGatewayConfig(options({ resolver: { addresses: ['10.96.0.10'], ipv6: true } }))).toContain('resolver 10.96.0.10 valid=10s;');
  });

  it('tells the listeners apart by port for the tenant variable', () => {
    const config = renderGatewayConfig(options({ internal: { address: '0.0.0.0', port: 9090 } }));
    expect(config).toMatch(/map \$server_port \$lookout_tenant \{\n\s+default \$lookout_known_host_tenant;\n\s+9090 \$lookout_token_tenant;/);
  });

  it('refuses options that would not be valid or safe nginx config', () => {
    const bad: Array<[string, Partial<GatewayConfigOptions>, RegExp]> = [
      ['uppercase domain', { domain: 'Obs.Example.com' }, /domain/],
      ['single-label domain', { domain: 'localhost' }, /domain/],
      ['injected domain', { domain: 'example.com; include /etc/passwd' }, /domain/],
      ['same ports', { internal: { address: '0.0.0.0', port: 8443 } }, /internal\.port/],
      ['port 0', { internal: { address: '0.0.0.0', port: 0 } }, /internal\.port/],
      ['host name as address', { public: { address: 'localhost', port: 8443, tls: null } }, /public\.address/],
      ['relative tenants dir', { tenantsDir: 'tenants' }, /tenantsDir/],
      ['glob in tenants dir', { tenantsDir: '/etc/*' }, /tenantsDir/],
      ['quote in a path', { paths: { ...options().paths, accessLog: '/tmp/a"b' } }, /paths\.accessLog/],
      ['upstream with a path', { upstreams: { ...options().upstreams, ruler: 'http://ruler:8080/api' } }, /upstreams\.ruler/],
      ['upstream with a variable', { upstreams: { ...options().upstreams, ruler: 'http://$host:8080' } }, /upstreams\.ruler/],
      ['upstream scheme', { upstreams: { ...options().upstreams, ruler: 'ftp://ruler:8080' } }, /upstreams\.ruler/],
      ['upstream port', { upstreams: { ...options().upstreams, ruler: 'http://ruler:99999' } }, /upstreams\.ruler port/],
      ['grafana without placeholder', { upstreams: { ...options().upstreams, grafana: 'http://grafana:3000' } }, /upstreams\.grafana/],
      ['grafana placeholder in path', { upstreams: { ...options().upstreams, grafana: 'http://grafana:3000/{tenant}' } }, /upstreams\.grafana/],
      ['no resolver', { resolver: { addresses: [] } }, /resolver\.addresses/],
      ['resolver name', { resolver: { addresses: ['kube-dns'] } }, /resolver\.addresses/],
      ['size unit', { limits: { ...DEFAULT_GATEWAY_LIMITS, pushBodySize: '16mb' } }, /limits\.pushBodySize/],
      ['zero rate', { limits: { ...DEFAULT_GATEWAY_LIMITS, requestsPerSecond: 0 } }, /limits\.requestsPerSecond/],
      ['fractional burst', { limits: { ...DEFAULT_GATEWAY_LIMITS, burst: 1.5 } }, /limits\.burst/],
      ['zero workers', { workerProcesses: 0 }, /workerProcesses/],
    ];
    for (const [what, overrides, error] of bad) {
      expect(() => renderGatewayConfig(options(overrides)), what).toThrow(error);
    }
  });

  /** The `map` block `map <source> <variable> { ... }` of a config: its default and its entries, unescaped. */
  function mapEntries(config: string, variable: string): { default: string; entries: Array<[string, string]> } {
    const start = config.indexOf(` ${variable} {\n`);
    if (start < 0) throw new Error(`no map ${variable}`);
    const body = config.slice(start, config.indexOf('\n    }\n', start)).split('\n').slice(1);
    const unquote = (w: string) => (w.startsWith('"') ? w.slice(1, -1).replace(/\\(.)/g, '$1') : w);
    const entries = body.map((line) => /^\s*("(?:[^"\\]|\\.)*"|\S+) (.+);$/.exec(line)!).map((m) => [unquote(m[1]!), unquote(m[2]!)] as [string, string]);
    return { default: entries.find(([k]) => k === 'default')?.[1] ?? '', entries: entries.filter(([k]) => k !== 'default') };
  }

  /** What nginx computes for `$lookout_upstream_uri`, with the map's regexes run in JavaScript. */
  function upstreamUri(config: string, requestUri: string): string {
    for (const [key, value] of mapEntries(config, '$lookout_upstream_uri').entries) {
      const match = new RegExp(key.slice(1)).exec(requestUri);
      if (match) return value.replace('$1', match[1] ?? '');
    }
    return requestUri;
  }

  it('rewrites only the route prefixes asked for, from the raw request URI', () => {
    const config = renderGatewayConfig(options({ pathRewrites: [{ prefix: '/api/v1/push', replacement: '/api/v1/write' }, { prefix: '/prometheus/', replacement: '/' }] }));
    expect(mapEntries(config, '$lookout_upstream_uri').default).toBe('$request_uri');
    expect(upstreamUri(config, '/api/v1/push')).toBe('/api/v1/write');
    expect(upstreamUri(config, '/api/v1/push?x=1')).toBe('/api/v1/write?x=1');
    expect(upstreamUri(config, '/prometheus/api/v1/query?query=up')).toBe('/api/v1/query?query=up');
    expect(upstreamUri(config, '/prometheus/api/v1/label/job/values')).toBe('/api/v1/label/job/values');
    // A test's rewrite overrides the route's own upstream path.
    expect(upstreamUri(config, '/prometheus/rules/ns')).toBe('/rules/ns');
    expect(upstreamUri(config, '/loki/api/v1/push')).toBe('/loki/api/v1/push');
    const plain = renderGatewayConfig(options());
    expect(plain).not.toContain('rewrite');
    expect(upstreamUri(plain, '/api/v1/push')).toBe('/api/v1/push');
    expect(() => renderGatewayConfig(options({ pathRewrites: [{ prefix: '/metrics', replacement: '/' }] }))).toThrow(/starts no API route/);
    expect(() => renderGatewayConfig(options({ pathRewrites: [{ prefix: '/api/v1/pu', replacement: '/' }] }))).toThrow(/starts no API route/);
    expect(() => renderGatewayConfig(options({ pathRewrites: [{ prefix: '/api/v1/push', replacement: '/a b' }] }))).toThrow(/pathRewrites/);
    expect(() =>
      renderGatewayConfig(options({ pathRewrites: [{ prefix: '/api/v1/push', replacement: '/a' }, { prefix: '/api/v1/push', replacement: '/b' }] })),
    ).toThrow(/rewritten twice/);
  });

  it('identifies the route from the raw request URI: path, location, name per method, Allow header', () => {
    const config = renderGatewayConfig(options());
    const pathOf = (uri: string) => mapEntries(config, '$lookout_api_path').entries.find(([k]) => new RegExp(k.slice(1)).test(uri))?.[1];
    expect(pathOf('/api/v1/rules/team%2Fa/g?x')).toBe('/api/v1/rules/{namespace?}/{group?}');
    expect(pathOf('/api/v1/rules/a/b/c')).toBeUndefined();
    expect(pathOf('/api/v1/pushfoo')).toBeUndefined();
    expect(pathOf('/prometheus/api/v1/%71uery')).toBeUndefined();
    const route = new Map(mapEntries(config, '$lookout_route').entries);
    expect(route.get('/api/v1/rules/{namespace?}/{group?} GET')).toBe('metrics.rules.read');
    expect(route.get('/api/v1/rules/{namespace?}/{group?} DELETE')).toBe('metrics.rules.write');
    expect(route.get('/api/v1/push GET')).toBeUndefined();
    expect(new Map(mapEntries(config, '$lookout_allow').entries).get('/loki/api/v1/delete')).toBe('GET, POST, PUT, DELETE');
    expect(new Map(mapEntries(config, '$lookout_api_location').entries).get('/prometheus/api/v1/label/{name}/values')).toBe('/prometheus/api/v1/label');
  });

  it("maps Grafana's ruler paths to the stores' rule config APIs, keeping the rest of the raw URI", () => {
    const config = renderGatewayConfig(options());
    expect(upstreamUri(config, '/prometheus/rules')).toBe('/api/v1/rules');
    expect(upstreamUri(config, '/prometheus/rules?subtype=cortex')).toBe('/api/v1/rules?subtype=cortex');
    expect(upstreamUri(config, '/prometheus/rules/a%2Fb/c%20d')).toBe('/api/v1/rules/a%2Fb/c%20d');
    expect(upstreamUri(config, '/prometheus/config/v1/rules/ns/g')).toBe('/api/v1/rules/ns/g');
    expect(upstreamUri(config, '/logs/api/prom/rules/ns?subtype=mimir')).toBe('/loki/api/v1/rules/ns?subtype=mimir');
    expect(upstreamUri(config, '/logs/prometheus/api/v1/rules')).toBe('/prometheus/api/v1/rules');
    expect(upstreamUri(config, '/logs/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D')).toBe('/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D');
    expect(upstreamUri(config, '/logs/loki/api/v1/label/app/values')).toBe('/loki/api/v1/label/app/values');
    // Every Grafana datasource path prefixes the routes its rules go through.
    const under = (prefix: string) => API_ROUTES.filter((r) => r.path.startsWith(`${prefix}/`));
    expect(new Set(under(GRAFANA_DATASOURCE_PATHS.loki).map((r) => r.upstream))).toEqual(new Set(['lokiBackend', 'lokiRead']));
    expect(under(GRAFANA_DATASOURCE_PATHS.loki).every((r) => r.upstreamPath !== undefined)).toBe(true);
    expect([...new Set(under(GRAFANA_DATASOURCE_PATHS.prometheus).filter((r) => r.upstream === 'ruler').map((r) => literalPrefix(r.path)))].sort()).toEqual([
      '/prometheus/api/v1/alerts',
      '/prometheus/api/v1/rules',
      '/prometheus/config/v1/rules',
      '/prometheus/rules',
    ]);
  });

  it('uses no directive newer than nginx 1.22 (no `http2 on`, no upstream `resolve`)', () => {
    const config = renderGatewayConfig(options());
    expect(config).not.toMatch(/^\s*http2 /m);
    expect(config).not.toMatch(/\bresolve;/);
    expect(config).not.toMatch(/^\s*upstream /m);
  });
});
