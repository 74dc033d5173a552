export * from './alloy-syntax.js';
export * from './alloy-config.js';
export * from './rules.js';
export * from './dashboards.js';
export { ALLOY_APP, ALLOY_HOST_STATE_DIR, ALLOY_RBAC_RULES } from './alloy-workload.js';
export { KUBE_STATE_METRICS_RESOURCES } from './kube-state-metrics.js';
export { NODE_EXPORTER_APP } from './node-exporter.js';
export { SelfMonitoring, type SelfMonitoringArgs } from './self-monitoring.js';
