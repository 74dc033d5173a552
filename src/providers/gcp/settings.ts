/**
 * The `gcp` block of a validated config. Its own module, without zod, so the parts of the
 * provider that run on every Kubernetes API call (kube-token) and in `status` stay light.
 */
import type { GcpConfig } from './config.js';

/** The `gcp` block of a config whose provider is gcp (validation guarantees it is there). */
export function gcpConfigOf(config: { gcp?: GcpConfig | undefined }): GcpConfig {
  if (!config.gcp) throw new Error('the config has no `gcp` block');
  return config.gcp;
}

/** A regional cluster spreads over three zones; a zonal one lives in one. */
export function gcpZoneCount(gcp: GcpConfig): number {
  return gcp.zone === undefined ? 3 : 1;
}

/** Where the cluster lives: the zone when zonal, else the region. */
export function gcpLocation(gcp: GcpConfig): string {
  return gcp.zone ?? gcp.region;
}
