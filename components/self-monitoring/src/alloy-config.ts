/**
 * The Grafana Alloy configuration of the self-monitoring collector, a DaemonSet: on its own
 * node it scrapes the platform's pods, kube-state-metrics, node-exporter and the kubelet
 * (cAdvisor included), tails every pod's log files, turns the gateway's JSON access log into
 * request metrics, probes the certificate the gateway really serves, and ships all of it to
 * the `system` tenant of the metrics and log stores.
 *
 * Conventions other components follow so that they are scraped (see README of the package):
 * pods in the platform namespace expose Prometheus metrics over plain HTTP at `/metrics` on a
 * container port named `http-metrics`, and carry the recommended labels from `@lookout/kube`
 * (`app.kubernetes.io/name` becomes the `job` suffix, `app.kubernetes.io/component` the
 * `component` label).
 */
import YAML from 'yaml';
import {
  block,
  concat,
  exportOf,
  expression,
  renderAlloy,
  type AlloyBlock,
  type AlloyComment,
} from './alloy-syntax.js';

/** Name of the container port every platform pod serves `/metrics` on. */
export const METRICS_PORT_NAME = 'http-metrics';
export const DEFAULT_NAMESPACE = 'lookout';

/**
 * The namespace of the workloads that need the host (the collector reads pod logs, node-exporter
 * the host's /proc and /sys): `<platform namespace>-node`, at Pod Security level `privileged`,
 * so that the platform namespace itself can run at `restricted`.
 */
export function nodeNamespaceOf(namespace: string): string {
  return `${namespace}-node`;
}
export const SYSTEM_TENANT = 'system';
/** `app.kubernetes.io/name` of kube-state-metrics: its job is scraped with `honor_labels`. */
export const KUBE_STATE_METRICS_APP = 'kube-state-metrics';

/** Alloy's own HTTP server (UI, `/metrics`, `/-/ready`). */
export const ALLOY_HTTP_PORT = 12345;
/** Environment variable holding the node's name (from the downward API). */
export const NODE_NAME_ENV = 'NODE_NAME';

export const ALLOY_PATHS = {
  configDir: '/etc/alloy',
  configFile: 'config.alloy',
  /** WAL and log positions; a host directory, so a restarted pod neither re-ships nor skips logs. */
  storage: '/var/lib/alloy/data',
  podLogs: '/var/log/pods',
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
} as const;

/**
 * The fields of the gateway's JSON access log that the collector reads. The gateway writes one
 * JSON object per request to stdout with (at least) these keys.
 */
export const GATEWAY_ACCESS_LOG_FIELDS = {
  /** Tenant resolved from the bearer token; empty when the request was refused before that. */
  tenant: 'tenant',
  /** HTTP status sent to the client (nginx `$status`). */
  status: 'status',
  /** Seconds from first byte read to last byte sent (nginx `$request_time`). */
  requestTime: 'request_time',
} as const;

/** Metrics the collector derives from the gateway's access log. */
export const GATEWAY_METRICS = {
  requests: 'lookout_gateway_requests_total',
  duration: 'lookout_gateway_request_duration_seconds',
} as const;

/** Buckets (seconds) of the gateway request duration histogram. */
export const GATEWAY_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface AlloyConfigOptions {
  /** The instance's domain: the certificate probe sends SNI `system.<domain>`. */
  domain: string;
  /** Platform namespace (default `lookout`). */
  namespace?: string;
  /** Namespace of the collector and node-exporter, also scraped (default `<namespace>-node`). */
  nodeNamespace?: string;
  /** Tenant the platform's own telemetry is written to (default `system`). */
  tenant?: string;
  /** Remote-write URL of the metrics store (default: the Cortex distributor Service). */
  metricsPushUrl?: string;
  /** Push URL of the log store (default: the Loki write Service). */
  logsPushUrl?: string;
  /** The gateway: its Service and port for the certificate probe, and its pods' `app.kubernetes.io/name`. */
  gateway?: { service?: string; port?: number; app?: string };
  /** Added as `cluster` to every series and log stream, when set. */
  cluster?: string;
  scrapeInterval?: string;
}

