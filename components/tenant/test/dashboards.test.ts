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
  instant?: boolean;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  interval?: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  options?: { content?: string; mode?: string };
}
interface Variable {
  name: string;
  type: string;
  query?: unknown;
  current?: { value?: string };
  options?: Array<{ value: string }>;
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Variable[] };
}

const shipped = Object.entries(shippedTenantDashboards());
const parse = (json: string) => JSON.parse(json) as Dashboard;
const yourDataJson = () => shippedTenantDashboards()['your-data.json']!;
const ACME = { tenant: 'acme', domain: 'obs.example.com' };

/** The datasource variable each kind of query panel must use, and the plugin it selects. */
const DATASOURCE_VARIABLES: Record<string, string> = { prometheus: 'datasource', loki: 'logs' };

const targetsOf = (d: Dashboard, type: string) =>
  (d.panels ?? []).flatMap((p) => (p.targets ?? []).filter((t) => t.datasource?.type === type).map((t) => ({ panel: p, target: t })));

/** Every `$name` and `${name}` in a string (Grafana's built-ins start with `__`). */
const variablesIn = (text: string) => [...text.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]!).filter((n) => !n.startsWith('__'));

/** Grafana's template variables replaced by values a plain PromQL parser accepts. */
function concreteQuery(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m');
}

/**
 * LogQL cannot be checked by a binary here (no Loki): its structure is. Brackets balance, every
 * stream selector has a matcher that cannot match the empty string (Loki refuses others), only
 * known functions appear, and range windows are durations.
 */
