/**
 * The component dashboards for the system tenant's Grafana: plain Grafana dashboard JSON in
 * the package's `dashboards/` directory (edit them in Grafana, export, and replace the file).
 * Each references its Prometheus datasource through the `datasource` variable.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The package's `dashboards/` directory; the same relative place from `src/` and `dist/`. */
export const DASHBOARDS_DIR = new URL('../dashboards/', import.meta.url);

/** File name → dashboard JSON, in file name order. */
export function componentDashboards(): Record<string, string> {
  const files = readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return Object.fromEntries(files.map((f) => [f, readFileSync(new URL(f, DASHBOARDS_DIR), 'utf8')]));
}
