/**
 * The object storage of one observability instance: a bucket each for metric blocks, log
 * chunks and ruler/Alertmanager state, all encrypted with one customer managed KMS key.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { SecureBucket } from './secure-bucket.js';
import type { Tags } from './tags.js';

export const OBSERVABILITY_BUCKET_PURPOSES = ['metrics', 'logs', 'rules'] as const;
export type ObservabilityBucketPurpose = (typeof OBSERVABILITY_BUCKET_PURPOSES)[number];

/**
 * Days the bucket lifecycle waits beyond the longest retention. The stores delete expired
 * data themselves (Cortex compactor, Loki compactor); the lifecycle is only the backstop for
 * data they miss, so it must never win the race: a block or chunk is written after the data
 * it holds, and the margin covers compactor downtime and late retention passes.
 */
export const EXPIRY_SAFETY_MARGIN_DAYS = 7;

export function expiryDays(longestRetentionDays: number, marginDays: number = EXPIRY_SAFETY_MARGIN_DAYS): number {
  return longestRetentionDays + marginDays;
}

export interface ObservabilityBucketsArgs {
  bucketNames: Record<ObservabilityBucketPurpose, pulumi.Input<string>>;
  /** Longest retention over all tenants (including the platform's own), per kind of data. */
  longestRetentionDays: { metrics: number; logs: number };
  /** Default {@link EXPIRY_SAFETY_MARGIN_DAYS}. */
  safetyMarginDays?: number;
  /** Default true; see {@link SecureBucket}. The storage key follows the same choice. */
  retainOnDelete?: boolean;
  tags?: Tags;
}

export class ObservabilityBuckets extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly keyArn: pulumi.Output<string>;
  readonly buckets: Record<ObservabilityBucketPurpose, SecureBucket>;
  readonly bucketNames: pulumi.Output<Record<ObservabilityBucketPurpose, string>>;
  readonly bucketArns: Record<ObservabilityBucketPurpose, pulumi.Output<string>>;
  readonly retainOnDelete: boolean;
  /** Days after which each bucket expires objects; undefined: never. */
  readonly expiry: Record<ObservabilityBucketPurpose, number | undefined>;

  constructor(name: string, args: ObservabilityBucketsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering, so a bad argument leaves no half-registered component.
    const margin = args.safetyMarginDays ?? EXPIRY_SAFETY_MARGIN_DAYS;
    const { metrics, logs } = args.longestRetentionDays;
    const checks = [
      ['longestRetentionDays.metrics', metrics, 1],
      ['longestRetentionDays.logs', logs, 1],
      ['safetyMarginDays', margin, 0],
    ] as const;
    for (const [what, days, min] of checks) {
      if (!Number.isInteger(days) || days < min) {
        throw new Error(`ObservabilityBuckets ${name}: ${what} must be a whole number ≥ ${min}, not ${days}`);
      }
    }
    super('lookout:aws:ObservabilityBuckets', name, {}, opts);
    const tags = args.tags ?? {};
    this.retainOnDelete = args.retainOnDelete ?? true;
    this.expiry = {
      metrics: expiryDays(args.longestRetentionDays.metrics, margin),
      logs: expiryDays(args.longestRetentionDays.logs, margin),
      // Rule groups and Alertmanager configs are small and stay valid until a tenant changes
      // them; expiring them would silently drop alerts that nobody edited for a while.
      rules: undefined,
    };

    // Retained with the buckets: a kept bucket whose key is deleted is unreadable.
    this.key = new aws.kms.Key(
      `${name}-storage`,
      {
        description: pulumi.interpolate`SSE-KMS key of the buckets ${args.bucketNames.metrics}, ${args.bucketNames.logs} and ${
          args.bucketNames.rules
        }`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      { parent: this, retainOnDelete: this.retainOnDelete },
    );
    this.keyArn = this.key.arn;

    const make = (purpose: ObservabilityBucketPurpose) =>
      new SecureBucket(
        `${name}-${purpose}`,
        {
          bucketName: args.bucketNames[purpose],
          kmsKeyArn: this.key.arn,
          ...(this.expiry[purpose] === undefined ? {} : { expireAfterDays: this.expiry[purpose] }),
          retainOnDelete: this.retainOnDelete,
          tags,
        },
        { parent: this },
      );
    this.buckets = { metrics: make('metrics'), logs: make('logs'), rules: make('rules') };
    this.bucketNames = pulumi
      .all([this.buckets.metrics.bucketName, this.buckets.logs.bucketName, this.buckets.rules.bucketName])
      .apply(([metrics, logs, rules]) => ({ metrics, logs, rules }));
    this.bucketArns = {
      metrics: this.buckets.metrics.arn,
      logs: this.buckets.logs.arn,
      rules: this.buckets.rules.arn,
    };

    this.registerOutputs({ keyArn: this.keyArn, bucketNames: this.bucketNames });
  }
}
