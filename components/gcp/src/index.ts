export * from './labels.js';
export * from './network.js';
export * from './gke-cluster.js';
export * from './node-pool.js';
export * from './observability-buckets.js';
export * from './bucket-access-identity.js';
export * from './dns-zone.js';
