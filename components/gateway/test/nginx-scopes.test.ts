/**
 * Token scopes, expiry and tenant ids under the REAL nginx: every refusal (403 naming the missing
 * scope, 401 for an expired token), tokens in the old entry form still reaching everything, and
 * a token map changed on disk taking effect on a graceful reload without dropping a request
 * in flight.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/processes.js';
import { API_ROUTES, routeScope, TOKEN_SCOPES, type GatewayRoute, type RouteScope, type TokenScope } from '../src/index.js';
import { findNginx, NGINX_INSTALL_HINT } from './support/nginx.js';
import { startSmallGateway, type SmallGateway } from './support/small-gateway.js';

const nginx = findNginx();
if (!nginx) console.warn(`[skipped] token scopes under real nginx: nginx is not installed (${NGINX_INSTALL_HINT})`);

function token(tenant: string, label: string): string {
  return `lk_${tenant}_${createHash('sha256').update(`${tenant}/${label}`).digest('hex').slice(0, 48)}`;
}

/** A request path on the route: parameters filled in, optional ones too. */
function samplePath(route: GatewayRoute): string {
  return route.path.replace(/\/\{[a-z_]+\??\}/g, '/x').replace(/\/\*\*$/, '/a.js');
}

const SCOPED: Record<TokenScope, string> = {
  write: token('acme', 'write'),
  read: token('acme', 'read'),
  admin: token('acme', 'admin'),
  all: token('acme', 'all'),
};
const LEGACY = token('acme', 'legacy');
const EXPIRED = token('acme', 'expired');
const FUTURE = token('acme', 'future');
const now = () => Math.floor(Date.now() / 1000);

/**
 * Spot checks written out independently of scopes.ts, so that a wrong table fails here: the
 * issue's groups (push → write; queries and Grafana's datasources → read; rules and the
 * Alertmanager config → admin).
 */
const EXPECTED: ReadonlyArray<[method: string, path: string, scope: RouteScope]> = [
  ['POST', '/api/v1/push', 'write'],
  ['POST', '/loki/api/v1/push', 'write'],
  ['GET', '/prometheus/api/v1/query?query=up', 'read'],
  ['POST', '/prometheus/api/v1/query_range', 'read'],
  ['GET', '/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D', 'read'],
  ['GET', '/logs/loki/api/v1/labels', 'read'],
  ['GET', '/prometheus/api/v1/rules', 'read'],
  ['GET', '/prometheus/rules/ns', 'read'],
  ['POST', '/prometheus/rules/ns', 'admin'],
  ['POST', '/api/v1/rules/ns', 'admin'],
  ['DELETE', '/loki/api/v1/rules/ns/group', 'admin'],
  ['GET', '/api/v1/alerts', 'admin'],
  ['POST', '/api/v1/alerts', 'admin'],
  ['POST', '/loki/api/v1/delete', 'admin'],
];

