/**
 * The public endpoints of each tenant. One host per tenant; the APIs are told apart by path
 * (the gateway routes them), so users configure a single base URL per tenant.
 */
import { RESERVED_TENANTS, tenantHost } from '../naming.js';

export interface TenantEndpoints {
  tenant: string;
  host: string;
  remoteWrite: string;
  promql: string;
  lokiPush: string;
  loki: string;
  alertmanager: string;
  rules: string;
  grafana: string;
}

export function tenantEndpoints(tenant: string, domain: string): TenantEndpoints {
  const base = `https://${tenantHost(tenant, domain)}`;
  return {
    tenant,
    host: tenantHost(tenant, domain),
    remoteWrite: `${base}/api/v1/push`,
    promql: `${base}/prometheus`,
    lokiPush: `${base}/loki/api/v1/push`,
    loki: `${base}/loki`,
    alertmanager: `${base}/alertmanager`,
    rules: `${base}/api/v1/rules`,
    grafana: `${base}/`,
  };
}

/** Endpoints of every tenant, the built-in system tenant first. */
export function allTenantEndpoints(tenants: readonly { name: string }[], domain: string): TenantEndpoints[] {
  return [...RESERVED_TENANTS, ...tenants.map((t) => t.name)].map((t) => tenantEndpoints(t, domain));
}
