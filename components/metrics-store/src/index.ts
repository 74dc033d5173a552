export * from './layout.js';
export * from './config.js';
export * from './runtime-config.js';
export * from './pod-spec.js';
export * from './network-policies.js';
export * from './metrics-store.js';
