/**
 * Where an instance's Pulumi state lives. The default is the Pulumi file backend under the
 * instance's directory; `--state s3://…` or `gs://…` selects a bucket a team shares.
 *
 * The Pulumi engine reads the same URL (PULUMI_BACKEND_URL) through its gocloud drivers: an
 * S3 bucket with the AWS credentials of the environment, a GCS bucket with Google's
 * Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth
 * application-default login`). STORAGE_EMULATOR_HOST points both the engine and Lookout's
 * own GCS client (src/pulumi/gcs-store.ts) at an emulator.
 *
 * `file://<absolute path>` is accepted too: it is what the default resolves to, and it lets
 * someone keep state on a backed-up or shared disk. Relative paths are refused because the
 * Pulumi child runs in a different working directory than the user's shell.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { isAbsolute, normalize } from 'node:path';
import { UsageError } from '../errors.js';
import { instancePaths } from '../paths.js';

export type Backend =
  | {
      kind: 'file';
      url: string;
      display: string;
      dir: string;
      /** True for the default directory, which Lookout owns and keeps private. */
      owned: boolean;
    }
  | { kind: 's3'; url: string; display: string; bucket: string; prefix: string; region?: string }
  | { kind: 'gs'; url: string; display: string; bucket: string; prefix: string };

export type BackendKind = Backend['kind'];

const EXPECTED = 's3://<bucket>[/<prefix>][?region=<aws-region>], gs://<bucket>[/<prefix>] or file://<absolute path>';

const STATE_HINT =
  'Leave out --state to keep the state on this machine (under ~/.lookout/<instance>/state), or give a bucket ' +
  'your team shares, for example `--state s3://acme-lookout-state/prod?region=eu-west-1` or `--state gs://acme-lookout-state/prod`.';

function invalid(value: string, why: string): UsageError {
  return new UsageError(`--state: expected ${EXPECTED}, found "${value}": ${why}.`, { hint: STATE_HINT });
}

export function resolveBackend(instance: string, stateFlag?: string): Backend {
  if (stateFlag === undefined) {
    const dir = instancePaths(instance).pulumiState;
    return { kind: 'file', url: `file://${dir}`, display: dir, dir, owned: true };
  }
  const value = stateFlag.trim();
  if (value === '') throw invalid(stateFlag, 'the value is empty');

  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(value);
  if (!match) {
    const why = isAbsolute(value) || value.startsWith('.') || value.startsWith('~')
      ? 'a bare path is not a backend URL (write file:///absolute/path for a directory)'
      : 'it has no scheme';
    throw invalid(value, why);
  }
  const scheme = match[1]!;
  const rest = match[2]!;
  switch (scheme) {
    case 's3':
      return resolveBucketUrl(value, 's3', rest);
    case 'gs':
      return resolveBucketUrl(value, 'gs', rest);
    case 'file':
      return resolveFileUrl(value, rest);
    default: {
      const lower = scheme.toLowerCase();
      const why = lower === 's3' || lower === 'gs' || lower === 'file'
        ? `the scheme must be written in lowercase ("${lower}://")`
        : `the scheme "${scheme}://" is not supported (Pulumi Cloud and HTTP backends are not used by Lookout)`;
      throw invalid(value, why);
    }
  }
}

function resolveFileUrl(value: string, rest: string): Backend {
  if (rest.includes('?') || rest.includes('#')) throw invalid(value, 'file URLs take no query or fragment');
  if (!rest.startsWith('/')) {
    throw invalid(value, 'the path must be absolute (file:///var/lib/lookout/state has three slashes)');
  }
  const dir = normalize(rest).replace(/\/+$/, '') || '/';
  if (dir === '/') throw invalid(value, 'the filesystem root cannot hold the state');
  return { kind: 'file', url: `file://${dir}`, display: dir, dir, owned: false };
}

