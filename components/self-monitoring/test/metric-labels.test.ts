/**
 * Every label the dashboards and alert rules use exists on the metric it is used with: label
 * matchers, `by`/`without`, `on`/`ignoring`/`group_*`, `label_values()` variables, legends and
 * alert annotations, checked against test/data/metric-labels.json, a table of each metric's
 * labels read from the upstream source of the pinned release (each entry cites its file).
 * A metric missing from the table fails too: its definition must be read and added.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertRuleGroups, alloyConfigBlocks, componentDashboards } from '../src/index.js';
import type { AlloyBlock } from '../src/alloy-syntax.js';
import { analyse, type MetricLabels } from './promql-labels.js';
import { substituteVariables } from './support.js';

interface MetricEntry {
  type: 'counter' | 'gauge' | 'histogram';
  labels: string[];
  scrape: string;
  source: string;
  file: string;
}
interface Table {
  sources: Record<string, string>;
  scrapes: Record<string, { labels: string[]; why: string }>;
  metrics: Record<string, MetricEntry>;
}

const TABLE = JSON.parse(readFileSync(new URL('./data/metric-labels.json', import.meta.url), 'utf8')) as Table;

/** The table entry of a series name, and the labels its suffix adds (`le` on a histogram's buckets). */
function entryOf(metric: string): { entry: MetricEntry; extra: string[] } | undefined {
  const direct = TABLE.metrics[metric];
  if (direct) return { entry: direct, extra: [] };
  const m = /^(.*)_(bucket|count|sum)$/.exec(metric);
  const histogram = m ? TABLE.metrics[m[1]!] : undefined;
  if (!histogram || histogram.type !== 'histogram') return undefined;
  return { entry: histogram, extra: m![2] === 'bucket' ? ['le'] : [] };
}

const targetLabels = (scrape: string): string[] =>
  scrape === 'any' ? [...new Set(Object.values(TABLE.scrapes).flatMap((s) => s.labels))] : TABLE.scrapes[scrape]!.labels;

const table: MetricLabels = {
  labelsOf(metric) {
    const found = entryOf(metric);
    return found ? [...found.entry.labels, ...found.extra, ...targetLabels(found.entry.scrape)] : undefined;
  },
};

interface Query {
  where: string;
  expr: string;
  /** Labels the result must carry: legend `{{x}}`, alert annotation `$labels.x`. */
  resultLabels: string[];
}

const legendLabels = (legend: string | undefined) => [...(legend ?? '').matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);

