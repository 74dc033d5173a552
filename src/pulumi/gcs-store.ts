/**
 * A Pulumi DIY backend's objects in a GCS bucket (`--state gs://bucket/prefix`), through the
 * storage JSON API, for what Lookout reads and writes next to Pulumi's own state: stack locks,
 * the instance lock, journal, record and sealed secrets.
 *
 * Requests go through google-auth-library (Google's official client for credentials and
 * authorized requests, already a dependency for the GCP preflight): @google-cloud/storage
 * would add a second HTTP stack and many modules for the five calls made here.
 *
 * Conditional writes use GCS generation preconditions: `ifGenerationMatch=0` creates only when
 * there is no live object, `ifGenerationMatch=<generation>` replaces or deletes only that
 * version; GCS answers 412 otherwise. A media download carries its generation in the
 * `x-goog-generation` header, so the content and its version come from one request. Every
 * write makes a new generation, even of the same bytes.
 *
 * `STORAGE_EMULATOR_HOST` (`host:port` or a URL), the variable Google's own clients and the
 * Pulumi engine's gocloud driver read, points both at an emulator, unauthenticated, as they do.
 */
import { shellQuote, type ConditionalObjects, type DiyStore, type VersionedObject } from './diy-store.js';

export interface GcsRequest {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  params?: Record<string, string>;
  data?: string;
  headers?: Record<string, string>;
  responseType?: 'text' | 'json';
  signal?: AbortSignal;
}

/** What the store needs of google-auth-library's GoogleAuth (or a gaxios instance, for an emulator). */
export interface GcsHttp {
  request<T>(opts: GcsRequest): Promise<{ data: T; status: number; headers: Headers | Record<string, string | undefined> }>;
}

/** The HTTP status of a gaxios error (or undefined). */
function statusOf(err: unknown): number | undefined {
  const e = (err ?? {}) as { status?: number; response?: { status?: number } };
  return e.response?.status ?? e.status;
}

function header(headers: Headers | Record<string, string | undefined>, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const h = headers as Record<string, string | undefined>;
  return h[name] ?? h[name.toLowerCase()];
}

/**
 * A failed text download carries Google's JSON error as text: parsed, so the error's message
 * (what explainGoogleError shows) is Google's sentence, not the JSON around it.
 */
function withParsedError(err: unknown): unknown {
  const response = (err as { response?: { data?: unknown } } | undefined)?.response;
  if (response && typeof response.data === 'string' && response.data.startsWith('{')) {
    try {
      response.data = JSON.parse(response.data);
    } catch {
      // not JSON after all: left as it is
    }
  }
  return err;
}

const GOOGLE_STORAGE = 'https://storage.googleapis.com';

/** The API root: Google's, or the emulator's that STORAGE_EMULATOR_HOST names. */
export function gcsEndpoint(env: NodeJS.ProcessEnv = process.env): { root: string; emulator: boolean } {
  const host = env.STORAGE_EMULATOR_HOST?.trim();
  if (!host) return { root: GOOGLE_STORAGE, emulator: false };
  return { root: (host.includes('://') ? host : `http://${host}`).replace(/\/+$/, ''), emulator: true };
}

/** An HTTP client for the store: Application Default Credentials, or none for an emulator. */
export async function defaultGcsHttp(env: NodeJS.ProcessEnv = process.env): Promise<GcsHttp> {
  const { GoogleAuth, gaxios } = await import('google-auth-library');
  if (gcsEndpoint(env).emulator) return new gaxios.Gaxios() as unknown as GcsHttp;
  return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/devstorage.read_write'] }) as unknown as GcsHttp;
}

/**
 * The objects under `gs://bucket/prefix`. `http` is called once, on the first request, so a
 * store that is only used for locations and commands loads no Google client.
 */
