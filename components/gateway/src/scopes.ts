/**
 * Token scopes: which routes a token may reach. A scope is one of four words, and every route
 * of the allow-list (routes.ts) needs exactly one of the first three; `all` reaches everything,
 * as every token did before scopes existed (a token written without a scope is `all`).
 *
 * - `write`: pushing data (remote write, Loki push, sending alerts to the Alertmanager);
 * - `read`: querying, and everything a Grafana datasource reads (rule and alert state, rule
 *   groups, silences, the Alertmanager UI);
 * - `admin`: changing the tenant's alerting (rule groups, silences), the Alertmanager config in
 *   either direction (it holds receivers' credentials), and deleting log lines.
 *
 * The table is keyed on route names, which never change; `checkRouteScopes` proves at load time
 * that every route has a scope, so a new route without one fails every test at once.
 */
import { API_ROUTES, type GatewayRoute } from './routes.js';

export const TOKEN_SCOPES = ['write', 'read', 'admin', 'all'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
export type RouteScope = Exclude<TokenScope, 'all'>;

/** Routes that push data. */
const WRITE_ROUTES = new Set(['metrics.push', 'logs.push', 'alertmanager.alerts.write']);

/** Route names that change alerting or data, or show secrets; matched whole or by suffix. */
function isAdminRoute(name: string): boolean {
  return (
    /^(metrics|logs)\.rules\.write(\.|$)/.test(name) ||
    name.startsWith('alertmanager.config.') ||
    name === 'alertmanager.status' ||
    name === 'alertmanager.silences.write' ||
    name === 'alertmanager.silence.write' ||
    name === 'logs.delete.write'
  );
}

/** The scope a route needs. */
export function routeScope(route: Pick<GatewayRoute, 'name'>): RouteScope {
  if (WRITE_ROUTES.has(route.name)) return 'write';
  return isAdminRoute(route.name) ? 'admin' : 'read';
}

/** Whether a token of `scope` may reach a route needing `needed`. */
export function scopeAllows(scope: TokenScope, needed: RouteScope): boolean {
  return scope === 'all' || scope === needed;
}

/** Throws when a write-scope name is not a route (the table and routes.ts drifted apart). */
export function checkRouteScopes(routes: readonly GatewayRoute[]): void {
  const names = new Set(routes.map((r) => r.name));
  for (const name of WRITE_ROUTES) if (!names.has(name)) throw new Error(`gateway scopes: write route ${name} is not in the route table`);
}

checkRouteScopes(API_ROUTES);
