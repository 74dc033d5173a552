/**
 * The route table as data: its invariants, the pure matcher (the same regular expressions nginx
 * runs) and the endpoints decided for tenants. The real-nginx suite proves nginx agrees.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { API_ROUTES, checkRouteTable, isNonCanonical, literalPrefix, matchRoute, requestUriRegex, type GatewayRoute } from '../src/index.js';

const nameOf = (method: string, uri: string) => {
  const m = matchRoute(method, uri);
  return 'route' in m ? m.route.name : m.refused;
};

describe('the route table', () => {
  it('gives every route a unique name, at least one method, and a shape one nginx location can serve', () => {
    expect(() => checkRouteTable(API_ROUTES)).not.toThrow();
    const base: GatewayRoute = { name: 'a.b', purpose: 'x', path: '/a', methods: ['GET'], upstream: 'ruler', body: 'api' };
    expect(() => checkRouteTable([base, base])).toThrow(/listed twice/);
    expect(() => checkRouteTable([base, { ...base, name: 'a.c' }])).toThrow(/both take \/a GET/);
    expect(() => checkRouteTable([base, { ...base, name: 'a.c', methods: ['POST'], upstream: 'alertmanager' }])).toThrow(/share the location \/a/);
    expect(() => checkRouteTable([{ ...base, name: 'A' }])).toThrow(/dotted lowercase/);
    expect(() => checkRouteTable([{ ...base, path: '/a/{b' }])).toThrow(/bad path/);
    expect(() => checkRouteTable([{ ...base, methods: [] }])).toThrow(/no method/);
  });

  it('splits reading from writing, so that a scope can be given one without the other', () => {
    for (const r of API_ROUTES) {
      const writes = r.methods.filter((m) => m !== 'GET');
      // Query APIs take POST for long queries: reads. Everything else that writes is named so.
      const isQuery = r.upstream === 'queryFrontend' || r.upstream === 'lokiRead';
      if (writes.length > 0 && !isQuery && r.body !== 'push') expect(r.name, r.path).toMatch(/\.write(\.|$)/);
      if (r.name.includes('.write')) expect(r.methods, r.name).not.toContain('GET');
    }
  });

  it('refuses what a tenant must not reach and allows what it needs (the decisions in the README)', () => {
    const decisions: Array<[string, string, string | number]> = [
      ['POST', '/api/v1/push', 'metrics.push'],
      ['GET', '/api/v1/push', 405],
      ['POST', '/api/v1/pushfoo', 404],
      ['GET', '/prometheus/api/v1/query?query=up', 'metrics.query'],
      ['POST', '/prometheus/api/v1/query', 'metrics.query'],
      ['DELETE', '/prometheus/api/v1/series', 405],
      ['GET', '/prometheus/api/v1/user_stats', 404],
      ['GET', '/api/v1/user_stats', 404],
      ['GET', '/prometheus/api/v1/status/buildinfo', 'metrics.build-info'],
      ['GET', '/api/v1/rules', 'metrics.rules.read'],
      ['GET', '/api/v1/rules/team%2Fa/group', 'metrics.rules.read'],
      ['GET', '/api/v1/rules/a/b/c', 404],
      ['POST', '/prometheus/rules/ns', 'metrics.rules.write.via-grafana'],
      ['POST', '/api/v1/alerts', 'alertmanager.config.write'],
      ['GET', '/alertmanager/api/v2/silences', 'alertmanager.silences.read'],
      ['DELETE', '/alertmanager/api/v2/silence/abc', 'alertmanager.silence.write'],
      ['GET', '/alertmanager/lib/font/x.woff', 'alertmanager.ui.lib'],
      ['GET', '/alertmanager/metrics', 404],
      ['GET', '/alertmanager/debug/pprof/heap', 404],
      ['POST', '/alertmanager/-/reload', 404],
      ['GET', '/loki/api/v1/tail?query=x', 'logs.tail'],
      ['GET', '/logs/loki/api/v1/tail?query=x', 'logs.tail.via-grafana'],
      ['POST', '/loki/api/v1/delete?query=x', 'logs.delete.write'],
      ['GET', '/loki/api/v1/delete', 'logs.delete.read'],
      ['GET', '/loki/api/v1/index/shards', 404],
      ['GET', '/loki/api/v1/cache/generation_numbers', 404],
      ['GET', '/loki/api/v1/%71uery', 404],
      ['POST', '/api/v1/push/../../ring', 400],
      ['POST', '/api/v1/push#/../x', 400],
      ['GET', '/prometheus/rules/ns%2F..%2Fx', 400],
    ];
    for (const [method, uri, expected] of decisions) expect(nameOf(method, uri), `${method} ${uri}`).toBe(expected);
  });

  it("are listed in the README, route by route, exactly as in the table", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z][a-z0-9.-]+)` \| ([A-Z, ]+) \| `([^`]+)` \| (\w+)(?: at `([^`]+)`)?(, websocket)? \| [^|]+ \|$/gm)];
    expect(rows.map((m) => [m[1], m[2], m[3], m[4], m[5], Boolean(m[6])])).toEqual(
      API_ROUTES.map((r) => [r.name, r.methods.join(', '), r.path, r.upstream, r.upstreamPath, Boolean(r.websocket)]),
    );
  });

  it('websockets are exactly Loki tail, at its own path and at the Grafana datasource path', () => {
    expect(API_ROUTES.filter((r) => r.websocket).map((r) => `${r.name} ${r.path}`)).toEqual([
      'logs.tail /loki/api/v1/tail',
      'logs.tail.via-grafana /logs/loki/api/v1/tail',
    ]);
  });
});

describe('path matching', () => {
  it('matches whole segments, literals as spelt, parameters as one segment each', () => {
    const re = (path: string) => new RegExp(requestUriRegex(path));
    expect(re('/api/v1/push').test('/api/v1/push?x=1')).toBe(true);
    expect(re('/api/v1/push').test('/api/v1/push/')).toBe(false);
    expect(re('/a/{b}/c').test('/a/x%2Fy/c')).toBe(true);
    expect(re('/a/{b}/c').test('/a//c')).toBe(false);
    expect(re('/a/{b?}/{c?}').test('/a')).toBe(true);
    expect(re('/a/{b?}/{c?}').test('/a/x/y')).toBe(true);
    expect(re('/a/{b?}/{c?}').test('/ab')).toBe(false);
    expect(re('/a/**').test('/a/b/c.css')).toBe(true);
    expect(re('/a/**').test('/a')).toBe(false);
    expect(literalPrefix('/a/b/{c}/d')).toBe('/a/b');
    expect(literalPrefix('/a/**')).toBe('/a');
    expect(literalPrefix('/a/')).toBe('/a/');
  });

  it('calls a path non-canonical when nginx and an upstream could read it differently', () => {
    for (const bad of ['//a', '/a//b', '/a/./b', '/a/../b', '/a/..', '/a/.', '/a/%2e%2e/b', '/a/%2E/b', '/a%2F..%2Fb', '/a/%2f/b', '/a\\b', '/a%5cb', '/a%00', '/a#b', '/a/..?x=1']) {
      expect(isNonCanonical(bad), bad).toBe(true);
    }
    for (const good of ['/a/b', '/a/b.c', '/a/..b', '/a/b..', '/a/team%2Fa', '/a?x=../..', '/a?x=%2e%2e//', '/alertmanager/', '/a/.well-known']) {
      expect(isNonCanonical(good), good).toBe(false);
    }
  });
});
