import * as aws from '@pulumi/aws';
import { describe, expect, it } from 'vitest';
import { ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS, SecureBucket } from '../src/secure-bucket.js';
import { EXPIRY_SAFETY_MARGIN_DAYS, ObservabilityBuckets, expiryDays } from '../src/observability-buckets.js';
import { asList, keyOf, ofType, oneOf, policyDocuments, runWithAwsMocks } from './support.js';

const T = {
  bucket: 'aws:s3/bucket:Bucket',
  pab: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  ownership: 'aws:s3/bucketOwnershipControls:BucketOwnershipControls',
  sse: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  policy: 'aws:s3/bucketPolicy:BucketPolicy',
  lifecycle: 'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration',
  key: 'aws:kms/key:Key',
};
const BUCKET_TYPES = [T.bucket, T.pab, T.ownership, T.sse, T.policy, T.lifecycle];

describe('SecureBucket', () => {
  it('blocks public access, enforces bucket ownership, encrypts with the key and denies plain HTTP', async () => {
    const run = await runWithAwsMocks(async () => {
      const key = new aws.kms.Key('key', { enableKeyRotation: true });
      const bucket = new SecureBucket('data', { bucketName: 'acme-data', kmsKeyArn: key.arn, expireAfterDays: 30, tags: { team: 'obs' } });
      return { keyArn: key.arn, arn: bucket.arn, retain: bucket.retainOnDelete, encryption: bucket.encryption };
    });
    const { resources } = run;
    const bucket = oneOf(resources, T.bucket);
    expect(bucket.inputs.bucket).toBe('acme-data');
    expect(bucket.inputs.forceDestroy).toBe(false);
    expect(bucket.inputs.tags).toEqual({ team: 'obs' });
    for (const type of BUCKET_TYPES.slice(1)) expect(oneOf(resources, type).inputs.bucket, type).toBe('acme-data');

    expect(oneOf(resources, T.pab).inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(oneOf(resources, T.ownership).inputs.rule).toEqual({ objectOwnership: 'BucketOwnerEnforced' });

    const [rule] = oneOf(resources, T.sse).inputs.rules;
    expect(rule.applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: 'aws:kms', kmsMasterKeyId: run.outputs.keyArn });
    expect(rule.bucketKeyEnabled).toBe(true);
    expect(run.outputs.encryption).toBe('aws:kms');

    const [policy] = policyDocuments(ofType(resources, T.policy));
    expect(policy!.statements).toHaveLength(1);
    const deny = policy!.statements[0]!;
    expect(deny.Effect).toBe('Deny');
    expect(deny.Principal).toBe('*');
    expect(deny.Action).toBe('s3:*');
    expect(asList(deny.Resource).sort()).toEqual([run.outputs.arn, `${run.outputs.arn}/*`].sort());
    expect(deny.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    // The policy waits for the public access block.
    expect(run.options.get(keyOf(oneOf(resources, T.policy)))!.dependsOn).toContain(keyOf(oneOf(resources, T.pab)));

    const rules = oneOf(resources, T.lifecycle).inputs.rules as any[];
    expect(rules.find((r) => r.abortIncompleteMultipartUpload)?.abortIncompleteMultipartUpload.daysAfterInitiation).toBe(
      ABORT_INCOMPLETE_UPLOADS_AFTER_DAYS,
    );
    expect(rules.find((r) => r.expiration)?.expiration.days).toBe(30);
    for (const r of rules) expect(r.status).toBe('Enabled');
  });

  it('is retained on delete by default, with its protections, and can be told not to be', async () => {
    const run = await runWithAwsMocks(async () => {
      const kept = new SecureBucket('kept', { bucketName: 'acme-kept' });
      const dropped = new SecureBucket('dropped', { bucketName: 'acme-dropped', retainOnDelete: false });
      return { kept: kept.retainOnDelete, dropped: dropped.retainOnDelete };
    });
    expect(run.outputs).toEqual({ kept: true, dropped: false });
    for (const type of BUCKET_TYPES) {
      for (const r of ofType(run.resources, type)) {
        const expected = r.name === 'kept';
        expect(run.options.get(keyOf(r))?.retainOnDelete, `${type} ${r.name}`).toBe(expected);
      }
    }
    expect(ofType(run.resources, T.bucket)).toHaveLength(2);
  });

  it('falls back to SSE-S3 without a key and expires nothing unless asked', async () => {
    const run = await runWithAwsMocks(async () => {
      const bucket = new SecureBucket('plain', { bucketName: 'acme-plain' });
      return { encryption: bucket.encryption };
    });
    expect(run.outputs.encryption).toBe('AES256');
    const [rule] = oneOf(run.resources, T.sse).inputs.rules;
    expect(rule.applyServerSideEncryptionByDefault).toEqual({ sseAlgorithm: 'AES256' });
    const rules = oneOf(run.resources, T.lifecycle).inputs.rules as any[];
    expect(rules.some((r) => r.expiration)).toBe(false);
    expect(rules.some((r) => r.abortIncompleteMultipartUpload)).toBe(true);
  });

  it('rejects an expiry that is not a positive whole number of days, before registering anything', () => {
    // Validation runs before the component registers, so no Pulumi runtime is needed to see it.
    for (const expireAfterDays of [0, -1, 1.5]) {
      expect(() => new SecureBucket('bad', { bucketName: 'acme-bad', expireAfterDays })).toThrow(/expireAfterDays/);
    }
  });
});

describe('ObservabilityBuckets', () => {
  it('makes three buckets under one rotating key, expiring data after the longest retention plus a margin', async () => {
    const run = await runWithAwsMocks(async () => {
      const storage = new ObservabilityBuckets('storage', {
        bucketNames: { metrics: 'acme-metrics', logs: 'acme-logs', rules: 'acme-rules' },
        longestRetentionDays: { metrics: 90, logs: 31 },
      });
      return { keyArn: storage.keyArn, expiry: storage.expiry, retain: storage.retainOnDelete };
    });
    const key = oneOf(run.resources, T.key);
    expect(key.inputs.enableKeyRotation).toBe(true);
    expect(run.options.get(keyOf(key))!.retainOnDelete).toBe(true);
    expect(ofType(run.resources, T.bucket).map((b) => b.inputs.bucket).sort()).toEqual(['acme-logs', 'acme-metrics', 'acme-rules']);
    for (const sse of ofType(run.resources, T.sse)) {
      expect(sse.inputs.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId).toBe(run.outputs.keyArn);
    }
    const expiryOf = (bucket: string) =>
      (ofType(run.resources, T.lifecycle).find((l) => l.inputs.bucket === bucket)!.inputs.rules as any[]).find((r) => r.expiration)
        ?.expiration.days;
    expect(expiryOf('acme-metrics')).toBe(90 + EXPIRY_SAFETY_MARGIN_DAYS);
    expect(expiryOf('acme-logs')).toBe(31 + EXPIRY_SAFETY_MARGIN_DAYS);
    expect(expiryOf('acme-rules')).toBeUndefined();
    expect(run.outputs.expiry).toEqual({ metrics: expiryDays(90), logs: expiryDays(31) });
  });

  it('refuses retentions and margins that are not whole days, before registering anything', () => {
    const args = { bucketNames: { metrics: 'm', logs: 'l', rules: 'r' }, longestRetentionDays: { metrics: 30, logs: 14 } };
    expect(() => new ObservabilityBuckets('s', { ...args, longestRetentionDays: { metrics: 0, logs: 14 } })).toThrow(/longestRetentionDays.metrics/);
    expect(() => new ObservabilityBuckets('s', { ...args, longestRetentionDays: { metrics: 30, logs: 2.5 } })).toThrow(/longestRetentionDays.logs/);
    expect(() => new ObservabilityBuckets('s', { ...args, safetyMarginDays: -1 })).toThrow(/safetyMarginDays/);
  });

  it('passes retainOnDelete=false to the buckets and the key together', async () => {
    const run = await runWithAwsMocks(async () => {
      new ObservabilityBuckets('storage', {
        bucketNames: { metrics: 'm', logs: 'l', rules: 'r' },
        longestRetentionDays: { metrics: 30, logs: 14 },
        retainOnDelete: false,
      });
      return {};
    });
    for (const r of run.resources.filter((r) => r.custom)) expect(run.options.get(keyOf(r))?.retainOnDelete, keyOf(r)).toBe(false);
  });
});
