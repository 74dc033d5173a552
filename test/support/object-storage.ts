/**
 * The object storage the stores' tests render besides S3 on AWS: an S3-compatible store on the
 * cluster's own network (path-style, plain HTTP) whose keys come from a Secret.
 */
import type { S3Connection } from '@lookout/kube';

export const S3_COMPATIBLE_CONNECTION = {
  backend: 's3',
  region: 'us-east-1',
  endpoint: 'minio.storage.svc.cluster.local:9000',
  forcePathStyle: true,
  insecure: true,
  credentialsSecret: { name: 'object-storage', accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' },
} as const satisfies S3Connection;
