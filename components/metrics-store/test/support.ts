/**
 * Shared fixtures: config options for an instance in eu-west-1, and the leaf field paths of a
 * generated config (the unit the checked-field list is written in).
 */
import { readFileSync } from 'node:fs';
import { S3_COMPATIBLE_CONNECTION } from '../../../test/support/object-storage.js';
import type { CortexConfigOptions } from '../src/config.js';

export const OPTIONS: CortexConfigOptions = {
  namespace: 'lookout',
  storage: {
    backend: 's3',
    region: 'eu-west-1',
    endpoint: 's3.eu-west-1.amazonaws.com',
    blocksBucket: 'lookout-prod-metrics-1a2b3c4d',
    rulesBucket: 'lookout-prod-rules-1a2b3c4d',
  },
  alertmanagerExternalUrl: 'https://system.obs.example.com/alertmanager',
  // A VPC and the Service CIDR EKS picks for it, and a public VPC range some installations use.
  clusterCidrs: ['10.0.0.0/16', '172.20.0.0/16', '198.51.100.0/24'],
};

/** The same buckets in an S3-compatible store on the cluster's own network, with keys from a Secret. */
export const S3_COMPATIBLE: CortexConfigOptions['storage'] = { ...S3_COMPATIBLE_CONNECTION, blocksBucket: 'lookout-metrics', rulesBucket: 'lookout-rules' };

/** The same buckets in Google Cloud Storage. */
export const GCS: CortexConfigOptions['storage'] = { backend: 'gcs', blocksBucket: 'lookout-prod-metrics', rulesBucket: 'lookout-prod-rules' };

export interface CheckedFields {
  sources: Record<string, string>;
  configFields: Record<string, string>;
  /** Paths written only with some storage settings (S3-compatible stores, GCS). */
  storageVariantFields: Record<string, string>;
  limitsFields: Record<string, string>;
}

export const CHECKED_FIELDS = JSON.parse(
  readFileSync(new URL('./data/cortex-config-fields.json', import.meta.url), 'utf8'),
) as CheckedFields;

/** `a.b.c` for every scalar or scalar list in a config object. */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** Paths of every object that has a `kvstore` key: the rings. */
export function ringPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const entries = Object.entries(value as Record<string, unknown>);
  const here = entries.some(([k]) => k === 'kvstore') ? [prefix] : [];
  return [...here, ...entries.flatMap(([k, v]) => ringPaths(v, prefix ? `${prefix}.${k}` : k))];
}
