/**
 * How acme-client's HTTP requests behave. acme-client sends every request through one axios
 * instance it exports for configuration (`acme.axios`); the interceptors here set, per ACME
 * server (keyed by origin):
 *
 * - a CA bundle for the server's own HTTPS (a private CA, or pebble in tests), through an
 *   https.Agent, never by turning certificate checks off, and a timeout per request;
 * - the report of every ACME problem document (RFC 8555 §6.7) to the issuance, because the
 *   errors acme-client throws keep only the `detail` text, and the `type` matters.
 *
 * acme-client's own response interceptor is replaced by one that retries only server errors
 * (5xx, with p-retry). Its retries are wrong for a CLI: a rate limit (429) sleeps out the
 * Retry-After, which at Let's Encrypt can be hours, and a request without a response (refused
 * connection, untrusted certificate, timeout) is retried for over a minute and then surfaces
 * as a TypeError that hides the cause. Here a rate limit fails at once with its Retry-After,
 * and a network error keeps its code.
 */
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { axios as acmeAxios } from 'acme-client';
import pRetry from 'p-retry';

/** An RFC 8555 problem document as the server sent it. */
export interface AcmeProblem {
  type: string;
  detail?: string;
  status?: number;
  subproblems?: Array<{ type?: string; detail?: string; identifier?: { type: string; value: string } }>;
}

export interface ObservedProblem {
  problem: AcmeProblem;
  /** HTTP status of the response. */
  status: number;
  /** The Retry-After header, as sent. */
  retryAfter?: string;
  url: string;
}

/** Thrown out of acme-client when the server says to stop for now; carries the problem and when to retry. */
export class AcmeRateLimitedError extends Error {
  constructor(readonly observed: ObservedProblem) {
    super(observed.problem.detail ?? 'rate limited');
    this.name = 'AcmeRateLimitedError';
  }
}

export const RATE_LIMITED = 'urn:ietf:params:acme:error:rateLimited';
export const DEFAULT_ACME_REQUEST_TIMEOUT_MS = 30_000;

/** Retries of a request the server answered with 5xx: 1 s, 2 s, 4 s. */
const SERVER_ERROR_RETRIES = { retries: 3, minTimeout: 1_000, factor: 2 } as const;
/** Marks a request already inside a retry loop, so a 5xx there goes back to that loop. */
const RETRYING = 'lookoutRetrying';

interface OriginSettings {
  agent?: Agent;
  timeoutMs: number;
  listeners: Set<(p: ObservedProblem) => void>;
}

const origins = new Map<string, OriginSettings>();
let installed = false;

function originOf(url: string | undefined): string {
  try {
    return url ? new URL(url).origin : '';
  } catch {
    return '';
  }
}

function isProblem(data: unknown): data is AcmeProblem {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { type?: unknown }).type === 'string' &&
    (data as { type: string }).type.startsWith('urn:ietf:params:acme:error:')
  );
}

function headerValue(headers: unknown, name: string): string | undefined {
  const h = headers as { get?: (n: string) => unknown; [k: string]: unknown } | undefined;
  const value = typeof h?.get === 'function' ? h.get(name) : h?.[name];
  return value === undefined || value === null ? undefined : String(value);
}

interface ResponseLike {
  status: number;
  data: unknown;
  headers: unknown;
}

interface ConfigLike {
  url?: string;
  retryValidateStatus?: ((status: number) => boolean) | null;
  [RETRYING]?: boolean;
}

async function onResponseError(error: { config?: ConfigLike; response?: ResponseLike }): Promise<unknown> {
  const { config, response } = error ?? {};
  // No response (refused, TLS, timeout) or not axios at all: the caller explains it by its code.
  if (!config || !response) throw error;
  const settings = origins.get(originOf(config.url));
  if (isProblem(response.data)) {
    const retryAfter = headerValue(response.headers, 'retry-after');
    const observed: ObservedProblem = {
      problem: response.data,
      status: response.status,
      ...(retryAfter === undefined ? {} : { retryAfter }),
      url: config.url ?? '',
    };
    for (const listener of settings?.listeners ?? []) listener(observed);
    if (response.status === 429 || response.data.type === RATE_LIMITED) throw new AcmeRateLimitedError(observed);
  }
  if (response.status >= 500) {
    if (config[RETRYING]) throw error;
    try {
      const again = { ...config, [RETRYING]: true } as Parameters<typeof acmeAxios.request>[0];
      return await pRetry(() => acmeAxios.request(again), {
        ...SERVER_ERROR_RETRIES,
        shouldRetry: ({ error: e }) => ((e as { response?: ResponseLike }).response?.status ?? 0) >= 500,
      });
    } catch (last) {
      // Out of retries: acme-client gets the last answer and reports the problem in it.
      const lastResponse = (last as { response?: ResponseLike }).response;
      if (lastResponse) return lastResponse;
      throw last;
    }
  }
  // acme-client routes every response here (its request interceptor makes axios reject them
  // all) and checks status codes itself; `retryValidateStatus` is what it asked axios for.
  const validate = config.retryValidateStatus;
  if (!validate || validate(response.status)) return response;
  throw error;
}

function install(): void {
  if (installed) return;
  installed = true;
  acmeAxios.interceptors.request.use((config) => {
    const settings = origins.get(originOf(config.url));
    if (!settings) return config;
    if (settings.agent) config.httpsAgent = settings.agent;
    if (!config.timeout) config.timeout = settings.timeoutMs;
    return config;
  });
  acmeAxios.interceptors.response.clear();
  acmeAxios.interceptors.response.use(undefined, onResponseError);
}

export interface AcmeTransportOptions {
  /** PEM of the CA(s) that sign the ACME server's own HTTPS certificate, trusted besides the usual roots. */
  caBundlePem?: string;
  /** Told about every problem document the server sends. */
  onProblem?: (observed: ObservedProblem) => void;
  /** Per HTTP request. */
  requestTimeoutMs?: number;
}

/** Applies the settings to requests to the directory's origin until the returned function is called. */
export function attachAcmeTransport(directoryUrl: string, options: AcmeTransportOptions = {}): () => void {
  install();
  const origin = new URL(directoryUrl).origin;
  let settings = origins.get(origin);
  if (!settings) {
    settings = { listeners: new Set(), timeoutMs: DEFAULT_ACME_REQUEST_TIMEOUT_MS };
    origins.set(origin, settings);
  }
  if (options.requestTimeoutMs) settings.timeoutMs = options.requestTimeoutMs;
  if (options.caBundlePem) {
    settings.agent?.destroy();
    settings.agent = new Agent({ ca: [...rootCertificates, options.caBundlePem], keepAlive: true });
  }
  const listener = options.onProblem ?? (() => {});
  settings.listeners.add(listener);
  const current = settings;
  return () => {
    current.listeners.delete(listener);
    if (current.listeners.size === 0) {
      current.agent?.destroy();
      origins.delete(origin);
    }
  };
}