interface Resolved {
  domain: string;
  namespace: string;
  nodeNamespace: string;
  tenant: string;
  metricsPushUrl: string;
  logsPushUrl: string;
  gatewayAddress: string;
  gatewayApp: string;
  cluster?: string;
  scrapeInterval: string;
}

function resolve(options: AlloyConfigOptions): Resolved {
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(options.domain)) {
    throw new Error(`the collector needs the instance's DNS domain for the certificate probe, got ${JSON.stringify(options.domain)}`);
  }
  const svc = (name: string) => `${name}.${namespace}.svc.cluster.local`;
  const gateway = options.gateway ?? {};
  return {
    domain: options.domain,
    namespace,
    nodeNamespace: options.nodeNamespace ?? nodeNamespaceOf(namespace),
    tenant: options.tenant ?? SYSTEM_TENANT,
    metricsPushUrl: options.metricsPushUrl ?? `http://${svc('cortex-distributor')}:8080/api/v1/push`,
    logsPushUrl: options.logsPushUrl ?? `http://${svc('loki-write')}:3100/loki/api/v1/push`,
    gatewayAddress: `${svc(gateway.service ?? 'gateway')}:${gateway.port ?? 443}`,
    gatewayApp: gateway.app ?? 'gateway',
    ...(options.cluster ? { cluster: options.cluster } : {}),
    scrapeInterval: options.scrapeInterval ?? '30s',
  };
}

/** `job` label of a platform workload: `<namespace>/<app.kubernetes.io/name>`. */
export function platformJob(app: string, namespace = DEFAULT_NAMESPACE): string {
  return `${namespace}/${app}`;
}

/** `job` label of the gateway certificate probe. */
export function gatewayTlsJob(namespace = DEFAULT_NAMESPACE): string {
  return platformJob('gateway-tls', namespace);
}

/** The SNI the certificate probe sends. */
export function probeServerName(domain: string, tenant = SYSTEM_TENANT): string {
  return `${tenant}.${domain}`;
}

const META = {
  namespace: '__meta_kubernetes_namespace',
  pod: '__meta_kubernetes_pod_name',
  podUid: '__meta_kubernetes_pod_uid',
  container: '__meta_kubernetes_pod_container_name',
  containerInit: '__meta_kubernetes_pod_container_init',
  portName: '__meta_kubernetes_pod_container_port_name',
  phase: '__meta_kubernetes_pod_phase',
  podNode: '__meta_kubernetes_pod_node_name',
  appName: '__meta_kubernetes_pod_label_app_kubernetes_io_name',
  appComponent: '__meta_kubernetes_pod_label_app_kubernetes_io_component',
  nodeName: '__meta_kubernetes_node_name',
} as const;

type RuleArgs = {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: 'replace' | 'keep' | 'drop' | 'labeldrop' | 'labelkeep';
};

const rule = (args: RuleArgs): AlloyBlock => block('rule', undefined, args);
const copyLabel = (from: string, to: string): AlloyBlock => rule({ source_labels: [from], target_label: to });
const setLabel = (label: string, value: string): AlloyBlock => rule({ target_label: label, replacement: value });

const thisNode = expression(`sys.env(${JSON.stringify(NODE_NAME_ENV)})`);
const serviceAccountToken = `${ALLOY_PATHS.serviceAccountDir}/token`;

