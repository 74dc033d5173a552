/**
 * The dashboards a tenant's Grafana is provisioned with: the tenant dashboards shipped in this
 * package (`dashboards/*.json`), set to the tenant, plus any the caller adds (the system
 * tenant gets the components' dashboards). They are files in a ConfigMap, loaded by Grafana's
 * file provider.
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
  current?: unknown;
  [key: string]: unknown;
}

/**
 * A shipped dashboard set to one tenant: its `tenant` variable starts at the tenant, so the
 * dashboard opens on the tenant's own numbers (operators in the system tenant can switch).
 */
export function dashboardForTenant(json: string, tenant: string): string {
  const dashboard = JSON.parse(json) as { templating?: { list?: TemplateVariable[] } };
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.name === 'tenant') {
      variable.current = { selected: true, text: tenant, value: tenant };
    }
  }
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/**
 * Every dashboard file of one tenant. Throws a plain Error naming the file when a name is not
 * a valid ConfigMap key ending in `.json`, a file is not JSON, names collide, or the set does
 * not fit in a ConfigMap.
 */
export function tenantDashboardFiles(tenant: string, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, json] of Object.entries(shippedTenantDashboards())) files[name] = dashboardForTenant(json, tenant);
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