export function gcsStore(bucket: string, prefix: string, http: () => Promise<GcsHttp> = () => defaultGcsHttp(), root: string = gcsEndpoint().root): DiyStore {
  const objectName = (key: string) => (prefix === '' ? key : `${prefix}/${key}`);
  const url = (key: string) => `gs://${bucket}/${objectName(key)}`;
  const objectUrl = (key: string) => `${root}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(objectName(key))}`;
  const uploadUrl = `${root}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`;
  let client: Promise<GcsHttp> | undefined;
  const send = <T>(opts: GcsRequest) => (client ??= http()).then((c) => c.request<T>(opts)).catch((err: unknown) => Promise.reject(withParsedError(err)));

  const get = async (key: string): Promise<VersionedObject | undefined> => {
    try {
      const res = await send<string>({ url: objectUrl(key), method: 'GET', params: { alt: 'media' }, responseType: 'text' });
      const generation = header(res.headers, 'x-goog-generation');
      if (!generation) throw new Error(`GCS did not return the generation of ${url(key)}, so it cannot hold a lock`);
      return { text: res.data, version: generation };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  };

  /** Uploads `data`; `generation` is the precondition (0: no live object), undefined for none. */
  const upload = async (key: string, data: string, generation?: string): Promise<string> => {
    const res = await send<{ generation?: string }>({
      url: uploadUrl,
      method: 'POST',
      params: { uploadType: 'media', name: objectName(key), ...(generation === undefined ? {} : { ifGenerationMatch: generation }) },
      data,
      headers: { 'Content-Type': 'application/octet-stream' },
      responseType: 'json',
    });
    if (!res.data?.generation) throw new Error(`GCS did not return the generation of ${url(key)}`);
    return String(res.data.generation);
  };

  const conditionalUpload = async (key: string, data: string, generation: string): Promise<string | undefined> => {
    try {
      return await upload(key, data, generation);
    } catch (err) {
      if (statusOf(err) !== 412) throw err;
      // A retried request whose first attempt went through fails its own precondition:
      // our bytes being there means the write happened.
      const now = await get(key);
      return now?.text === data ? now.version : undefined;
    }
  };

  const conditional: ConditionalObjects = {
    get,
    create: (key, data) => conditionalUpload(key, data, '0'),
    replace: (key, data, version) => conditionalUpload(key, data, version),
    async remove(key, version) {
      try {
        await send({ url: objectUrl(key), method: 'DELETE', params: { ifGenerationMatch: version } });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return true;
        if (statusOf(err) === 412) return false;
        throw err;
      }
    },
  };

  return {
    kind: 'gs',
    canAccess: true,
    async list(dirKey) {
      const listPrefix = `${objectName(dirKey)}/`;
      const keys: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = await send<{ items?: Array<{ name: string }>; nextPageToken?: string }>({
          url: `${root}/storage/v1/b/${encodeURIComponent(bucket)}/o`,
          method: 'GET',
          params: { prefix: listPrefix, fields: 'items(name),nextPageToken', ...(pageToken ? { pageToken } : {}) },
          responseType: 'json',
        });
        for (const o of page.data.items ?? []) keys.push(`${dirKey}/${o.name.slice(listPrefix.length)}`);
        pageToken = page.data.nextPageToken;
      } while (pageToken);
      return keys.sort();
    },
    async read(key) {
      const found = await get(key);
      if (!found) throw Object.assign(new Error(`${url(key)} does not exist`), { code: 'ENOENT' });
      return found.text;
    },
    async write(key, data) {
      // GCS encrypts every object at rest (Google-managed keys unless the bucket sets its own).
      await upload(key, data);
    },
    async remove(key) {
      try {
        await send({ url: objectUrl(key), method: 'DELETE' });
      } catch (err) {
        // As on S3 and files with `force`: removing what is gone is done.
        if (statusOf(err) !== 404) throw err;
      }
    },
    async exists(key) {
      try {
        await send({ url: objectUrl(key), method: 'GET', params: { fields: 'generation' }, responseType: 'json' });
        return true;
      } catch (err) {
        if (statusOf(err) === 404) return false;
        throw err;
      }
    },
    location: url,
    removeCommand: (key) => `gcloud storage rm ${shellQuote(url(key))}`,
    conditional,
  };
}