/** The collector's configuration as typed blocks, in the order they are rendered. */
export function alloyConfigBlocks(options: AlloyConfigOptions): Array<AlloyBlock | AlloyComment> {
  const o = resolve(options);
  const externalLabels = o.cluster ? { cluster: o.cluster } : undefined;
  const tlsJob = gatewayTlsJob(o.namespace);
  const kubeStateMetricsJob = platformJob(KUBE_STATE_METRICS_APP, o.namespace);

  // --- sinks -------------------------------------------------------------------------------
  const remoteWrite = block('prometheus.remote_write', 'system', { external_labels: externalLabels }, [
    block('endpoint', undefined, { url: o.metricsPushUrl, headers: { 'X-Scope-OrgID': o.tenant } }),
  ]);
  const lokiWrite = block('loki.write', 'system', { external_labels: externalLabels }, [
    block('endpoint', undefined, { url: o.logsPushUrl, tenant_id: o.tenant }),
  ]);
  const toMetrics = [exportOf(remoteWrite, 'receiver')];

  // --- discovery: the pods and the node this collector runs on ------------------------------
  // One pod watch serves both the metrics and the logs pipelines.
  const pods = block('discovery.kubernetes', 'pods', { role: 'pod' }, [
    block('selectors', undefined, { role: 'pod', field: concat('spec.nodeName=', thisNode) }),
  ]);
  const node = block('discovery.kubernetes', 'node', { role: 'node' }, [
    block('selectors', undefined, { role: 'node', field: concat('metadata.name=', thisNode) }),
  ]);

  // --- platform pods: port `http-metrics` in the platform and node namespaces ---------------
  const platformTargets = block('discovery.relabel', 'platform_pods', { targets: exportOf(pods, 'targets') }, [
    rule({ source_labels: [META.namespace], regex: `${o.namespace}|${o.nodeNamespace}`, action: 'keep' }),
    rule({ source_labels: [META.portName], regex: METRICS_PORT_NAME, action: 'keep' }),
    rule({ source_labels: [META.containerInit], regex: 'true', action: 'drop' }),
    rule({ source_labels: [META.phase], regex: 'Pending|Succeeded|Failed|Unknown', action: 'drop' }),
    rule({ source_labels: [META.namespace, META.appName], separator: '/', target_label: 'job' }),
    copyLabel(META.appComponent, 'component'),
    copyLabel(META.namespace, 'namespace'),
    copyLabel(META.pod, 'pod'),
    copyLabel(META.container, 'container'),
    copyLabel(META.podNode, 'node'),
  ]);
  // kube-state-metrics labels its series with the namespace, pod and node they describe: its
  // own labels must win, and the target's would only mislabel cluster-scoped series.
  const kubeStateMetricsTargets = block(
    'discovery.relabel',
    'kube_state_metrics',
    { targets: exportOf(platformTargets, 'output') },
    [
      rule({ source_labels: ['job'], regex: kubeStateMetricsJob, action: 'keep' }),
      rule({ regex: 'namespace|pod|container|node', action: 'labeldrop' }),
    ],
  );
  const serviceTargets = block('discovery.relabel', 'platform_services', { targets: exportOf(platformTargets, 'output') }, [
    rule({ source_labels: ['job'], regex: kubeStateMetricsJob, action: 'drop' }),
  ]);
  const scrapeServices = block('prometheus.scrape', 'platform_services', {
    targets: exportOf(serviceTargets, 'output'),
    forward_to: toMetrics,
    scrape_interval: o.scrapeInterval,
  });
  const scrapeKubeStateMetrics = block('prometheus.scrape', 'kube_state_metrics', {
    targets: exportOf(kubeStateMetricsTargets, 'output'),
    forward_to: toMetrics,
    honor_labels: true,
    scrape_interval: o.scrapeInterval,
  });

  // --- kubelet and cAdvisor of this node, with the service account token ----------------------
  // The kubelet's serving certificate is usually self-signed per node, so it cannot be
  // verified; the address comes from the API server's node object, not from the network.
  const kubeletTls = block('tls_config', undefined, { insecure_skip_verify: true });
  const kubeletTargets = (label: string, job: string) =>
    block('discovery.relabel', label, { targets: exportOf(node, 'targets') }, [setLabel('job', job), copyLabel(META.nodeName, 'node')]);
  const keepOnly = (label: string, names: string[]) =>
    block('prometheus.relabel', label, { forward_to: toMetrics }, [rule({ source_labels: ['__name__'], regex: names.join('|'), action: 'keep' })]);
  const kubelet = kubeletTargets('kubelet', 'kubelet');
  const kubeletKeep = keepOnly('kubelet', [
    'kubelet_volume_stats_available_bytes',
    'kubelet_volume_stats_capacity_bytes',
    'kubelet_volume_stats_used_bytes',
    'kubelet_running_pods',
  ]);
  const scrapeKubelet = block(
    'prometheus.scrape',
    'kubelet',
    {
      targets: exportOf(kubelet, 'output'),
      forward_to: [exportOf(kubeletKeep, 'receiver')],
      scheme: 'https',
      bearer_token_file: serviceAccountToken,
      scrape_interval: o.scrapeInterval,
    },
    [kubeletTls],
  );
  const cadvisor = kubeletTargets('cadvisor', 'cadvisor');
  const cadvisorKeep = keepOnly('cadvisor', [
    'container_cpu_usage_seconds_total',
    'container_cpu_cfs_periods_total',
    'container_cpu_cfs_throttled_periods_total',
    'container_memory_working_set_bytes',
    'container_spec_memory_limit_bytes',
    'container_oom_events_total',
    'container_network_receive_bytes_total',
    'container_network_transmit_bytes_total',
  ]);
  const scrapeCadvisor = block(
    'prometheus.scrape',
    'cadvisor',
    {
      targets: exportOf(cadvisor, 'output'),
      forward_to: [exportOf(cadvisorKeep, 'receiver')],
      scheme: 'https',
      metrics_path: '/metrics/cadvisor',
      bearer_token_file: serviceAccountToken,
      scrape_interval: o.scrapeInterval,
    },
    [kubeletTls],
  );

  // --- the certificate the gateway really serves ------------------------------------------------
  // Verification is skipped on purpose: the probe measures the expiry of whatever certificate
  // is served (including the interim self-signed one); `verify` proves the chain end to end.
  const serverName = probeServerName(o.domain, o.tenant);
  const blackboxModules = {
    modules: {
      gateway_tls: {
        prober: 'tcp',
        timeout: '10s',
        tcp: { tls: true, tls_config: { server_name: serverName, insecure_skip_verify: true } },
      },
    },
  };
  const blackbox = block(
    'prometheus.exporter.blackbox',
    'gateway_tls',
    { config: YAML.stringify(blackboxModules) },
    [block('target', undefined, { name: 'gateway', address: o.gatewayAddress, module: 'gateway_tls' })],
  );
  const blackboxTargets = block('discovery.relabel', 'gateway_tls', { targets: exportOf(blackbox, 'targets') }, [
    setLabel('job', tlsJob),
    setLabel('server_name', serverName),
    setLabel('target', o.gatewayAddress),
  ]);
  const scrapeBlackbox = block('prometheus.scrape', 'gateway_tls', {
    targets: exportOf(blackboxTargets, 'output'),
    forward_to: toMetrics,
    scrape_interval: '60s',
    scrape_timeout: '15s',
  });

  // --- logs: every pod on this node ------------------------------------------------------------
  const gatewayMetrics = gatewayAccessLogMetrics(o);
  const podLogs = block(
    'loki.process',
    'pod_logs',
    { forward_to: [exportOf(lokiWrite, 'receiver'), exportOf(gatewayMetrics, 'receiver')] },
    [
      block('stage.cri', undefined),
      // `filename` would be a label with one value per container restart.
      block('stage.label_drop', undefined, { values: ['filename'] }),
    ],
  );
  const podLogTargets = block('discovery.relabel', 'pod_logs', { targets: exportOf(pods, 'targets') }, [
    copyLabel(META.namespace, 'namespace'),
    copyLabel(META.pod, 'pod'),
    copyLabel(META.container, 'container'),
    copyLabel(META.appName, 'app'),
    copyLabel(META.podNode, 'node'),
    rule({
      source_labels: [META.podUid, META.container],
      separator: '/',
      target_label: '__path__',
      replacement: `${ALLOY_PATHS.podLogs}/*$1/*.log`,
    }),
  ]);
  const podLogFiles = block('local.file_match', 'pod_logs', { path_targets: exportOf(podLogTargets, 'output') });
  const tailPodLogs = block('loki.source.file', 'pod_logs', {
    targets: exportOf(podLogFiles, 'targets'),
    forward_to: [exportOf(podLogs, 'receiver')],
  });

  return [
    { comment: 'Generated by @lookout/self-monitoring. Do not edit: changes are overwritten on the next apply.' },
    { comment: `Where everything goes: the "${o.tenant}" tenant of the metrics and log stores.` },
    remoteWrite,
    lokiWrite,
    { comment: 'Pods and node of the node this collector runs on (each DaemonSet pod covers its own node).' },
    pods,
    node,
    { comment: `Platform pods: namespaces "${o.namespace}" and "${o.nodeNamespace}", container port "${METRICS_PORT_NAME}", served at /metrics.` },
    platformTargets,
    kubeStateMetricsTargets,
    serviceTargets,
    scrapeServices,
    scrapeKubeStateMetrics,
    { comment: 'Kubelet and cAdvisor, with the service account token (RBAC: nodes/metrics get).' },
    kubelet,
    kubeletKeep,
    scrapeKubelet,
    cadvisor,
    cadvisorKeep,
    scrapeCadvisor,
    { comment: `The certificate the gateway serves for ${serverName}.` },
    blackbox,
    blackboxTargets,
    scrapeBlackbox,
    { comment: `Pod logs under ${ALLOY_PATHS.podLogs}, labelled with namespace, pod, container, app and node.` },
    podLogTargets,
    podLogFiles,
    tailPodLogs,
    podLogs,
    { comment: 'Gateway access log → request metrics (exposed on the collector\'s own /metrics, scraped above).' },
    gatewayMetrics,
  ];
}

