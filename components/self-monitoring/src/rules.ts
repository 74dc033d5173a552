/**
 * The system tenant's alert rules, as typed objects rendered into a Prometheus rules file,
 * and its Alertmanager configuration. Metric names are those the pinned releases expose
 * (Cortex 1.19, Loki 3.7, kube-state-metrics 2.16, Alloy 1.21); every rule links to its
 * section of `docs/runbooks.md`.
 */
import YAML from 'yaml';
import { GATEWAY_METRICS, DEFAULT_NAMESPACE, gatewayTlsJob } from './alloy-config.js';

export type Severity = 'warning' | 'critical';

export interface AlertRule {
  /** Alert name; also the runbook heading (`## <alert>`). */
  alert: string;
  expr: string;
  for?: string;
  severity: Severity;
  summary: string;
  description: string;
  /** Extra labels; they also tell apart two rules of one alert (promtool rejects duplicates). */
  labels?: Record<string, string>;
}

export interface AlertRuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/lookout-observability/lookout/blob/main/docs/runbooks.md';

export interface AlertRuleOptions {
  /** Where `docs/runbooks.md` is published; each rule links to `<base>#<anchor>`. */
  runbookBaseUrl?: string;
  /** Platform namespace, for the rules that select platform jobs (default `lookout`). */
  namespace?: string;
}

/** GitHub's heading anchor for a runbook heading: lower case, punctuation dropped, spaces to dashes. */
export function runbookAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const DAY = 86400;
const CERT_WARNING_DAYS = 14;
const CERT_CRITICAL_DAYS = 3;

/** Push routes of the Cortex distributor (`/api/v1/push`, and the legacy `/api/prom/push`). */
const CORTEX_PUSH_ROUTES = 'api_v1_push|api_prom_push';
const LOKI_PUSH_ROUTES = 'loki_api_v1_push|api_prom_push';
const CORTEX_LIMIT_REASONS = 'rate_limited|per_user_series_limit|per_metric_series_limit';

/** A ratio in percent of two counters' rates, grouped the same way on both sides. */
function percentOf(failures: string, total: string, by: string): string {
  return `100 * sum by (${by}) (rate(${failures}[5m]))\n  /\nsum by (${by}) (rate(${total}[5m]))`;
}