function dashboardQueries(file: string, json: string): Query[] {
  const dashboard = JSON.parse(json) as {
    panels: Array<{ title: string; targets?: Array<{ expr?: string; legendFormat?: string; datasource?: { type?: string } }> }>;
    templating: { list: Array<{ name: string; type: string; definition?: string; query?: unknown }> };
  };
  const queries: Query[] = [];
  for (const panel of dashboard.panels) {
    for (const t of panel.targets ?? []) {
      // LogQL targets (a Loki datasource) are not PromQL.
      if (!t.expr || t.datasource?.type === 'loki') continue;
      queries.push({ where: `${file}: "${panel.title}"`, expr: substituteVariables(t.expr), resultLabels: legendLabels(t.legendFormat) });
    }
  }
  for (const v of dashboard.templating.list) {
    const m = v.type === 'query' ? /^label_values\(\s*(.+),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(v.definition ?? '') : null;
    if (m) queries.push({ where: `${file}: variable $${v.name}`, expr: substituteVariables(m[1]!), resultLabels: [m[2]!] });
  }
  return queries;
}

const selfMonitoringDashboards = Object.entries(componentDashboards()).flatMap(([file, json]) => dashboardQueries(file, json));
const tenantDashboard = dashboardQueries('tenant/your-data.json', readFileSync(new URL('../../tenant/dashboards/your-data.json', import.meta.url), 'utf8'));
const ruleQueries: Query[] = alertRuleGroups().flatMap((g) =>
  g.rules.map((r) => ({
    where: `rule ${g.name}/${r.alert}${r.labels?.condition ? ` (${r.labels.condition})` : ''}`,
    expr: r.expr,
    resultLabels: [...`${r.summary} ${r.description}`.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!),
  })),
);
const ALL = [...selfMonitoringDashboards, ...tenantDashboard, ...ruleQueries];

describe('labels in dashboards and alert rules, against the metrics’ definitions upstream', () => {
  it('finds the queries: every dashboard panel, variable and rule', () => {
    expect(selfMonitoringDashboards.length).toBeGreaterThan(50);
    expect(tenantDashboard.length).toBeGreaterThan(5);
    expect(ruleQueries.length).toBe(alertRuleGroups().flatMap((g) => g.rules).length);
  });

  it('cites an upstream source for every metric in the table', () => {
    for (const [metric, entry] of Object.entries(TABLE.metrics)) {
      expect(TABLE.sources[entry.source], `${metric} cites an unknown source ${entry.source}`).toBeTypeOf('string');
      expect(entry.file.length, metric).toBeGreaterThan(10);
      expect(entry.scrape === 'any' || entry.scrape in TABLE.scrapes, `${metric}: scrape ${entry.scrape}`).toBe(true);
    }
  });

  it('uses only metrics the table describes', () => {
    const unknown = new Set<string>();
    for (const q of ALL) for (const metric of analyse(table, q.expr, q.where).metrics) if (!entryOf(metric)) unknown.add(`${metric} (${q.where})`);
    expect([...unknown]).toEqual([]);
  });

  it('matches, groups and joins only on labels the series have', () => {
    const problems = ALL.flatMap((q) => analyse(table, q.expr, q.where).problems.map((p) => p.where));
    expect(problems).toEqual([]);
  });

  it('names in legends, variables and alert annotations only labels the result carries', () => {
    const problems: string[] = [];
    for (const q of ALL) {
      const { result } = analyse(table, q.expr, q.where);
      for (const label of q.resultLabels) {
        if (result !== undefined && !result.has(label)) problems.push(`${q.where}: "${label}" is not on the result (it has: ${[...result].sort().join(', ') || 'none'})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('catches a label a metric does not have, in a matcher, a grouping, a join, a legend and an annotation', () => {
    const problems = (expr: string) => analyse(table, expr, 'probe').problems.map((p) => p.label);
    expect(problems('sum by (reason) (rate(cortex_query_frontend_rejected_queries_total[5m]))')).toEqual(['reason']);
    expect(problems('sum by (op) (rate(cortex_query_frontend_rejected_queries_total[5m]))')).toEqual([]);
    expect(problems('rate(cortex_discarded_samples_total{tenant="a"}[5m])')).toEqual(['tenant']);
    expect(problems('sum without (reason) (loki_discarded_bytes_total) / on (user) loki_distributor_bytes_received_total')).toEqual(['user', 'user']);
    expect(problems('histogram_quantile(0.9, sum by (route) (rate(cortex_request_duration_seconds_bucket[5m])))')).toEqual(['le']);
    const result = analyse(table, 'sum by (user) (rate(cortex_discarded_samples_total[5m])) > 0', 'probe').result;
    expect([...result!]).toEqual(['user']);
    expect(analyse(table, 'max_over_time(kube_pod_container_status_waiting_reason[5m])', 'probe').result).toContain('container');
  });

  it("takes each scrape's target labels from the collector's configuration", () => {
    const blocks = alloyConfigBlocks({ domain: 'obs.example.com' }).filter((b): b is AlloyBlock => 'name' in b);
    const relabelTargets = (label: string) =>
      new Set(
        blocks
          .find((b) => b.name === 'discovery.relabel' && b.label === label)!
          .blocks!.map((r) => r.attributes.target_label as string | undefined)
          .filter((t): t is string => typeof t === 'string' && !t.startsWith('__')),
      );
    // Prometheus adds `instance` itself; `cluster` is the remote write's external label.
    const declared = (scrape: string) => TABLE.scrapes[scrape]!.labels.filter((l) => l !== 'instance' && l !== 'cluster').sort();
    expect([...relabelTargets('platform_pods')].sort()).toEqual(declared('platform'));
    expect([...relabelTargets('kubelet')].sort()).toEqual(declared('kubelet'));
    expect([...relabelTargets('cadvisor')].sort()).toEqual(declared('kubelet'));
    expect([...relabelTargets('gateway_tls')].sort()).toEqual(declared('blackbox'));
    const dropped = blocks.find((b) => b.name === 'discovery.relabel' && b.label === 'kube_state_metrics')!.blocks!.find((r) => r.attributes.action === 'labeldrop');
    const kept = declared('platform').filter((l) => !new RegExp(`^(?:${dropped!.attributes.regex as string})$`).test(l));
    expect(kept).toEqual(declared('kube-state-metrics'));
  });
});
