/**
 * The objects of a Pulumi self-managed ("DIY") backend that Lookout reads directly: stack
 * state files and lock files. Keys are relative to the backend root and always use `/`,
 * as Pulumi writes them (pkg/backend/diy in pulumi/pulumi). Lookout's backends are
 * project-scoped, so a stack's fully-qualified name is `organization/<project>/<stack>`.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { setTimeout as delay } from 'node:timers/promises';
import { writeFileAtomic } from '../fs-atomic.js';
import type { Backend } from './backend.js';
import { gcsStore, type GcsHttp } from './gcs-store.js';

const BOOKKEEPING = '.pulumi';

export function stackQualifiedPath(project: string, stack: string): string {
  return `organization/${project}/${stack}`;
}

/** The directory holding the lock files of one stack. */
export function lockDirKey(project: string, stack: string): string {
  return `${BOOKKEEPING}/locks/${stackQualifiedPath(project, stack)}`;
}

/** The state file of one stack, in the forms Pulumi may have written it (plain or gzipped). */
export function stackStateKeys(project: string, stack: string): string[] {
  const base = `${BOOKKEEPING}/stacks/${project}/${stack}.json`;
  return [base, `${base}.gz`];
}

/** A stored object and its version (an S3 ETag; a GCS generation). */
export interface VersionedObject {
  text: string;
  version: string;
}

/**
 * Compare-and-swap on single objects: what a shared state needs to lock, journal and update
 * without a server of its own. S3 does it with conditional requests (`If-None-Match: *` to
 * create, `If-Match: <ETag>` to replace or delete). GCS does the same with generation
 * preconditions (`ifGenerationMatch=0` to create, `=<generation>` to replace or delete), so a
 * GCS store fills this interface with the generation as the version.
 *
 * An S3 ETag is the MD5 of the content (for SSE-S3), so two writes of the same bytes have the
 * same version. Writers that rely on a version changing make every write unique (a lock
 * carries a token and a renewal count; sealed secrets a fresh salt and IV).
 */
export interface ConditionalObjects {
  get(key: string): Promise<VersionedObject | undefined>;
  /** Creates the object only if there is none: its version, or undefined when one exists. */
  create(key: string, data: string): Promise<string | undefined>;
  /** Replaces the object only if it is still at `version`: the new version, or undefined when it changed or is gone. */
  replace(key: string, data: string, version: string): Promise<string | undefined>;
  /** Deletes the object only if it is still at `version`; false when it changed. A missing object counts as deleted. */
  remove(key: string, version: string): Promise<boolean>;
}

/** Read/list/delete access to a backend's objects, as far as Lookout can reach them. */
export interface DiyStore {
  readonly kind: Backend['kind'];
  /** False when Lookout has no client for this backend: only locations and commands are known. */
  readonly canAccess: boolean;
  /** Keys of the objects directly or indirectly under `dirKey`. */
  list(dirKey: string): Promise<string[]>;
  read(key: string): Promise<string>;
  /** Replaces the object atomically (a file is written 0600; an S3 object is encrypted at rest). */
  write(key: string, data: string): Promise<void>;
  remove(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Where the object is, as a user would write it (a path or a bucket URL). */
  location(key: string): string;
  /** A shell command that deletes the object, for instructions in error messages. */
  removeCommand(key: string): string;
  /** Conditional writes, where the backend is shared (S3, GCS); absent for local files. */
  readonly conditional?: ConditionalObjects;
}

/** A string as one word of a POSIX shell command. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

export function fileStore(dir: string): DiyStore {
  const pathOf = (key: string) => join(dir, ...key.split('/'));
  return {
    kind: 'file',
    canAccess: true,
    async list(dirKey) {
      let entries: string[];
      try {
        entries = await readdir(pathOf(dirKey), { recursive: true });
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
      const keys: string[] = [];
      for (const rel of entries) {
        const key = `${dirKey}/${rel.split(/[\\/]/).join('/')}`;
        if ((await stat(pathOf(key))).isFile()) keys.push(key);
      }
      return keys.sort();
    },
    read: (key) => readFile(pathOf(key), 'utf8'),
    write: (key, data) => writeFileAtomic(pathOf(key), data, { mode: 0o600 }),
    remove: (key) => rm(pathOf(key)),
    async exists(key) {
      try {
        await stat(pathOf(key));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
    location: pathOf,
    removeCommand: (key) => `rm ${shellQuote(pathOf(key))}`,
  };
}

/** The status code of an S3 error response, if it is one. */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

function isS3NotFound(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

/** 412: the object is not at the version the request named (or exists, for If-None-Match). */
function isPreconditionFailed(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'PreconditionFailed' || statusOf(err) === 412;
}

/**
 * 409 ConditionalRequestConflict: another conditional request on the same key is in flight.
 * S3 asks for a retry; the outcome then says who won.
 */
function isConditionalConflict(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'ConditionalRequestConflict' || statusOf(err) === 409;
}

async function retryingConflicts<T>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (err) {
      if (!isConditionalConflict(err) || attempt >= 6) throw err;
      await delay(25 * 2 ** attempt * (0.5 + Math.random()));
    }
  }
}

