/**
 * The user's S3-compatible object storage: its keys, read from the environment variables the
 * config names (never from the file, never written anywhere but a Kubernetes Secret), and a
 * check that each bucket takes a write.
 */
import { UsageError } from '../../errors.js';
import type { KubernetesConfig } from './config.js';

export interface S3Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What preflight asks of the store. */
export interface S3Access {
  /** Puts a small object at `key` and deletes it again; throws when either is refused. */
  checkWritable(bucket: string, key: string, signal?: AbortSignal): Promise<void>;
}

/** The keys from the environment, or a usage error naming the variable that is not set. */
export function s3KeysFromEnv(storage: KubernetesConfig['objectStorage'], env: NodeJS.ProcessEnv = process.env): S3Keys {
  const read = (field: 'accessKeyIdEnv' | 'secretAccessKeyEnv') => {
    const name = storage[field];
    const value = env[name]?.trim();
    if (!value) {
      throw new UsageError(`kubernetes.objectStorage.${field}: the environment variable ${name} is not set`, {
        hint: `Export ${name} with the ${field === 'accessKeyIdEnv' ? 'access key id' : 'secret access key'} of the object storage.`,
      });
    }
    return value;
  };
  return { accessKeyId: read('accessKeyIdEnv'), secretAccessKey: read('secretAccessKeyEnv') };
}

/** `host[:port]` of the endpoint URL, as the stores' configs take it, and whether it is plain HTTP. */
export function storesEndpoint(endpoint: string): { endpoint: string; insecure: boolean } {
  const url = new URL(endpoint);
  return { endpoint: url.host, insecure: url.protocol === 'http:' };
}

/** An S3 client for the configured store (loaded only when used). */
export async function s3Access(storage: KubernetesConfig['objectStorage'], keys: S3Keys): Promise<S3Access & { close(): void }> {
  const { S3Client, PutObjectCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: storage.endpoint,
    region: storage.region,
    forcePathStyle: storage.forcePathStyle,
    credentials: keys,
    maxAttempts: 3,
  });
  return {
    async checkWritable(bucket, key, signal) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'lookout preflight\n' }), { abortSignal: signal });
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    },
    close: () => client.destroy(),
  };
}