export function alertRuleGroups(options: Pick<AlertRuleOptions, 'namespace'> = {}): AlertRuleGroup[] {
  const tlsJob = gatewayTlsJob(options.namespace ?? DEFAULT_NAMESPACE);
  const certExpiry = (days: number, severity: Severity): AlertRule => ({
    alert: 'GatewayCertificateExpiringSoon',
    expr: `min by (server_name) (probe_ssl_earliest_cert_expiry{job="${tlsJob}"}) - time() < ${days} * ${DAY}`,
    for: '15m',
    severity,
    summary: `The gateway's TLS certificate expires in less than ${days} days.`,
    description:
      'The certificate served for {{ $labels.server_name }} expires in {{ $value | humanizeDuration }}. ' +
      'Renew it with `lookout tls renew <instance>`.',
  });
  return [
    {
      name: 'lookout-cortex',
      rules: [
        {
          alert: 'CortexIngestionErrors',
          expr: `${percentOf(
            `cortex_request_duration_seconds_count{route=~"${CORTEX_PUSH_ROUTES}", status_code=~"5.."}`,
            `cortex_request_duration_seconds_count{route=~"${CORTEX_PUSH_ROUTES}"}`,
            'job, route',
          )}\n  > 1`,
          for: '15m',
          severity: 'critical',
          summary: 'The Cortex distributors fail remote-write pushes.',
          description: '{{ printf "%.2f" $value }}% of pushes to {{ $labels.route }} fail with a 5xx error.',
        },
        {
          alert: 'CortexSamplesRejected',
          expr: `sum by (user, reason) (rate(cortex_discarded_samples_total{reason!~"${CORTEX_LIMIT_REASONS}"}[5m])) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'Cortex rejects samples of a tenant as invalid.',
          description: 'Tenant {{ $labels.user }} has {{ printf "%.2f" $value }} samples/s rejected with reason {{ $labels.reason }}.',
        },
        {
          alert: 'CortexIngestionRateLimited',
          expr: `sum by (user) (rate(cortex_discarded_samples_total{reason="rate_limited"}[5m])) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'A tenant is hitting its Cortex ingestion rate limit.',
          description: 'Tenant {{ $labels.user }} has {{ printf "%.2f" $value }} samples/s dropped by its ingestion rate limit.',
        },
        {
          alert: 'CortexSeriesLimitReached',
          expr: `sum by (user, reason) (rate(cortex_discarded_samples_total{reason=~"per_user_series_limit|per_metric_series_limit"}[5m])) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'A tenant has reached its Cortex active series limit.',
          description: 'Tenant {{ $labels.user }} has {{ printf "%.2f" $value }} samples/s of new series refused ({{ $labels.reason }}).',
        },
        {
          alert: 'CortexRingUnhealthy',
          expr: 'max by (name) (cortex_ring_members{state="Unhealthy"}) > 0',
          for: '15m',
          severity: 'critical',
          summary: 'A Cortex ring has unhealthy members.',
          description: 'The Cortex {{ $labels.name }} ring has {{ $value }} unhealthy member(s).',
        },
        {
          alert: 'CortexCompactorNotRunning',
          expr:
            '(time() - max(cortex_compactor_last_successful_run_timestamp_seconds) > 86400)\n' +
            'and\n(max(cortex_compactor_last_successful_run_timestamp_seconds) > 0)',
          for: '1h',
          severity: 'critical',
          labels: { condition: 'stale' },
          summary: 'The Cortex compactor has not completed a run for a day.',
          description: 'The last successful Cortex compaction was {{ $value | humanizeDuration }} ago.',
        },
        {
          alert: 'CortexCompactorNotRunning',
          expr: 'max(cortex_compactor_last_successful_run_timestamp_seconds) == 0',
          for: '24h',
          severity: 'critical',
          labels: { condition: 'never-succeeded' },
          summary: 'The Cortex compactor has not completed a run since it started.',
          description: 'No Cortex compactor has completed a compaction run in the last 24 hours.',
        },
        {
          alert: 'CortexCompactorFailing',
          expr: 'increase(cortex_compactor_runs_failed_total[2h]) >= 2',
          severity: 'critical',
          summary: 'Cortex compaction runs are failing.',
          description: 'Compactor {{ $labels.pod }} failed {{ printf "%.0f" $value }} compaction runs in the last 2 hours.',
        },
        {
          alert: 'CortexObjectStorageErrors',
          expr: `${percentOf('thanos_objstore_bucket_operation_failures_total', 'thanos_objstore_bucket_operations_total', 'component, operation')}\n  > 5`,
          for: '15m',
          severity: 'critical',
          summary: 'Cortex fails object storage operations.',
          description: '{{ printf "%.2f" $value }}% of {{ $labels.operation }} operations of the Cortex {{ $labels.component }} on the metrics bucket fail.',
        },
      ],
    },
    {
      name: 'lookout-loki',
      rules: [
        {
          alert: 'LokiIngestionErrors',
          expr: `${percentOf(
            `loki_request_duration_seconds_count{route=~"${LOKI_PUSH_ROUTES}", status_code=~"5.."}`,
            `loki_request_duration_seconds_count{route=~"${LOKI_PUSH_ROUTES}"}`,
            'job, route',
          )}\n  > 1`,
          for: '15m',
          severity: 'critical',
          summary: 'Loki fails log pushes.',
          description: '{{ printf "%.2f" $value }}% of pushes to {{ $labels.route }} fail with a 5xx error.',
        },
        {
          alert: 'LokiIngestionLimited',
          expr: 'sum by (tenant, reason) (rate(loki_discarded_bytes_total{reason=~"rate_limited|per_stream_rate_limit|stream_limit"}[5m])) > 0',
          for: '15m',
          severity: 'warning',
          summary: 'A tenant is hitting a Loki ingestion limit.',
          description: 'Tenant {{ $labels.tenant }} has {{ $value | humanize1024 }}B/s of logs dropped ({{ $labels.reason }}).',
        },
        {
          alert: 'LokiRingUnhealthy',
          expr: 'max by (name) (loki_ring_members{state="Unhealthy"}) > 0',
          for: '15m',
          severity: 'critical',
          summary: 'A Loki ring has unhealthy members.',
          description: 'The Loki {{ $labels.name }} ring has {{ $value }} unhealthy member(s).',
        },
        {
          alert: 'LokiCompactorNotRunning',
          expr:
            '(time() - max(loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds) > 10800)\n' +
            'and\n(max(loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds) > 0)',
          for: '1h',
          severity: 'critical',
          labels: { condition: 'stale' },
          summary: 'The Loki compactor has not completed a run for 3 hours.',
          description: 'The last successful Loki compaction was {{ $value | humanizeDuration }} ago; retention is not applied either.',
        },
        {
          alert: 'LokiCompactorNotRunning',
          expr: 'max(loki_boltdb_shipper_compact_tables_operation_last_successful_run_timestamp_seconds) == 0',
          for: '6h',
          severity: 'critical',
          labels: { condition: 'never-succeeded' },
          summary: 'The Loki compactor has not completed a run since it started.',
          description: 'No Loki backend has completed a compaction in the last 6 hours.',
        },
        {
          alert: 'LokiCompactorFailing',
          expr:
            'increase(loki_boltdb_shipper_compact_tables_operation_total{status="failure"}[2h]) >= 2\n' +
            'or\nincrease(loki_compactor_apply_retention_operation_total{status="failure"}[2h]) >= 2',
          severity: 'critical',
          summary: 'Loki compaction or retention runs are failing.',
          description: 'Loki compactor {{ $labels.pod }} failed {{ printf "%.0f" $value }} runs in the last 2 hours.',
        },
        {
          alert: 'LokiObjectStorageErrors',
          // Loki's own S3 client and the Thanos object store client export different metrics.
          expr:
            `(${percentOf('loki_objstore_bucket_operation_failures_total', 'loki_objstore_bucket_operations_total', 'operation')} > 5)\n` +
            `or\n(${percentOf('loki_s3_request_duration_seconds_count{status_code!~"2..|404|cancel"}', 'loki_s3_request_duration_seconds_count', 'operation')} > 5)`,
          for: '15m',
          severity: 'critical',
          summary: 'Loki fails object storage operations.',
          description: '{{ printf "%.2f" $value }}% of Loki {{ $labels.operation }} operations on the logs bucket fail.',
        },
      ],
    },
    {
      name: 'lookout-gateway',
      rules: [
        {
          alert: 'GatewayHighErrorRate',
          expr: `sum(rate(${GATEWAY_METRICS.requests}{status_class="5xx"}[5m]))\n  /\nsum(rate(${GATEWAY_METRICS.requests}[5m]))\n  > 0.05`,
          for: '10m',
          severity: 'critical',
          summary: 'The gateway answers more than 5% of requests with a 5xx error.',
          description: '{{ $value | humanizePercentage }} of the requests through the gateway fail with a 5xx status.',
        },
        certExpiry(CERT_WARNING_DAYS, 'warning'),
        certExpiry(CERT_CRITICAL_DAYS, 'critical'),
        {
          alert: 'GatewayTLSProbeFailing',
          expr: `max by (server_name) (probe_success{job="${tlsJob}"}) == 0`,
          for: '10m',
          severity: 'critical',
          summary: 'No collector can complete a TLS handshake with the gateway.',
          description: 'TLS connections to the gateway for {{ $labels.server_name }} fail from every node.',
        },
      ],
    },
    {
      name: 'lookout-kubernetes',
      rules: [
        {
          alert: 'PodCrashLooping',
          expr: 'max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
          for: '15m',
          severity: 'warning',
          summary: 'A container is crash-looping.',
          description: 'Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} is in CrashLoopBackOff.',
        },
        {
          alert: 'PodRestartingFrequently',
          expr: 'increase(kube_pod_container_status_restarts_total[30m]) > 3',
          severity: 'warning',
          summary: 'A container restarts frequently.',
          description: 'Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} restarted {{ printf "%.0f" $value }} times in 30 minutes.',
        },
        {
          alert: 'TargetDown',
          expr: 'up == 0',
          for: '15m',
          severity: 'warning',
          summary: 'A monitored target cannot be scraped.',
          description: 'Target {{ $labels.instance }} of job {{ $labels.job }} ({{ $labels.pod }}) has been down for 15 minutes.',
        },
        ...([
          [15, 'warning'],
          [5, 'critical'],
        ] as const).map(
          ([percent, severity]): AlertRule => ({
            alert: 'PersistentVolumeFillingUp',
            expr: `kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes * 100 < ${percent}`,
            for: '15m',
            severity,
            summary: `A persistent volume has less than ${percent}% free space.`,
            description: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ printf "%.1f" $value }}% free space left.',
          }),
        ),
      ],
    },
    {
      name: 'lookout-collector',
      rules: [
        {
          alert: 'CollectorDroppingLogs',
          expr: 'sum by (pod) (rate(loki_write_dropped_entries_total[5m])) > 0',
          for: '15m',
          severity: 'warning',
          summary: 'The collector drops log entries it cannot deliver.',
          description: 'Collector {{ $labels.pod }} drops {{ printf "%.2f" $value }} log entries/s after exhausting its retries.',
        },
      ],
    },
  ];
}

/** The Prometheus rules file (`groups:`) for the system tenant's ruler. */
export function renderAlertRules(options: AlertRuleOptions = {}): string {
  const base = options.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL;
  const groups = alertRuleGroups(options).map((g) => ({
    name: g.name,
    ...(g.interval ? { interval: g.interval } : {}),
    rules: g.rules.map((r) => ({
      alert: r.alert,
      expr: r.expr,
      ...(r.for ? { for: r.for } : {}),
      labels: { ...r.labels, severity: r.severity },
      annotations: {
        summary: r.summary,
        description: r.description,
        runbook_url: `${base}#${runbookAnchor(r.alert)}`,
      },
    })),
  }));
  return YAML.stringify({ groups }, { lineWidth: 0 });
}

