import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  MAX_DASHBOARD_BYTES,
  dashboardForTenant,
  shippedTenantDashboards,
  tenantDashboardFiles,
} from '../src/index.js';

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name: string; type: string; current?: { value?: string } }> };
}

const shipped = Object.entries(shippedTenantDashboards());
const parse = (json: string) => JSON.parse(json) as Dashboard;

/** Grafana's template variables replaced by values a plain PromQL parser accepts. */
function concreteQuery(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$tenant', 'acme').replaceAll('$replication_factor', '3');
}

function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const promtool = hasPromtool();
if (!promtool) console.warn('promtool not found: install it with `apt-get install prometheus` to check the dashboards’ PromQL');

describe('shipped tenant dashboards', () => {
  it('include the Tenant overview', () => {
    expect(shipped.map(([name]) => name)).toContain('tenant-overview.json');
  });

  it.each(shipped)('%s is a valid Grafana dashboard', (_name, json) => {
    const d = parse(json);
    expect(d.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(d.title).toBeTruthy();
    expect(Number.isInteger(d.schemaVersion)).toBe(true);
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = d.panels ?? [];
    expect(panels.length).toBeGreaterThan(0);
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const variables = new Set((d.templating?.list ?? []).map((v) => v.name));
    for (const p of panels) {
      expect(p.type, p.title).toBeTruthy();
      expect(p.gridPos, p.title).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      for (const t of p.targets!) {
        expect(t.expr, p.title).toBeTruthy();
        // Every `$variable` a query uses is defined by the dashboard (or built into Grafana).
        for (const [, name] of t.expr!.matchAll(/\$(\w+)/g)) {
          if (!name!.startsWith('__')) expect(variables, `${p.title}: $${name}`).toContain(name);
        }
      }
    }
  });

  it('Tenant overview shows ingestion and active series against their limits, log ingestion and rejections', () => {
    const d = parse(shippedTenantDashboards()['tenant-overview.json']!);
    const exprs = (d.panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => t.expr!));
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

  describe.skipIf(!promtool)(`PromQL${promtool ? '' : ' (skipped: promtool not installed; apt-get install prometheus)'}`, () => {
    it('every query of every shipped dashboard parses (promtool check rules)', () => {
      const exprs = shipped.flatMap(([name, json]) =>
        (parse(json).panels ?? []).flatMap((p) => (p.targets ?? []).map((t, i) => ({ record: `dashboard:${name.replace(/\W/g, '_')}:${p.id}_${i}`, expr: concreteQuery(t.expr!) }))),
      );
      expect(exprs.length).toBeGreaterThan(5);
      const dir = mkdtempSync(join(tmpdir(), 'tenant-dashboards-'));
      try {
        const file = join(dir, 'rules.yaml');
        writeFileSync(file, YAML.stringify({ groups: [{ name: 'dashboard-queries', rules: exprs }] }));
        const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
        expect(out).toContain(`SUCCESS: ${exprs.length} rules found`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('promtool rejects a broken query (the check above can fail)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tenant-dashboards-'));
      try {
        const file = join(dir, 'rules.yaml');
        writeFileSync(file, YAML.stringify({ groups: [{ name: 'g', rules: [{ record: 'x:y', expr: 'sum(rate(foo[5m])' }] }] }));
        expect(() => execFileSync('promtool', ['check', 'rules', file], { stdio: 'pipe' })).toThrow();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('dashboards of one tenant', () => {
  it('open on the tenant itself', () => {
    const d = parse(dashboardForTenant(shippedTenantDashboards()['tenant-overview.json']!, 'acme'));
    const tenant = d.templating!.list!.find((v) => v.name === 'tenant')!;
    expect(tenant.current?.value).toBe('acme');
    expect(parse(dashboardForTenant(shippedTenantDashboards()['tenant-overview.json']!, 'beta')).templating!.list!.find((v) => v.name === 'tenant')!.current?.value).toBe('beta');
  });

  it('add the extra dashboards to the shipped ones', () => {
    const files = tenantDashboardFiles('acme', { 'cortex.json': '{"title":"Cortex"}' });
    expect(Object.keys(files).sort()).toEqual(['cortex.json', ...shipped.map(([n]) => n)].sort());
    expect(files['cortex.json']).toBe('{"title":"Cortex"}');
  });

  it.each([
    ['a name that is not a ConfigMap key', { 'my dashboard.json': '{}' }, /must match/],
    ['a name without .json', { 'cortex.yaml': '{}' }, /must match/],
    ['a name of a shipped dashboard', { 'tenant-overview.json': '{}' }, /given twice/],
    ['a file that is not JSON', { 'broken.json': '{"title":' }, /not valid JSON/],
    ['more than a ConfigMap holds', { 'huge.json': JSON.stringify({ blob: 'x'.repeat(MAX_DASHBOARD_BYTES) }) }, /more than the/],
  ] as Array<[string, Record<string, string>, RegExp]>)('reject %s', (_what, extra, message) => {
    expect(() => tenantDashboardFiles('acme', extra)).toThrow(message);
  });
});