function logqlProblems(expr: string): string[] {
  const problems: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let inString = false;
  for (const ch of expr) {
    if (ch === '"') inString = !inString;
    if (inString) continue;
    if ('([{'.includes(ch)) stack.push(ch);
    if (ch in pairs && stack.pop() !== pairs[ch]) problems.push(`unbalanced ${ch}`);
  }
  if (stack.length > 0 || inString) problems.push('unclosed bracket or string');
  for (const [, body] of expr.matchAll(/\{([^}]*)\}/g)) {
    const matchers = body!.split(',').map((m) => /^\s*([A-Za-z_]\w*)\s*(=~|=|!=|!~)\s*"(.*)"\s*$/.exec(m));
    if (matchers.some((m) => m === null)) problems.push(`bad stream selector {${body}}`);
    const nonEmpty = matchers.some((m) => m && ((m[2] === '=' && m[3] !== '') || (m[2] === '=~' && !new RegExp(`^(?:${m[3]})$`).test(''))));
    if (!nonEmpty) problems.push(`stream selector {${body}} matches the empty string`);
  }
  const known = new Set(['sum', 'topk', 'by', 'rate', 'bytes_rate', 'count_over_time', 'bytes_over_time']);
  for (const [, fn] of expr.matchAll(/\b([a-z_]+)\s*\(/g)) if (!known.has(fn!)) problems.push(`unknown function ${fn}`);
  for (const [, range] of expr.matchAll(/\[([^\]]*)\]/g)) if (!/^\d+[smhd]$/.test(range!)) problems.push(`range [${range}]`);
  return problems;
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
  it('are the tenant’s own: Your data (the per-tenant platform overview is the system tenant’s)', () => {
    expect(shipped.map(([name]) => name)).toEqual(['your-data.json']);
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
    const variables = new Map((d.templating?.list ?? []).map((v) => [v.name, v]));
    for (const p of panels) {
      expect(p.type, p.title).toBeTruthy();
      expect(p.gridPos, p.title).toMatchObject({ h: expect.any(Number), w: expect.any(Number), x: expect.any(Number), y: expect.any(Number) });
      expect(p.gridPos!.x + p.gridPos!.w, p.title).toBeLessThanOrEqual(24);
      // Every `$variable` a title, a query or a text uses is defined by the dashboard (or built into Grafana).
      const texts = [p.title ?? '', p.options?.content ?? '', ...(p.targets ?? []).map((t) => t.expr ?? '')];
      for (const name of texts.flatMap(variablesIn)) expect([...variables.keys()], `${p.title}: $${name}`).toContain(name);
      if (p.type === 'text') continue;
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refIds = p.targets!.map((t) => t.refId);
      expect(new Set(refIds).size, p.title).toBe(refIds.length);
      // A panel queries one datasource, through the variable that selects that plugin.
      const type = p.datasource?.type;
      expect(Object.keys(DATASOURCE_VARIABLES), p.title).toContain(type);
      const variable = DATASOURCE_VARIABLES[type!]!;
      expect(p.datasource).toEqual({ type, uid: `\${${variable}}` });
      expect(variables.get(variable)).toMatchObject({ type: 'datasource', query: type });
      for (const t of p.targets!) {
        expect(t.expr, p.title).toBeTruthy();
        expect(t.datasource, p.title).toEqual(p.datasource);
      }
    }
    // No two panels overlap.
    const cells = new Set<string>();
    for (const p of panels) {
      for (let x = p.gridPos!.x; x < p.gridPos!.x + p.gridPos!.w; x++) {
        for (let y = p.gridPos!.y; y < p.gridPos!.y + p.gridPos!.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  it.each(shipped)('%s reads only the tenant’s own data, not the stores’ per-tenant metrics', (_name, json) => {
    const exprs = (parse(json).panels ?? []).flatMap((p) => (p.targets ?? []).map((t) => t.expr!));
    expect(exprs.length).toBeGreaterThan(0);
    for (const e of exprs) {
      // Those exist only in the system tenant (the platform's own telemetry).
      expect(e).not.toMatch(/\b(cortex|loki|lookout)_\w+/);
      expect(e).not.toMatch(/\b(user|tenant)\s*=/);
    }
  });

  it.each(shipped)('%s keeps its queries bounded', (_name, json) => {
    const d = parse(json);
    for (const { panel, target } of targetsOf(d, 'prometheus')) {
      // Selecting every series is only done instantly, and aggregated.
      if (target.expr!.includes('{__name__=~".+"}')) {
        expect(target.instant, panel.title).toBe(true);
        expect(target.expr, panel.title).toMatch(/^(topk|count)\(/);
      }
    }
    for (const { panel, target } of targetsOf(d, 'loki')) {
      // Log queries read every stream: aggregated, and over windows of at least a minute.
      expect(target.expr, panel.title).toMatch(/^(topk|sum)\(/);
      if (target.expr!.includes('$__interval')) expect(panel.interval, panel.title).toBe('1m');
    }
  });

  it('Your data shows series, top metric names, scraped samples per job, log volume by stream label, and how to send data', () => {
    const d = parse(yourDataJson());
    const prom = targetsOf(d, 'prometheus').map((t) => t.target.expr!);
    const loki = targetsOf(d, 'loki').map((t) => t.target.expr!);
    expect(prom).toContain('count({__name__=~".+"}) or vector(0)');
    expect(prom).toContain('topk(15, count by (__name__) ({__name__=~".+"}))');
    expect(prom.some((e) => /sum by \(job\) \(sum_over_time\(scrape_samples_post_metric_relabeling\[5m\]\)\)/.test(e))).toBe(true);
    expect(loki).toContain('topk(10, sum by (${log_label}) (bytes_rate({service_name=~".+"}[$__interval])))');
    const labelVariable = d.templating!.list!.find((v) => v.name === 'log_label')!;
    expect(labelVariable.current?.value).toBe('service_name');
    const text = d.panels!.find((p) => p.type === 'text')!.options!.content!;
    expect(text).toContain('https://${tenant}.${domain}/api/v1/push');
    expect(text).toContain('https://${tenant}.${domain}/loki/api/v1/push');
    expect(text).toContain('Authorization: Bearer');
  });

  it('Your data’s LogQL is well-formed (no Loki binary here: the structure is checked)', () => {
    const d = parse(yourDataJson());
    const labels = d.templating!.list!.find((v) => v.name === 'log_label')!.options!.map((o) => o.value);
    const loki = targetsOf(d, 'loki').map((t) => t.target.expr!);
    expect(loki.length).toBeGreaterThanOrEqual(3);
    for (const expr of loki) {
      for (const label of labels) {
        const concrete = expr.replaceAll('${log_label}', label).replaceAll('$__interval', '1m');
        expect(logqlProblems(concrete), concrete).toEqual([]);
      }
    }
  });

  it('the LogQL check catches broken queries (it can fail)', () => {
    expect(logqlProblems('sum(rate({job=~".*"}[1m]))')).toEqual(['stream selector {job=~".*"} matches the empty string']);
    expect(logqlProblems('sum(rate({job="a"}[1m])')).toEqual(['unclosed bracket or string']);
    expect(logqlProblems('sum(rates({job="a"}[1m]))')).toEqual(['unknown function rates']);
    expect(logqlProblems('sum(rate({job="a"}[$__interval]))')).toEqual(['range [$__interval]']);
    expect(logqlProblems('sum(rate({job}[1m]))')).toContain('bad stream selector {job}');
  });

  describe.skipIf(!promtool)(`PromQL${promtool ? '' : ' (skipped: promtool not installed; apt-get install prometheus)'}`, () => {
    it('every Prometheus query of every shipped dashboard parses (promtool check rules)', () => {
      const exprs = shipped.flatMap(([name, json]) =>
        targetsOf(parse(json), 'prometheus').map(({ panel, target }, i) => ({
          record: `dashboard:${name.replace(/\W/g, '_')}:${panel.id}_${i}`,
          expr: concreteQuery(target.expr!),
        })),
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
  /** The text panel's markdown with the dashboard's variables put in, as Grafana renders it. */
  function renderedText(json: string): string {
    const d = parse(json);
    const values = Object.fromEntries(d.templating!.list!.map((v) => [v.name, String(v.current?.value ?? '')]));
    const content = d.panels!.find((p) => p.type === 'text')!.options!.content!;
    return content.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name] ?? `\${${name}}`);
  }

  it('name the tenant and its endpoints', () => {
    const d = parse(dashboardForTenant(yourDataJson(), ACME));
    const constants = d.templating!.list!.filter((v) => v.type === 'constant');
    expect(constants.map((v) => [v.name, v.query, v.current?.value, v.options?.map((o) => o.value)])).toEqual([
      ['tenant', 'acme', 'acme', ['acme']],
      ['domain', 'obs.example.com', 'obs.example.com', ['obs.example.com']],
    ]);
    const text = renderedText(dashboardForTenant(yourDataJson(), ACME));
    expect(text).toContain('`https://acme.obs.example.com/api/v1/push`');
    expect(text).toContain('`https://acme.obs.example.com/loki/api/v1/push`');
    expect(text).toContain('url: https://acme.obs.example.com/api/v1/push');
    expect(renderedText(dashboardForTenant(yourDataJson(), { tenant: 'beta', domain: 'o.example.net' }))).toContain(
      '`https://beta.o.example.net/api/v1/push`',
    );
  });

  it('set the starting value of a query variable named tenant, and leave other variables alone', () => {
    const json = JSON.stringify({
      templating: {
        list: [
          { name: 'tenant', type: 'query', query: 'label_values(up, tenant)' },
          { name: 'datasource', type: 'datasource', query: 'prometheus' },
        ],
      },
    });
    const d = parse(dashboardForTenant(json, ACME));
    expect(d.templating!.list![0]).toEqual({ name: 'tenant', type: 'query', query: 'label_values(up, tenant)', current: { selected: true, text: 'acme', value: 'acme' } });
    expect(d.templating!.list![1]).toEqual({ name: 'datasource', type: 'datasource', query: 'prometheus' });
  });

  it('add the extra dashboards to the shipped ones', () => {
    const files = tenantDashboardFiles(ACME, { 'cortex.json': '{"title":"Cortex"}' });
    expect(Object.keys(files).sort()).toEqual(['cortex.json', ...shipped.map(([n]) => n)].sort());
    expect(files['cortex.json']).toBe('{"title":"Cortex"}');
    expect(files['your-data.json']).toBe(dashboardForTenant(yourDataJson(), ACME));
  });

  it.each([
    ['a name that is not a ConfigMap key', { 'my dashboard.json': '{}' }, /must match/],
    ['a name without .json', { 'cortex.yaml': '{}' }, /must match/],
    ['a name of a shipped dashboard', { 'your-data.json': '{}' }, /given twice/],
    ['a file that is not JSON', { 'broken.json': '{"title":' }, /not valid JSON/],
    ['more than a ConfigMap holds', { 'huge.json': JSON.stringify({ blob: 'x'.repeat(MAX_DASHBOARD_BYTES) }) }, /more than the/],
  ] as Array<[string, Record<string, string>, RegExp]>)('reject %s', (_what, extra, message) => {
    expect(() => tenantDashboardFiles(ACME, extra)).toThrow(message);
  });
});