function s3Conditional(bucket: string, objectKey: (key: string) => string, client: S3Client): ConditionalObjects {
  const get = async (key: string): Promise<VersionedObject | undefined> => {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      if (!res?.ETag) throw new Error(`the S3 store did not return an ETag for ${objectKey(key)}, so it cannot hold a lock`);
      return { text: res.Body ? await res.Body.transformToString('utf8') : '', version: res.ETag };
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  };
  const put = async (key: string, data: string, condition: { IfNoneMatch: '*' } | { IfMatch: string }) => {
    try {
      const res = await retryingConflicts(() =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey(key), Body: data, ServerSideEncryption: 'AES256', ...condition })),
      );
      if (!res?.ETag) throw new Error(`the S3 store did not return an ETag for ${objectKey(key)}, so it cannot hold a lock`);
      return res.ETag;
    } catch (err) {
      // A replace of an object that is gone fails with 404 on S3; both mean "not what you read".
      if (!isPreconditionFailed(err) && !('IfMatch' in condition && isS3NotFound(err))) throw err;
      // The SDK retries a request whose answer was lost; if the first attempt went through,
      // the retry fails its own condition. Our bytes being there means the write happened.
      const now = await get(key);
      return now?.text === data ? now.version : undefined;
    }
  };
  return {
    get,
    create: (key, data) => put(key, data, { IfNoneMatch: '*' }),
    replace: (key, data, version) => put(key, data, { IfMatch: version }),
    async remove(key, version) {
      try {
        await retryingConflicts(() => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key), IfMatch: version })));
        return true;
      } catch (err) {
        if (isS3NotFound(err)) return true;
        if (isPreconditionFailed(err)) return false;
        throw err;
      }
    },
  };
}

export function s3Store(bucket: string, prefix: string, client: S3Client): DiyStore {
  const objectKey = (key: string) => (prefix === '' ? key : `${prefix}/${key}`);
  const url = (key: string) => `s3://${bucket}/${objectKey(key)}`;
  return {
    kind: 's3',
    canAccess: true,
    async list(dirKey) {
      const listPrefix = `${objectKey(dirKey)}/`;
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: listPrefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key) keys.push(`${dirKey}/${o.Key.slice(listPrefix.length)}`);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async read(key) {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
      if (!res.Body) return '';
      return res.Body.transformToString('utf8');
    },
    async write(key, data) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: objectKey(key), Body: data, ServerSideEncryption: 'AES256' }),
      );
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
    },
    async exists(key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        return true;
      } catch (err) {
        if (isS3NotFound(err)) return false;
        throw err;
      }
    },
    location: url,
    removeCommand: (key) => `aws s3 rm ${shellQuote(url(key))}`,
    conditional: s3Conditional(bucket, objectKey, client),
  };
}

export interface StoreFactories {
  s3Client?: (region: string | undefined) => S3Client;
  /** The HTTP client of a GCS store (default: Application Default Credentials, loaded on first use). */
  gcsHttp?: () => Promise<GcsHttp>;
}

export function storeFor(backend: Backend, factories: StoreFactories = {}): DiyStore {
  switch (backend.kind) {
    case 'file':
      return fileStore(backend.dir);
    case 's3': {
      const client = factories.s3Client
        ? factories.s3Client(backend.region)
        : new S3Client({
            ...(backend.region ? { region: backend.region } : {}),
            // The bucket may be in another region than the user's default one.
            followRegionRedirects: true,
            maxAttempts: 5,
          });
      return s3Store(backend.bucket, backend.prefix, client);
    }
    case 'gs':
      return gcsStore(backend.bucket, backend.prefix, factories.gcsHttp);
  }
}

/**
 * Whether the backend already holds state for the stack. False means the stack is new, so
 * its passphrase is being chosen now (and should be typed twice). Undefined when Lookout
 * cannot look; treat that as new, which only costs a second prompt.
 */
export async function stackHasState(store: DiyStore, project: string, stack: string): Promise<boolean | undefined> {
  if (!store.canAccess) return undefined;
  for (const key of stackStateKeys(project, stack)) {
    if (await store.exists(key)) return true;
  }
  return false;
}
