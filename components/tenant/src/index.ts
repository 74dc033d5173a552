export * from './tokens.js';
export * from './grafana-config.js';
export * from './dashboards.js';
export * from './network-policy.js';
export * from './gateway-entry.js';
export * from './tenant.js';
