/**
 * An S3 bucket with the defaults a data bucket should have: no public access by any path,
 * no ACLs, encryption at rest (SSE-KMS with a bucket key, or SSE-S3), TLS-only access, and
 * a lifecycle that bounds what is kept. It outlives `pulumi destroy` unless told otherwise.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { policyJson } from './policies.js';
import type { Tags } from './tags.js';

/** Incomplete multipart uploads are never read; after a week they are only cost. */
export const ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS = 7;

export interface SecureBucketArgs {
  /** Physical bucket name (explicit, so a resumed run and a preflight check know it). */
  bucketName: pulumi.Input<string>;
  /** KMS key for SSE-KMS. Without one the bucket uses SSE-S3 (AES256). */
  kmsKeyArn?: pulumi.Input<string>;
  /** Expire objects this many days after they were written. Default: never. */
  expireAfterDays?: number;
  /**
   * Keep the bucket (and its protections) in AWS when the resource is deleted from the
   * program or the stack is destroyed. Default true: data outlives the infrastructure
   * unless the caller asks otherwise (and empties the bucket itself).
   */
  retainOnDelete?: boolean;
  tags?: Tags;
}

export class SecureBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly bucketName: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  /** The retain-on-delete choice applied to the bucket and its configuration resources. */
  readonly retainOnDelete: boolean;
  readonly expireAfterDays: number | undefined;
  readonly encryption: 'aws:kms' | 'AES256';

  constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering, so a bad argument leaves no half-registered component.
    if (args.expireAfterDays !== undefined && (!Number.isInteger(args.expireAfterDays) || args.expireAfterDays < 1)) {
      throw new Error(`SecureBucket ${name}: expireAfterDays must be a whole number of days ≥ 1, not ${args.expireAfterDays}`);
    }
    super('lookout:aws:SecureBucket', name, {}, opts);
    this.retainOnDelete = args.retainOnDelete ?? true;
    this.expireAfterDays = args.expireAfterDays;
    this.encryption = args.kmsKeyArn === undefined ? 'AES256' : 'aws:kms';
    // The configuration resources are retained with the bucket: deleting them alone would
    // leave a kept bucket without its public access block and encryption defaults.
    const child = { parent: this, retainOnDelete: this.retainOnDelete };

    this.bucket = new aws.s3.Bucket(
      name,
      // Emptying is an explicit step (`destroy --delete-data`), never a side effect of a delete.
      { bucket: args.bucketName, forceDestroy: false, tags: { ...args.tags } },
      child,
    );
    this.bucketName = this.bucket.bucket;
    this.arn = this.bucket.arn;

    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      name,
      {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      child,
    );
    new aws.s3.BucketOwnershipControls(name, { bucket: this.bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, child);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket: this.bucket.id,
        rules: [
          args.kmsKeyArn === undefined
            ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }
            : {
                applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKeyArn },
                // One data key per bucket instead of one KMS call per object: cheaper and no throttling.
                bucketKeyEnabled: true,
              },
        ],
      },
      child,
    );
    new aws.s3.BucketPolicy(
      name,
      {
        bucket: this.bucket.id,
        policy: policyJson({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'DenyInsecureTransport',
              Effect: 'Deny',
              Principal: '*',
              Action: 's3:*',
              Resource: [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`],
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        }),
      },
      // S3 refuses policy changes while the public access block is being written.
      { ...child, dependsOn: [publicAccessBlock] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        bucket: this.bucket.id,
        rules: [
          {
            id: 'abort-incomplete-multipart-uploads',
            status: 'Enabled',
            filter: { prefix: '' },
            abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS },
          },
          ...(this.expireAfterDays === undefined
            ? []
            : [{ id: 'expire-objects', status: 'Enabled', filter: { prefix: '' }, expiration: { days: this.expireAfterDays } }]),
        ],
      },
      child,
    );

    this.registerOutputs({ bucketName: this.bucketName, arn: this.arn });
  }
}
