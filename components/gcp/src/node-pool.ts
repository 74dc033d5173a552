/**
 * The nodes of a {@link GkeCluster}: Container-Optimized OS with containerd, shielded, the GKE
 * metadata server (pods get Workload Identity, never the node's account), autoscaled between a
 * total minimum and maximum across the cluster's zones, auto-repaired and auto-upgraded, with
 * surge upgrades that never take a node away before its replacement is ready.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { checkLabels, type Labels } from './labels.js';

export const DISK_TYPES = ['pd-balanced', 'pd-ssd', 'pd-standard'] as const;
export type DiskType = (typeof DISK_TYPES)[number];

export interface GkeNodePoolArgs {
  project: string;
  cluster: pulumi.Input<string>;
  /** The cluster's location (region or zone). */
  location: string;
  nodePoolName: string;
  /** e.g. `e2-standard-4`. */
  machineType: string;
  diskType?: DiskType;
  diskSizeGb: number;
  /** Nodes across all zones: GKE's autoscaler stays within these. */
  minNodes: number;
  maxNodes: number;
  /** Nodes per zone when the pool is created; then the autoscaler decides. */
  initialNodesPerZone?: number;
  /** The nodes' dedicated service account ({@link GkeCluster.nodeServiceAccountEmail}). */
  serviceAccountEmail: pulumi.Input<string>;
  /** GCE labels of the node VMs and disks (not Kubernetes node labels). */
  labels?: Labels;
}

export class GkeNodePool extends pulumi.ComponentResource {
  readonly nodePool: gcp.container.NodePool;

  constructor(name: string, args: GkeNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!Number.isInteger(args.minNodes) || !Number.isInteger(args.maxNodes) || args.minNodes < 0 || args.maxNodes < Math.max(1, args.minNodes)) {
      throw new Error(`GkeNodePool ${name}: needs whole numbers 0 ≤ minNodes ≤ maxNodes, maxNodes ≥ 1 (got ${args.minNodes}, ${args.maxNodes})`);
    }
    if (!Number.isInteger(args.diskSizeGb) || args.diskSizeGb < 10) throw new Error(`GkeNodePool ${name}: diskSizeGb must be a whole number ≥ 10`);
    const labels = checkLabels(`GkeNodePool ${name}`, args.labels);
    super('lookout:gcp:GkeNodePool', name, {}, opts);
    this.nodePool = new gcp.container.NodePool(
      name,
      {
        project: args.project,
        cluster: args.cluster,
        location: args.location,
        name: args.nodePoolName,
        initialNodeCount: args.initialNodesPerZone ?? 1,
        autoscaling: { totalMinNodeCount: args.minNodes, totalMaxNodeCount: args.maxNodes, locationPolicy: 'BALANCED' },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { strategy: 'SURGE', maxSurge: 1, maxUnavailable: 0 },
        nodeConfig: {
          machineType: args.machineType,
          diskType: args.diskType ?? 'pd-balanced',
          diskSizeGb: args.diskSizeGb,
          imageType: 'COS_CONTAINERD',
          serviceAccount: args.serviceAccountEmail,
          // Access is limited by the account's roles, which is what Google recommends over scopes.
          oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          workloadMetadataConfig: { mode: 'GKE_METADATA' },
          metadata: { 'disable-legacy-endpoints': 'true' },
          resourceLabels: { ...labels },
        },
      },
      // The autoscaler owns the count once the pool exists.
      { parent: this, ignoreChanges: ['initialNodeCount'] },
    );
    this.registerOutputs({ name: this.nodePool.name });
  }
}