export interface AlertmanagerConfigOptions {
  /** Where notifications go; without it, alerts are kept in Alertmanager and sent nowhere. */
  webhookUrl?: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

/**
 * Labels that identify "the same alert" for inhibition: a critical alert silences the warning
 * of the same name only for the same object (labels absent on both sides count as equal).
 */
export const INHIBIT_EQUAL_LABELS = ['alertname', 'namespace', 'pod', 'container', 'persistentvolumeclaim', 'server_name'];

/** The system tenant's Alertmanager configuration. */
export function renderAlertmanagerConfig(options: AlertmanagerConfigOptions = {}): string {
  let receiver: Record<string, unknown>;
  if (options.webhookUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.webhookUrl);
    } catch {
      throw new Error('the alert webhook URL is not a valid URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`the alert webhook URL must be http(s), got ${url.protocol}`);
    receiver = { name: 'webhook', webhook_configs: [{ url: options.webhookUrl, send_resolved: true }] };
  } else {
    receiver = { name: 'null' };
  }
  const config = {
    route: {
      receiver: receiver.name,
      group_by: ['alertname', 'namespace'],
      group_wait: options.groupWait ?? '30s',
      group_interval: options.groupInterval ?? '5m',
      repeat_interval: options.repeatInterval ?? '4h',
    },
    receivers: [receiver],
    inhibit_rules: [
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: INHIBIT_EQUAL_LABELS,
      },
    ],
  };
  return YAML.stringify(config, { lineWidth: 0 });
}
