export * from './alloy-syntax.js';
export * from './alloy-config.js';
export * from './rules.js';
export * from './dashboards.js';
export { ALLOY_APP, ALLOY_HOST_STATE_DIR, ALLOY_RBAC_RULES, ALLOY_SELECTOR } from './alloy-workload.js';
export { KUBE_STATE_METRICS_RESOURCES } from './kube-state-metrics.js';
export { NODE_EXPORTER_APP, NODE_EXPORTER_DISABLED_COLLECTORS, NODE_EXPORTER_PORT } from './node-exporter.js';
export { SelfMonitoring, type SelfMonitoringArgs } from './self-monitoring.js';