function resolveBucketUrl(value: string, kind: 's3' | 'gs', rest: string): Backend {
  if (rest.includes('#')) throw invalid(value, 'a fragment (#…) is not allowed');
  const [location = '', query] = splitOnce(rest, '?');
  const [bucket = '', rawPrefix = ''] = splitOnce(location, '/');
  if (bucket === '') throw invalid(value, 'the bucket name is missing');
  const bucketProblem = kind === 's3' ? s3BucketProblem(bucket) : gcsBucketProblem(bucket);
  if (bucketProblem) throw invalid(value, `bucket "${bucket}" ${bucketProblem}`);

  const prefix = rawPrefix.replace(/\/+$/, '');
  const prefixProblem = prefixProblemOf(prefix);
  if (prefixProblem) throw invalid(value, `prefix "${prefix}" ${prefixProblem}`);

  let region: string | undefined;
  if (query !== undefined && query !== '') {
    const params = new URLSearchParams(query);
    for (const [key, val] of params) {
      if (kind === 'gs') throw invalid(value, `gs:// URLs take no query parameters (found "${key}")`);
      if (key !== 'region') throw invalid(value, `the only query parameter Lookout accepts is "region" (found "${key}")`);
      if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(val)) {
        throw invalid(value, `region "${val}" is not an AWS region name such as eu-west-1`);
      }
      region = val;
    }
  }

  const path = prefix === '' ? bucket : `${bucket}/${prefix}`;
  if (kind === 's3') {
    const url = `s3://${path}${region ? `?region=${region}` : ''}`;
    return { kind, url, display: `s3://${path}${region ? ` (${region})` : ''}`, bucket, prefix, ...(region ? { region } : {}) };
  }
  return { kind, url: `gs://${path}`, display: `gs://${path}`, bucket, prefix };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The general-purpose bucket naming rules of Amazon S3. */
function s3BucketProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return `must be 3 to 63 characters long (it has ${bucket.length})`;
  if (/[A-Z]/.test(bucket)) return 'must not contain uppercase letters';
  if (!/^[a-z0-9.-]+$/.test(bucket)) return 'may hold only lowercase letters, digits, dots and hyphens';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return 'must start and end with a letter or digit';
  if (bucket.includes('..')) return 'must not contain two dots in a row';
  if (IPV4.test(bucket)) return 'must not look like an IP address';
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(bucket)) return 'uses a prefix S3 reserves';
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(bucket)) return 'uses a suffix S3 reserves';
  return undefined;
}

/** The bucket naming rules of Google Cloud Storage. */
function gcsBucketProblem(bucket: string): string | undefined {
  if (/[A-Z]/.test(bucket)) return 'must not contain uppercase letters';
  if (!/^[a-z0-9._-]+$/.test(bucket)) return 'may hold only lowercase letters, digits, dots, hyphens and underscores';
  const max = bucket.includes('.') ? 222 : 63;
  if (bucket.length < 3 || bucket.length > max) return `must be 3 to ${max} characters long (it has ${bucket.length})`;
  if (bucket.split('.').some((part) => part.length === 0 || part.length > 63)) {
    return 'must have dot-separated parts of 1 to 63 characters';
  }
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return 'must start and end with a letter or digit';
  if (IPV4.test(bucket)) return 'must not look like an IP address';
  if (bucket.startsWith('goog') || /g[o0]{2}gle/.test(bucket)) return 'must not start with "goog" or contain "google"';
  return undefined;
}

function prefixProblemOf(prefix: string): string | undefined {
  if (prefix === '') return undefined;
  const segments = prefix.split('/');
  if (segments.some((s) => s === '')) return 'must not contain empty path segments ("//")';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain "." or ".." segments';
  if (!/^[A-Za-z0-9!_.*'()\/-]+$/.test(prefix)) {
    return "may hold only letters, digits, '/' and the characters ! _ . * ' ( ) -";
  }
  if (prefix.length > 512) return 'is too long (512 characters at most)';
  return undefined;
}

/**
 * The backend URL the engine is given. For a file backend it asks gocloud's fileblob driver,
 * which Pulumi's file backend uses, not to write its metadata "sidecar" files
 * (`<object>.attrs`). fileblob writes each object to a temporary file and renames it into
 * place, but writes the sidecar in place (create, then encode: gocloud.dev v0.46.0
 * blob/fileblob/attrs.go `setAttrs`), and reads it back on every later read of the object.
 * An engine killed between those two calls leaves an empty sidecar, and from then on every
 * read of that stack's state fails with `failed to load checkpoint: EOF`. Pulumi's file
 * backend stores nothing in those attributes that it reads back (content type and MD5 only),
 * so it loses nothing without them. Buckets have no sidecars.
 */
export function engineBackendUrl(backend: Backend): string {
  return backend.kind === 'file' ? `${backend.url}?metadata=skip` : backend.url;
}

/**
 * Creates the directory of a file backend, readable by the owner only. A directory the user
 * named with file:// keeps the permissions it already has (it may be shared on purpose).
 * Buckets need nothing here.
 */
export async function prepareBackend(backend: Backend): Promise<void> {
  if (backend.kind !== 'file') return;
  await mkdir(backend.dir, { recursive: true, mode: 0o700 });
  // mkdir's mode does not apply to a directory that already existed.
  if (backend.owned) await chmod(backend.dir, 0o700);
}
