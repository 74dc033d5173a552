/**
 * The GCS buckets of one observability instance: metric blocks, log chunks, and ruler and
 * Alertmanager state. Each has uniform bucket-level access (IAM only, no object ACLs), public
 * access prevention enforced, a lifecycle expiry as the safety net past the longest retention,
 * and is kept when deleted from the program: emptying a bucket is an explicit step.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { checkLabels, type Labels } from './labels.js';

export const OBSERVABILITY_BUCKET_PURPOSES = ['metrics', 'logs', 'rules'] as const;
export type ObservabilityBucketPurpose = (typeof OBSERVABILITY_BUCKET_PURPOSES)[number];

/**
 * Days the lifecycle waits beyond the longest retention. The stores delete expired data
 * themselves (their compactors); the lifecycle is the backstop for what they miss and must
 * never win the race: the margin covers compactor downtime and late retention passes.
 */
export const EXPIRY_SAFETY_MARGIN_DAYS = 7;

export interface ObservabilityBucketsArgs {
  project: string;
  /** Where the buckets live: the cluster's region keeps traffic in the region. */
  location: string;
  bucketNames: Record<ObservabilityBucketPurpose, pulumi.Input<string>>;
  /** Longest retention over all tenants (including the platform's own), per kind of data. */
  longestRetentionDays: { metrics: number; logs: number };
  safetyMarginDays?: number;
  /** Default true: the buckets stay when the stack is destroyed. */
  retainOnDelete?: boolean;
  labels?: Labels;
}

export class ObservabilityBuckets extends pulumi.ComponentResource {
  readonly buckets: Record<ObservabilityBucketPurpose, gcp.storage.Bucket>;
  readonly bucketNames: pulumi.Output<Record<ObservabilityBucketPurpose, string>>;
  readonly retainOnDelete: boolean;
  /** Days after which each bucket deletes objects; undefined: never. */
  readonly expiry: Record<ObservabilityBucketPurpose, number | undefined>;

  constructor(name: string, args: ObservabilityBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    const margin = args.safetyMarginDays ?? EXPIRY_SAFETY_MARGIN_DAYS;
    const checks = [
      ['longestRetentionDays.metrics', args.longestRetentionDays.metrics, 1],
      ['longestRetentionDays.logs', args.longestRetentionDays.logs, 1],
      ['safetyMarginDays', margin, 0],
    ] as const;
    for (const [what, days, min] of checks) {
      if (!Number.isInteger(days) || days < min) throw new Error(`ObservabilityBuckets ${name}: ${what} must be a whole number ≥ ${min}, not ${days}`);
    }
    const labels = checkLabels(`ObservabilityBuckets ${name}`, args.labels);
    super('lookout:gcp:ObservabilityBuckets', name, {}, opts);
    this.retainOnDelete = args.retainOnDelete ?? true;
    this.expiry = {
      metrics: args.longestRetentionDays.metrics + margin,
      logs: args.longestRetentionDays.logs + margin,
      // Rule groups and Alertmanager configs stay valid until a tenant changes them.
      rules: undefined,
    };
    const make = (purpose: ObservabilityBucketPurpose) => {
      const days = this.expiry[purpose];
      return new gcp.storage.Bucket(
        `${name}-${purpose}`,
        {
          project: args.project,
          name: args.bucketNames[purpose],
          location: args.location.toUpperCase(),
          storageClass: 'STANDARD',
          uniformBucketLevelAccess: true,
          publicAccessPrevention: 'enforced',
          forceDestroy: false,
          lifecycleRules: [
            ...(days === undefined ? [] : [{ action: { type: 'Delete' }, condition: { age: days } }]),
            // Uploads a crashed writer never finished.
            { action: { type: 'AbortIncompleteMultipartUpload' }, condition: { age: 7 } },
          ],
          labels: { ...labels },
        },
        { parent: this, retainOnDelete: this.retainOnDelete },
      );
    };
    this.buckets = { metrics: make('metrics'), logs: make('logs'), rules: make('rules') };
    this.bucketNames = pulumi
      .all([this.buckets.metrics.name, this.buckets.logs.name, this.buckets.rules.name])
      .apply(([metrics, logs, rules]) => ({ metrics, logs, rules }));
    this.registerOutputs({ bucketNames: this.bucketNames });
  }
}