describe.skipIf(!nginx)(`token scopes and expiry under real nginx (skipped when nginx is missing: ${NGINX_INSTALL_HINT})`, () => {
  let gw: SmallGateway;

  beforeAll(async () => {
    gw = await startSmallGateway(nginx!);
    gw.writeTenant('acme', [
      ...TOKEN_SCOPES.map((scope) => ({ value: SCOPED[scope], scope })),
      LEGACY,
      { value: EXPIRED, scope: 'all', expiresAt: now() - 60 },
      { value: FUTURE, scope: 'read', expiresAt: now() + 86_400 },
    ], 'acme.2');
    gw.writeTenant('other', [token('other', 'all')]);
    await gw.nginx.reload();
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses a narrower scope with 403 naming the missing scope, on the issue’s route groups', async () => {
    for (const [method, path, needed] of EXPECTED) {
      for (const scope of ['write', 'read', 'admin'] as const) {
        const before = gw.reached.length;
        const res = await gw.publicRequest('acme', path, { token: SCOPED[scope], method });
        if (scope === needed) {
          expect(res.status, `${scope} token on ${method} ${path}`).toBe(200);
          expect(gw.reached.at(-1)?.orgId).toBe('acme.2');
        } else {
          expect(res.status, `${scope} token on ${method} ${path}`).toBe(403);
          expect(res.body).toContain(`token scope ${scope} does not include ${needed}`);
          expect(gw.reached.length, 'a refused request never reaches the upstream').toBe(before);
        }
      }
    }
  });

  it('enforces the scope of every route on both listeners, and `all` reaches every route', async () => {
    for (const route of API_ROUTES) {
      const method = route.methods[0]!;
      const path = samplePath(route);
      const needed = routeScope(route);
      for (const scope of TOKEN_SCOPES) {
        const allowed = scope === 'all' || scope === needed;
        const pub = await gw.publicRequest('acme', path, { token: SCOPED[scope], method });
        const internal = await gw.internalRequest(path, { token: SCOPED[scope], method });
        for (const [listener, res] of [['public', pub], ['internal', internal]] as const) {
          expect(res.status, `${listener}: ${scope} token on ${route.name} (${method} ${path})`).toBe(allowed ? 200 : 403);
          if (!allowed) expect(res.body).toContain(`does not include ${needed}, which ${route.name} needs`);
        }
      }
    }
  });

  it('keeps a token without a scope working everywhere: in the old entry form, with the tenant’s name as its id', async () => {
    const other = token('other', 'all');
    for (const [method, path] of [['POST', '/api/v1/push'], ['GET', '/prometheus/api/v1/query'], ['POST', '/api/v1/alerts']] as const) {
      expect((await gw.publicRequest('acme', path, { token: LEGACY, method })).status).toBe(200);
      expect(gw.reached.at(-1)?.orgId).toBe('acme.2');
      expect((await gw.publicRequest('other', path, { token: other, method })).status).toBe(200);
      expect(gw.reached.at(-1)?.orgId).toBe('other');
    }
  });

  it('refuses an expired token with 401 saying so, and accepts one that expires later', async () => {
    const expired = await gw.publicRequest('acme', '/prometheus/api/v1/query', { token: EXPIRED });
    expect(expired.status).toBe(401);
    expect(expired.body).toBe('bearer token expired\n');
    expect(expired.headers['www-authenticate']).toBe('Bearer realm="lookout"');
    expect((await gw.internalRequest('/prometheus/api/v1/query', { token: EXPIRED })).status).toBe(401);
    expect((await gw.publicRequest('acme', '/prometheus/api/v1/query', { token: FUTURE })).status).toBe(200);
    const unknown = await gw.publicRequest('acme', '/prometheus/api/v1/query', { token: token('acme', 'nobody') });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toBe('missing or unknown bearer token\n');
  });

  it('starts refusing a token at its expiry time, with no reload', async () => {
    const soon = token('soon', 'write');
    const expiresAt = now() + 2;
    gw.writeTenant('soon', [{ value: soon, scope: 'write', expiresAt }]);
    await gw.nginx.reload();
    const first = await gw.publicRequest('soon', '/api/v1/push', { token: soon, method: 'POST' });
    const firstAt = Date.now() / 1000;
    expect(first.status).toBe(firstAt < expiresAt ? 200 : 401);
    await waitFor(async () => (await gw.publicRequest('soon', '/api/v1/push', { token: soon, method: 'POST' })).status === 401, {
      interval: 100,
      timeout: { milliseconds: 10_000, message: 'the token was still accepted 8 s after its expiry' },
    });
    expect(Date.now() / 1000, 'refused only once the expiry time has come').toBeGreaterThanOrEqual(expiresAt);
  });

  it('revokes a token on a graceful reload while a request with it is in flight, which still completes', async () => {
    const doomed = token('rev', 'doomed');
    gw.writeTenant('rev', [doomed]);
    await gw.nginx.reload();
    const inFlight = gw.publicRequest('rev', '/api/v1/push?hold=1', { token: doomed, method: 'POST' });
    await waitFor(() => gw.held() === 1, { interval: 10, timeout: { milliseconds: 5_000, message: 'the held request never reached the upstream' } });
    gw.writeTenant('rev', [token('rev', 'kept')]);
    // SIGHUP as the reload sidecar sends it; the old worker keeps serving the held request.
    process.kill(gw.nginx.pid, 'SIGHUP');
    await waitFor(async () => (await gw.publicRequest('rev', '/api/v1/push', { token: doomed, method: 'POST' })).status === 401, {
      interval: 20,
      timeout: { milliseconds: 10_000, message: 'the revoked token was still accepted 10 s after the reload' },
    });
    expect((await gw.publicRequest('rev', '/api/v1/push', { token: token('rev', 'kept'), method: 'POST' })).status).toBe(200);
    expect(gw.held(), 'the request in flight is still open').toBe(1);
    gw.release();
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(done.body).toBe('released\n');
  });
});
