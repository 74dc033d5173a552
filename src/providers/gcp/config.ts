/**
 * The `gcp` block of lookout.yaml: project, region (and a zone for a zonal cluster), the node
 * pool, the Kubernetes version or release channel, and who may reach the control plane.
 * Loaded by the config schema; zod only.
 */
import { z } from 'zod';
import { controlPlaneAccessFields, refuseWholeInternet, wholeInternetWarnings, type ControlPlaneAccess } from '../../config/cidrs.js';
import type { ProviderConfigBlock } from '../types.js';
import { derivedGcpNames } from './naming.js';

/** GKE limit of authorized networks for a cluster's public endpoint. */
export const MAX_AUTHORIZED_NETWORKS = 50;

export const GKE_RELEASE_CHANNELS = ['RAPID', 'REGULAR', 'STABLE', 'EXTENDED'] as const;
export const GKE_DISK_TYPES = ['pd-balanced', 'pd-ssd', 'pd-standard'] as const;

const REGION = /^[a-z]+-[a-z]+\d+$/;
const ACCESS: ControlPlaneAccess = { provider: 'gcp', endpoint: 'the control plane' };

const nodesSchema = z
  .strictObject({
    machineType: z
      .string()
      .regex(/^[a-z][a-z0-9]*-[a-z0-9-]*[a-z0-9]$/, { message: 'must be a Compute Engine machine type such as e2-standard-4' })
      .default('e2-standard-4')
      .meta({ description: 'Compute Engine machine type of the nodes.' }),
    min: z.number().int().min(1).max(100).default(3).meta({ description: 'Minimum number of nodes, over all zones.' }),
    max: z.number().int().min(1).max(100).default(6).meta({ description: 'Maximum number of nodes, over all zones (GKE autoscales between them).' }),
    diskType: z.enum(GKE_DISK_TYPES).default('pd-balanced').meta({ description: 'Boot disk type.' }),
    diskGiB: z.number().int().min(20).max(2000).default(100).meta({ description: 'Boot disk size.' }),
  })
  .prefault({})
  .meta({ description: 'The node pool, autoscaled by GKE between min and max.' })
  .superRefine(
    (n, ctx) => {
      if (typeof n?.min === 'number' && typeof n?.max === 'number' && n.min > n.max) {
        ctx.addIssue({ code: 'custom', path: ['max'], message: `must be at least min (${n.min}), found ${n.max}` });
      }
    },
    { when: () => true },
  );

export const gcpSchema = z
  .strictObject({
    project: z
      .string()
      .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, {
        message: 'must be a GCP project id: 6–30 lowercase letters, digits or hyphens, starting with a letter (the id, not the display name or number)',
      })
      .meta({ description: 'GCP project id of the instance.' }),
    region: z.string().regex(REGION, { message: 'must be a GCP region such as europe-west1' }).meta({ description: 'GCP region of the instance.' }),
    zone: z
      .string()
      .regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, { message: 'must be a GCP zone such as europe-west1-b' })
      .optional()
      .meta({ description: 'Makes the cluster zonal, in this zone of `region`: cheaper, but a zone outage stops it. Default: regional (three zones).' }),
    nodes: nodesSchema,
    kubernetesVersion: z
      .string()
      .regex(/^1\.(2[89]|3[0-9])$/, { message: 'must be a GKE Kubernetes minor version such as 1.34' })
      .optional()
      .meta({ description: 'Pin the Kubernetes minor version (the cluster then has no release channel; quote it). Default: follow `releaseChannel`.' }),
    releaseChannel: z
      .enum(GKE_RELEASE_CHANNELS)
      .optional()
      .meta({ description: 'GKE release channel the cluster upgrades along when no `kubernetesVersion` is given. Default REGULAR.' }),
    ...controlPlaneAccessFields({
      ...ACCESS,
      ipv6Message: 'must be an IPv4 CIDR: GKE authorized networks for the public endpoint are IPv4',
      max: MAX_AUTHORIZED_NETWORKS,
      maxMessage: `must have at most ${MAX_AUTHORIZED_NETWORKS} CIDRs (a GKE limit)`,
      description: 'IPv4 CIDRs allowed to reach the control plane (GKE authorized networks). Include the address of the machine that runs lookout.',
    }),
  })
  .superRefine(
    (gcp, ctx) => {
      if (typeof gcp?.zone === 'string' && typeof gcp?.region === 'string' && REGION.test(gcp.region) && !gcp.zone.startsWith(`${gcp.region}-`)) {
        ctx.addIssue({ code: 'custom', path: ['zone'], message: `must be a zone of region ${gcp.region}, such as ${gcp.region}-b, found ${gcp.zone}` });
      }
      if (gcp?.kubernetesVersion !== undefined && gcp?.releaseChannel !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['releaseChannel'],
          message: 'must not be given with kubernetesVersion: a pinned version has no release channel; keep one of the two',
        });
      }
      refuseWholeInternet(gcp, ctx, ACCESS);
    },
    { when: () => true },
  );

export type GcpConfig = z.output<typeof gcpSchema>;

/** The version setting of a validated block: a pinned version, or the channel (REGULAR by default). */
export function gcpVersion(gcp: GcpConfig): { kubernetesVersion: string } | { releaseChannel: (typeof GKE_RELEASE_CHANNELS)[number] } {
  return gcp.kubernetesVersion !== undefined ? { kubernetesVersion: gcp.kubernetesVersion } : { releaseChannel: gcp.releaseChannel ?? 'REGULAR' };
}

export const gcpConfigBlock: ProviderConfigBlock<typeof gcpSchema> = {
  id: 'gcp',
  schema: gcpSchema,
  description: 'GCP settings; required when the provider is gcp.',
  requiredFields: 'it needs at least project, region and apiAllowedCidrs',
  derivedNames: derivedGcpNames,
  location: (gcp) => ({ field: 'gcp.region', value: gcp.region }),
  warnings: (gcp) => wholeInternetWarnings(gcp.apiAllowedCidrs, ACCESS),
  summary(gcp) {
    const version = gcpVersion(gcp);
    return [
      ['project', gcp.project],
      ['region', gcp.zone === undefined ? `${gcp.region} (regional cluster, three zones)` : `${gcp.region} (zonal cluster in ${gcp.zone})`],
      ['nodes', `${gcp.nodes.machineType}, ${gcp.nodes.min}–${gcp.nodes.max} nodes`],
      ['kubernetes', 'kubernetesVersion' in version ? version.kubernetesVersion : `${version.releaseChannel} release channel`],
    ];
  },
};
