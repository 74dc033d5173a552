import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  DEFAULT_RUNBOOK_BASE_URL,
  GATEWAY_METRICS,
  INHIBIT_EQUAL_LABELS,
  alertRuleGroups,
  renderAlertRules,
  renderAlertmanagerConfig,
  runbookAnchor,
} from '../src/index.js';
import { PROMETHEUS_TOOLS_HINT, hasTool, runTool, toolSuiteTitle, withTempDir } from './support.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const RUNBOOKS = fileURLToPath(new URL('../../../docs/runbooks.md', import.meta.url));

interface RenderedRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

function renderedRules(options?: Parameters<typeof renderAlertRules>[0]): RenderedRule[] {
  const doc = YAML.parse(renderAlertRules(options)) as { groups: Array<{ name: string; rules: RenderedRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

/**
 * Headings of a markdown document outside fenced code blocks, with the anchors GitHub gives
 * them (lower case; characters other than letters, digits, spaces, `_` and `-` removed;
 * spaces to `-`; repeated anchors numbered `-1`, `-2`).
 */
function markdownAnchors(markdown: string): Map<string, string> {
  const anchors = new Map<string, string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const fenceMatch = /^\s*(```|~~~)/.exec(line);
    if (fenceMatch) {
      if (fence === undefined) fence = fenceMatch[1];
      else if (fenceMatch[1] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const heading = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/`/g, '');
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.set(n === 0 ? base : `${base}-${n}`, text);
  }
  return anchors;
}

describe('alert rules', () => {
  const rules = renderedRules();

  it('cover every area the platform must alert on, with the metric names of the pinned releases', () => {
    const exprOf = (alert: string) =>
      rules
        .filter((r) => r.alert === alert)
        .map((r) => r.expr)
        .join('\n');
    const expectations: Record<string, RegExp[]> = {
      CortexIngestionErrors: [/cortex_request_duration_seconds_count\{route=~"api_v1_push/, /status_code=~"5\.\."/],
      CortexSamplesRejected: [/cortex_discarded_samples_total\{reason!~/],
      CortexIngestionRateLimited: [/cortex_discarded_samples_total\{reason="rate_limited"\}/],
      CortexSeriesLimitReached: [/per_user_series_limit/],
      CortexRingUnhealthy: [/cortex_ring_members\{state="Unhealthy"\}/],
      CortexCompactorNotRunning: [/cortex_compactor_last_successful_run_timestamp_seconds/],
      CortexCompactorFailing: [/cortex_compactor_runs_failed_total/],
      CortexObjectStorageErrors: [/thanos_objstore_bucket_operation_failures_total/],
      LokiIngestionErrors: [/loki_request_duration_seconds_count\{route=~"loki_api_v1_push/],
      LokiIngestionLimited: [/loki_discarded_bytes_total\{reason=~"rate_limited/],
      LokiRingUnhealthy: [/loki_ring_members\{state="Unhealthy"\}/],
      LokiCompactorNotRunning: [/loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds/],
      LokiCompactorFailing: [/loki_compactor_apply_retention_operation_total\{status="failure"\}/],
      LokiObjectStorageErrors: [/loki_objstore_bucket_operation_failures_total/, /loki_s3_request_duration_seconds_count/],
      GatewayHighErrorRate: [new RegExp(`${GATEWAY_METRICS.requests}\\{status_class="5xx"\\}`)],
      GatewayCertificateExpiringSoon: [/probe_ssl_earliest_cert_expiry\{job="lookout\/gateway-tls"\}\) - time\(\) < 14 \* 86400/],
      GatewayTLSProbeFailing: [/probe_success/],
      PodCrashLooping: [/kube_pod_container_status_waiting_reason\{reason="CrashLoopBackOff"\}/],
      PodRestartingFrequently: [/kube_pod_container_status_restarts_total/],
      TargetDown: [/^up == 0$/],
      PersistentVolumeFillingUp: [/kubelet_volume_stats_available_bytes/],
      CollectorDroppingLogs: [/loki_write_dropped_entries_total/],
    };
    expect([...new Set(rules.map((r) => r.alert))].sort()).toEqual(Object.keys(expectations).sort());
    for (const [alert, patterns] of Object.entries(expectations)) {
      for (const p of patterns) expect(exprOf(alert), alert).toMatch(p);
    }
  });

  it('give every rule a severity, a summary, a description and a runbook link', () => {
    for (const r of rules) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toMatch(/\S.{10,}/);
      expect(r.annotations.description, r.alert).toMatch(/\S.{10,}/);
      expect(r.annotations.runbook_url, r.alert).toBe(`${DEFAULT_RUNBOOK_BASE_URL}#${runbookAnchor(r.alert)}`);
    }
  });

  it('link to the runbook base URL they are given', () => {
    const base = 'https://docs.example.com/lookout/runbooks';
    for (const r of renderedRules({ runbookBaseUrl: base })) expect(r.annotations.runbook_url.startsWith(`${base}#`)).toBe(true);
  });

  it('use the certificate probe job of the namespace they are given', () => {
    const cert = renderedRules({ namespace: 'observability' }).filter((r) => r.alert === 'GatewayCertificateExpiringSoon');
    expect(cert).toHaveLength(2);
    for (const r of cert) expect(r.expr).toContain('job="observability/gateway-tls"');
  });

  it('pair the certificate warning and critical rules so that inhibition has something to inhibit', () => {
    const cert = alertRuleGroups().flatMap((g) => g.rules.filter((r) => r.alert === 'GatewayCertificateExpiringSoon'));
    expect(cert.map((r) => [r.severity, /< (\d+) \* 86400/.exec(r.expr)?.[1]])).toEqual([
      ['warning', '14'],
      ['critical', '3'],
    ]);
  });
});

describe('runbooks', () => {
  const markdown = readFileSync(RUNBOOKS, 'utf8');
  const anchors = markdownAnchors(markdown);
  const rules = renderedRules();

  it('have a section for every alert, at the anchor its runbook_url points to', () => {
    for (const r of rules) {
      const anchor = new URL(r.annotations.runbook_url).hash.slice(1);
      expect(anchors.get(anchor), `${r.alert} → #${anchor}`).toBe(r.alert);
    }
  });

  it('have no section for an alert that does not exist', () => {
    const alerts = new Set(rules.map((r) => r.alert));
    const alertHeadings = [...markdown.matchAll(/^### (\S+)$/gm)].map((m) => m[1]!);
    expect(alertHeadings.length).toBeGreaterThan(0);
    for (const h of alertHeadings) expect(alerts.has(h), h).toBe(true);
  });

  it('say what the alert means, how to confirm it and how to fix it, in every section', () => {
    const sections = markdown.split(/^### /m).slice(1);
    expect(sections).toHaveLength(new Set(rules.map((r) => r.alert)).size);
    for (const s of sections) {
      const name = s.split('\n')[0];
      for (const part of ['**Meaning.**', '**Confirm.**', '**Fix.**']) expect(s, `${name}: ${part}`).toContain(part);
    }
  });

  it('only link to anchors that exist', () => {
    const links = [...markdown.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(anchors.has(link), `#${link}`).toBe(true);
  });

  it('compute anchors the way this package does', () => {
    for (const [anchor, text] of anchors) expect(runbookAnchor(text)).toBe(anchor);
  });
});

describe('Alertmanager configuration', () => {
  it('sends nowhere (a null receiver) without a webhook', () => {
    const config = YAML.parse(renderAlertmanagerConfig());
    expect(config.route.receiver).toBe('null');
    expect(config.receivers).toEqual([{ name: 'null' }]);
  });

  it('sends to the webhook, resolved alerts included, when one is given', () => {
    const config = YAML.parse(renderAlertmanagerConfig({ webhookUrl: 'https://hooks.example.com/lookout?x=1' }));
    expect(config.route.receiver).toBe('webhook');
    expect(config.receivers).toEqual([
      { name: 'webhook', webhook_configs: [{ url: 'https://hooks.example.com/lookout?x=1', send_resolved: true }] },
    ]);
  });

  it('lets a critical alert inhibit the warning of the same alert', () => {
    const config = YAML.parse(renderAlertmanagerConfig());
    expect(config.inhibit_rules).toEqual([
      { source_matchers: ['severity="critical"'], target_matchers: ['severity="warning"'], equal: INHIBIT_EQUAL_LABELS },
    ]);
    // The labels that tell two instances of the paired alerts apart are compared.
    expect(INHIBIT_EQUAL_LABELS).toEqual(expect.arrayContaining(['alertname', 'server_name', 'persistentvolumeclaim', 'namespace']));
  });

  it('refuses a webhook URL that is not http(s)', () => {
    expect(() => renderAlertmanagerConfig({ webhookUrl: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => renderAlertmanagerConfig({ webhookUrl: 'ftp://example.com/x' })).toThrow(/must be http/);
  });
});

const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.test.yaml'));

it('has promtool unit tests for the certificate-expiry, ingestion-error and crash-loop alerts', () => {
  const covered = fixtures.flatMap((f) =>
    (YAML.parse(readFileSync(join(FIXTURES, f), 'utf8')).tests as Array<{ alert_rule_test: Array<{ alertname: string }> }>).flatMap((t) =>
      t.alert_rule_test.map((a) => a.alertname),
    ),
  );
  expect(covered).toEqual(expect.arrayContaining(['GatewayCertificateExpiringSoon', 'CortexIngestionErrors', 'PodCrashLooping']));
});

const promtool = hasTool('promtool');
describe.skipIf(!promtool)(toolSuiteTitle('rules under the real promtool', 'promtool', promtool, PROMETHEUS_TOOLS_HINT), () => {
  it('passes promtool check rules', () => {
    withTempDir('rules', (dir) => {
      const file = join(dir, 'alerts.yaml');
      writeFileSync(file, renderAlertRules());
      const run = runTool('promtool', ['check', 'rules', file]);
      expect(run.output).toMatch(/SUCCESS: \d+ rules found/);
      expect(run.status).toBe(0);
    });
  });

  it('rejects a broken rules file (the check is real)', () => {
    withTempDir('rules', (dir) => {
      const file = join(dir, 'alerts.yaml');
      writeFileSync(file, renderAlertRules().replace('up == 0', 'up == == 0'));
      expect(runTool('promtool', ['check', 'rules', file]).status).not.toBe(0);
    });
  });

  it.each(fixtures)('passes promtool test rules %s', (fixture) => {
    withTempDir('rules', (dir) => {
      writeFileSync(join(dir, 'alerts.yaml'), renderAlertRules());
      copyFileSync(join(FIXTURES, fixture), join(dir, fixture));
      const run = runTool('promtool', ['test', 'rules', fixture], dir);
      expect(run.output).toContain('SUCCESS');
      expect(run.status, run.output).toBe(0);
    });
  });

  it('fails promtool test rules when an alert stops firing (the unit tests are real)', () => {
    withTempDir('rules', (dir) => {
      // A 14-day warning threshold lowered to 10 days: the 13-day certificate no longer alerts.
      writeFileSync(join(dir, 'alerts.yaml'), renderAlertRules().replace('< 14 * 86400', '< 10 * 86400'));
      copyFileSync(join(FIXTURES, 'certificate-expiry.test.yaml'), join(dir, 'certificate-expiry.test.yaml'));
      const run = runTool('promtool', ['test', 'rules', 'certificate-expiry.test.yaml'], dir);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain('system.soon.example.com');
    });
  });
});

const amtool = hasTool('amtool');
describe.skipIf(!amtool)(toolSuiteTitle('Alertmanager config under the real amtool', 'amtool', amtool, PROMETHEUS_TOOLS_HINT), () => {
  it.each([
    ['without a webhook', {}],
    ['with a webhook', { webhookUrl: 'https://hooks.example.com/lookout' }],
  ])('passes amtool check-config %s', (_, options) => {
    withTempDir('am', (dir) => {
      const file = join(dir, 'alertmanager.yaml');
      writeFileSync(file, renderAlertmanagerConfig(options));
      const run = runTool('amtool', ['check-config', file]);
      expect(run.output).toContain('SUCCESS');
      expect(run.output).toContain('1 inhibit rules');
      expect(run.status).toBe(0);
    });
  });

  it('rejects an invalid configuration (the check is real)', () => {
    withTempDir('am', (dir) => {
      const file = join(dir, 'alertmanager.yaml');
      writeFileSync(file, renderAlertmanagerConfig().replace("receiver: 'null'", 'receiver: missing').replace('receiver: "null"', 'receiver: missing'));
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('receiver: missing');
      expect(runTool('amtool', ['check-config', file]).status).not.toBe(0);
    });
  });
});