/**
 * A branch of the log pipeline that only produces metrics: the stock nginx image has no
 * Prometheus endpoint, so requests by tenant and status class come from its JSON access log.
 * Its entries go nowhere else, so it may reshape their labels freely.
 */
function gatewayAccessLogMetrics(o: Resolved): AlloyBlock {
  const f = GATEWAY_ACCESS_LOG_FIELDS;
  const prefix = 'lookout_gateway_';
  const strip = (metric: string) => metric.slice(prefix.length);
  return block('loki.process', 'gateway_access_log', { forward_to: [] }, [
    block(
      'stage.match',
      undefined,
      { selector: `{namespace=${JSON.stringify(o.namespace)}, app=${JSON.stringify(o.gatewayApp)}}`, pipeline_name: 'gateway_access_log' },
      [
        block('stage.json', undefined, { expressions: { tenant: f.tenant, status: f.status, request_time: f.requestTime } }),
        block('stage.regex', undefined, { source: 'status', expression: '^(?P<status_class>[1-5])[0-9][0-9]$' }),
        block('stage.labels', undefined, { values: { tenant: '', status_class: '' } }),
        block('stage.label_keep', undefined, { values: ['tenant', 'status_class'] }),
        // Only lines that carried an HTTP status are requests (nginx also logs errors here).
        block('stage.match', undefined, { selector: '{status_class=~"[1-5]"}', pipeline_name: 'gateway_requests' }, [
          block('stage.template', undefined, { source: 'status_class', template: '{{ .Value }}xx' }),
          block('stage.labels', undefined, { values: { status_class: '' } }),
          block('stage.metrics', undefined, {}, [
            block('metric.counter', undefined, {
              name: strip(GATEWAY_METRICS.requests),
              prefix,
              description: 'Requests served by the gateway, by tenant and status class.',
              match_all: true,
              action: 'inc',
              max_idle_duration: '30m',
            }),
            block('metric.histogram', undefined, {
              name: strip(GATEWAY_METRICS.duration),
              prefix,
              description: 'Gateway request duration in seconds, by tenant and status class.',
              source: 'request_time',
              buckets: GATEWAY_DURATION_BUCKETS,
              max_idle_duration: '30m',
            }),
          ]),
        ]),
      ],
    ),
  ]);
}

/** The collector's configuration file (Alloy syntax). Pure and deterministic. */
export function renderAlloyConfig(options: AlloyConfigOptions): string {
  return renderAlloy(alloyConfigBlocks(options));
}
