/**
 * A real S3-compatible object store on loopback for tests: the Versity S3 Gateway (Apache-2.0)
 * with its POSIX backend in a temporary directory, built from its pinned Go module. It speaks
 * SigV4, path-style addressing and conditional writes (If-None-Match / If-Match), which is
 * what Lookout's state locks and the stores' blocks storage need. (MinIO would do the same,
 * but it is AGPL, which this project does not build or run.)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, startProcess, type RunningProcess } from './processes.js';
import { testBinaries, type Binaries } from './test-binaries.js';

export function s3ServerBinaries(): Binaries {
  return testBinaries(['versitygw']);
}

export interface S3Server {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A client with the root credentials, path-style. */
  client: S3Client;
  /** Where the buckets live on disk (one directory per bucket). */
  dataDir: string;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** Credentials for code under test that builds its own S3 client from the environment. */
export function s3Environment(s3: S3Server): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
  };
}

/**
 * Starts versitygw and creates the buckets that do not exist yet. With `dataDir`, the buckets
 * live there and stay when it stops, so a later server on the same directory serves the same
 * objects (as a bucket outlives the pods that write to it).
 */
export async function startS3Server(options: { buckets?: string[]; region?: string; dataDir?: string } = {}): Promise<S3Server> {
  const binaries = s3ServerBinaries();
  if (binaries.missing) throw new Error(binaries.missing);
  const root = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'lookout-s3-')) : undefined;
  const dataDir = options.dataDir ?? join(root!, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const accessKeyId = `LOOKOUTTEST${randomBytes(4).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(24).toString('base64url');
  const region = options.region ?? 'us-east-1';
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  let proc: RunningProcess;
  try {
    proc = await startProcess(
      binaries.paths.versitygw!,
      ['--port', `127.0.0.1:${port}`, '--access', accessKeyId, '--secret', secretAccessKey, '--region', region, '--quiet', 'posix', dataDir],
      async () => {
        try {
          await client.send(new ListBucketsCommand({}));
          return true;
        } catch {
          return false;
        }
      },
      // The credentials go on the command line of a loopback test server only.
      { what: 'versitygw', deadlineMs: 30_000, env: { ...process.env, ROOT_ACCESS_KEY_ID: '', ROOT_SECRET_ACCESS_KEY: '' } },
    );
  } catch (err) {
    client.destroy();
    if (root) rmSync(root, { recursive: true, force: true });
    throw err;
  }
  // The posix backend keeps a bucket as a directory of dataDir.
  for (const bucket of (options.buckets ?? []).filter((b) => !existsSync(join(dataDir, b)))) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    client,
    dataDir,
    process: proc,
    async stop() {
      client.destroy();
      await proc.stop();
      if (root) rmSync(root, { recursive: true, force: true });
    },
  };
}
