import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { GATEWAY_METRICS, componentDashboards, gatewayTlsJob } from '../src/index.js';
import { PROMETHEUS_TOOLS_HINT, hasTool, runTool, substituteVariables, toolSuiteTitle, withTempDir } from './support.js';

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> };
  panels: Panel[];
}

const files = componentDashboards();
const dashboards = Object.entries(files).map(([file, json]) => ({ file, json, dashboard: JSON.parse(json) as Dashboard }));

describe('component dashboards', () => {
  it('cover Cortex writes, reads, object storage and compactor, Loki, the gateway, Kubernetes and every tenant against its limits', () => {
    expect(Object.keys(files)).toEqual([
      'cortex-object-storage.json',
      'cortex-reads.json',
      'cortex-writes.json',
      'gateway.json',
      'kubernetes.json',
      'loki.json',
      'tenant-overview.json',
    ]);
  });

  it('use only variables they define (or Grafana built-ins)', () => {
    for (const { file, dashboard } of dashboards) {
      const defined = new Set(dashboard.templating.list.map((v) => v.name));
      for (const panel of dashboard.panels) {
        for (const t of panel.targets) {
          for (const [, name] of t.expr.matchAll(/\$\{?(\w+)\}?/g)) {
            if (!name!.startsWith('__')) expect([...defined], `${file}: ${panel.title}: $${name}`).toContain(name);
          }
        }
      }
    }
  });

  it('show every tenant, picked from a list of all of them, against its limits from the overrides exporter', () => {
    const overview = dashboards.find((d) => d.file === 'tenant-overview.json')!.dashboard;
    const tenant = overview.templating.list.find((v) => v.name === 'tenant')!;
    expect(tenant).toMatchObject({ type: 'query', definition: 'label_values(cortex_distributor_received_samples_total, user)' });
    const exprs = overview.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const some = (re: RegExp) => exprs.some((e) => re.test(e));
    expect(some(/cortex_distributor_received_samples_total\{user="\$tenant"\}/)).toBe(true);
    expect(some(/cortex_overrides\{limit_name="ingestion_rate", user="\$tenant"\}/)).toBe(true);
    expect(some(/cortex_ingester_active_series\{user="\$tenant"\}/)).toBe(true);
    expect(some(/cortex_overrides\{limit_name="max_global_series_per_user", user="\$tenant"\}/)).toBe(true);
    expect(some(/loki_distributor_bytes_received_total\{tenant="\$tenant"\}/)).toBe(true);
    expect(some(/cortex_discarded_samples_total\{user="\$tenant"\}/)).toBe(true);
    // Every query is scoped to the selected tenant.
    for (const e of exprs) expect(e).toMatch(/(user|tenant)="\$tenant"/);
  });

  it('are Grafana dashboards with unique uids and titles', () => {
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, dashboard } of dashboards) {
      expect(dashboard.uid, file).toMatch(/^[A-Za-z0-9-]{1,40}$/);
      expect(dashboard.title, file).toMatch(/^Lookout \/ /);
      expect(dashboard.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(dashboard.panels.length, file).toBeGreaterThan(3);
    }
  });

  it('reference the Prometheus data source through the datasource variable', () => {
    for (const { file, dashboard } of dashboards) {
      const variable = dashboard.templating.list.find((v) => v.name === 'datasource');
      expect(variable, file).toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const panel of dashboard.panels) {
        expect(panel.datasource, `${file}: ${panel.title}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        for (const t of panel.targets) expect(t.datasource, `${file}: ${panel.title}`).toEqual(panel.datasource);
      }
    }
  });

  it('lay out panels with unique ids inside the 24-column grid', () => {
    for (const { file, dashboard } of dashboards) {
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const p of dashboard.panels) {
        expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title}`).toBeLessThanOrEqual(24);
        expect(p.targets.length, `${file}: ${p.title}`).toBeGreaterThan(0);
      }
    }
  });

  it('chart the gateway from the metrics the collector derives and the certificate probe', () => {
    const gateway = dashboards.find((d) => d.file === 'gateway.json')!.json;
    expect(gateway).toContain(GATEWAY_METRICS.requests);
    expect(gateway).toContain(`${GATEWAY_METRICS.duration}_bucket`);
    expect(gateway).toContain(`probe_ssl_earliest_cert_expiry{job=\\"${gatewayTlsJob()}\\"}`);
  });
});

const promtool = hasTool('promtool');
describe.skipIf(!promtool)(toolSuiteTitle('dashboard queries under the real promtool', 'promtool', promtool, PROMETHEUS_TOOLS_HINT), () => {
  it('are all valid PromQL', () => {
    // Each query becomes a recording rule, which promtool parses.
    const rules = dashboards.flatMap(({ file, dashboard }) =>
      dashboard.panels.flatMap((p) =>
        p.targets.map((t) => ({ record: `dashboard:${file.replace(/\W/g, '_')}:${p.id}_${t.refId}`, expr: substituteVariables(t.expr) })),
      ),
    );
    expect(rules.length).toBeGreaterThan(40);
    withTempDir('dashboards', (dir) => {
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboards', rules }] }));
      const run = runTool('promtool', ['check', 'rules', file]);
      expect(run.status, run.output).toBe(0);
      expect(run.output).toContain(`SUCCESS: ${rules.length} rules found`);
    });
  });
});
