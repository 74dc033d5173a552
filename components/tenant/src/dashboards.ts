/**
 * The dashboards a tenant's Grafana is provisioned with: the tenant dashboards shipped in this
 * package (`dashboards/*.json`), set to the tenant, plus any the caller adds (the system
 * tenant gets the components' dashboards). They are files in a ConfigMap, loaded by Grafana's
 * file provider.
 *
 * A tenant's Grafana reads only the tenant's own data, so the shipped dashboards are built on
 * that data alone; dashboards of the platform's per-tenant metrics belong to the system tenant.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_PROVIDERS_KEY } from './grafana-config.js';

/** Shipped next to `src/` and `dist/`, so the same relative path works from both. */
export const TENANT_DASHBOARDS_DIR = fileURLToPath(new URL('../dashboards/', import.meta.url));

/** A ConfigMap key, and a name Grafana's file provider picks up. */
const DASHBOARD_FILE = /^[-._a-zA-Z0-9]+\.json$/;

/**
 * A ConfigMap holds at most 1 MiB; leave room for the provider file and the object's metadata.
 */
export const MAX_DASHBOARD_BYTES = 1_000_000;

let shipped: Record<string, string> | undefined;

/** The tenant dashboards of this package, by file name (read once per process). */
export function shippedTenantDashboards(): Record<string, string> {
  shipped ??= Object.fromEntries(
    readdirSync(TENANT_DASHBOARDS_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f, readFileSync(`${TENANT_DASHBOARDS_DIR}${f}`, 'utf8')]),
  );
  return shipped;
}

interface TemplateVariable {
  name?: string;
  type?: string;
  query?: unknown;
  current?: unknown;
  options?: unknown;
  [key: string]: unknown;
}

/** What a shipped dashboard is set to: its `tenant` and `domain` variables. */
export interface TenantDashboardContext {
  tenant: string;
  /** The instance's domain: the tenant's endpoints are `https://<tenant>.<domain>/...`. */
  domain: string;
}

/**
 * A shipped dashboard set to one tenant: its `tenant` and `domain` variables take the tenant's
 * values (a constant variable as its value, any other as its starting value), so panels and
 * text can name the tenant's own endpoints. Grafana has no built-in variable for the host a
 * user reached it on.
 */
export function dashboardForTenant(json: string, context: TenantDashboardContext): string {
  const dashboard = JSON.parse(json) as { templating?: { list?: TemplateVariable[] } };
  const values: Record<string, string> = { tenant: context.tenant, domain: context.domain };
  for (const variable of dashboard.templating?.list ?? []) {
    const value = variable.name === undefined ? undefined : values[variable.name];
    if (value === undefined) continue;
    variable.current = { selected: true, text: value, value };
    if (variable.type === 'constant') {
      variable.query = value;
      variable.options = [{ selected: true, text: value, value }];
    }
  }
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/**
 * Every dashboard file of one tenant. Throws a plain Error naming the file when a name is not
 * a valid ConfigMap key ending in `.json`, a file is not JSON, names collide, or the set does
 * not fit in a ConfigMap.
 */
export function tenantDashboardFiles(context: TenantDashboardContext, extra: Record<string, string> = {}): Record<string, string> {
  const { tenant } = context;
  const files: Record<string, string> = {};
  for (const [name, json] of Object.entries(shippedTenantDashboards())) files[name] = dashboardForTenant(json, context);
  for (const [name, json] of Object.entries(extra)) {
    if (!DASHBOARD_FILE.test(name) || name === DASHBOARD_PROVIDERS_KEY) {
      throw new Error(`Tenant ${tenant}: dashboard file name "${name}" must match ${DASHBOARD_FILE} (it becomes a ConfigMap key)`);
    }
    if (name in files) throw new Error(`Tenant ${tenant}: dashboard "${name}" is given twice (the tenant dashboards already have it)`);
    try {
      JSON.parse(json);
    } catch (err) {
      throw new Error(`Tenant ${tenant}: dashboard "${name}" is not valid JSON: ${(err as Error).message}`);
    }
    files[name] = json;
  }
  const bytes = Object.entries(files).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > MAX_DASHBOARD_BYTES) {
    throw new Error(
      `Tenant ${tenant}: dashboards take ${bytes} bytes, more than the ${MAX_DASHBOARD_BYTES} a ConfigMap can hold; ` +
        `shrink them (no pretty-printing) or split them`,
    );
  }
  return files;
}
