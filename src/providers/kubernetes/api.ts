/**
 * The few Kubernetes API calls Lookout makes itself (preflight, teardown checks), over HTTPS
 * with the context's own CA and credentials. Pulumi's provider does everything else; the
 * official client library would be a large dependency for a handful of GETs and POSTs.
 */
import { Agent, request } from 'node:https';
import { FailureError } from '../../errors.js';
import type { ClientCredentials, ClusterEndpoint } from './kubeconfig.js';

export interface ApiResponse<T> {
  status: number;
  body: T;
}

export class KubeApi {
  private readonly agent: Agent;
  private readonly server: URL;

  constructor(
    cluster: ClusterEndpoint,
    private readonly credentials: ClientCredentials,
  ) {
    this.server = new URL(cluster.server);
    this.agent = new Agent({
      keepAlive: true,
      ...(cluster.certificateAuthorityData ? { ca: Buffer.from(cluster.certificateAuthorityData, 'base64') } : {}),
      ...(credentials.clientCertificateData && credentials.clientKeyData ? { cert: credentials.clientCertificateData, key: credentials.clientKeyData } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One call; any HTTP status comes back (the caller judges it), a network failure throws. */
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const base = this.server.pathname.replace(/\/+$/, '');
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(base + path, this.server),
        {
          method,
          agent: this.agent,
          timeout: 30_000,
          ...(signal ? { signal } : {}),
          headers: {
            Accept: 'application/json',
            ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...(this.credentials.token ? { Authorization: `Bearer ${this.credentials.token}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : {};
            } catch {
              // not JSON (a proxy's error page): the caller sees the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) =>
        reject(
          signal?.aborted
            ? err
            : new FailureError(`the Kubernetes API at ${this.server.origin} cannot be reached: ${err.message}`, {
                hint: 'Check that the cluster is up and that kubernetes.context names it (`kubectl --context <context> get ns`).',
                cause: err,
              }),
        ),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A GET that must succeed (2xx), as JSON. */
  async get<T = Record<string, unknown>>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await this.call<T>('GET', path, undefined, signal);
    if (res.status >= 300) throw apiError(`GET ${path}`, res);
    return res.body;
  }
}

export function apiError(what: string, res: ApiResponse<unknown>): FailureError {
  const message = typeof res.body === 'object' && res.body && 'message' in res.body ? String((res.body as { message: unknown }).message) : String(res.body).slice(0, 200);
  const hint =
    res.status === 401
      ? 'The credentials of kubernetes.context were refused: log in again (`kubectl --context <context> get ns` should work).'
      : 'Check the cluster and the identity of kubernetes.context.';
  return new FailureError(`the Kubernetes API refused ${what} (HTTP ${res.status}): ${message}`, { hint });
}
