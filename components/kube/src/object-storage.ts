/**
 * How a store reaches its object storage, whatever runs it: S3 (or an S3-compatible store) or
 * Google Cloud Storage. The stores render these into their own config sections; who grants
 * access (a cloud identity through ServiceAccount annotations, or static keys in a Secret) is
 * the caller's choice, never a key in a config file.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';

/** A Secret in the store's namespace holding S3 keys, and the keys of its two entries. */
export interface S3CredentialsSecret {
  name: string;
  accessKeyIdKey: string;
  secretAccessKeyKey: string;
}

export interface S3Connection {
  backend: 's3';
  region: string;
  /**
   * `host[:port]` of the S3 API. Stores whose client cannot derive it from the region need it;
   * S3-compatible stores always do.
   */
  endpoint?: string;
  /** Path-style requests (`<endpoint>/<bucket>/<key>`), which most S3-compatible stores need. */
  forcePathStyle?: boolean;
  /** Plain HTTP to the endpoint: only for a store on a network the cluster trusts. */
  insecure?: boolean;
  /**
   * Static keys, for stores that no workload identity can reach. They reach the pods as
   * environment variables from this Secret, never through a config file.
   */
  credentialsSecret?: S3CredentialsSecret;
}

/** Google Cloud Storage; credentials come from the pods' identity (Workload Identity). */
export interface GcsConnection {
  backend: 'gcs';
}

export type ObjectStorageConnection = S3Connection | GcsConnection;

/** A connection with the buckets a store uses, e.g. `{ bucket }` or `{ blocksBucket, rulesBucket }`. */
export type ObjectStorage<Buckets extends Record<string, pulumi.Input<string>>> = ObjectStorageConnection & Buckets;

/**
 * The environment that hands a Secret's S3 keys to a store's containers. Both stores' S3
 * clients read these standard variables through their SDK's default credential chain when
 * the config holds no keys; nothing when the connection has no Secret.
 */
export function objectStorageEnv(connection: ObjectStorageConnection): k8s.types.input.core.v1.EnvVar[] {
  if (connection.backend !== 's3' || !connection.credentialsSecret) return [];
  const secret = connection.credentialsSecret;
  const fromSecret = (key: string) => ({ secretKeyRef: { name: secret.name, key } });
  return [
    { name: 'AWS_ACCESS_KEY_ID', valueFrom: fromSecret(secret.accessKeyIdKey) },
    { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: fromSecret(secret.secretAccessKeyKey) },
  ];
}

/** GCS bucket names: 3–63 characters of lowercase letters, digits, `-`, `_` and `.`. */
const GCS_BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
/** S3 bucket names: 3–63 characters of lowercase letters, digits, `-` and `.`. */
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Why `bucket` cannot name a bucket of this backend, or undefined when it can. */
export function bucketNameProblem(backend: ObjectStorageConnection['backend'], bucket: string): string | undefined {
  const valid = backend === 'gcs' ? GCS_BUCKET.test(bucket) : S3_BUCKET.test(bucket) && !bucket.includes('..');
  return valid ? undefined : `must be ${backend === 'gcs' ? 'a GCS' : 'an S3'} bucket name, got "${bucket}"`;
}
