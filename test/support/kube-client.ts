/**
 * A small Kubernetes REST client for tests: reads a kubeconfig with client certificates (what
 * kwokctl writes) and talks HTTPS to the API server on loopback. The suites assert on what
 * the API server holds, so they need get/list/create/patch/delete and a watch, nothing more;
 * the official client library would add a large dependency for that.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest, Agent } from 'node:https';
import { dirname, isAbsolute, join } from 'node:path';
import YAML from 'yaml';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    ownerReferences?: Array<{ kind: string; name: string }>;
  };
  [key: string]: unknown;
}

export interface KubeList<T = KubeObject> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 400)}`);
  }
}

interface KubeconfigFile {
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string } }>;
  users: Array<{ name: string; user: { 'client-certificate'?: string; 'client-key'?: string; 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  'current-context': string;
}

function fileOrData(base: string, path: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (path) return readFileSync(isAbsolute(path) ? path : join(base, path));
  return undefined;
}

export class KubeClient {
  readonly server: URL;
  private readonly agent: Agent;

  constructor(kubeconfigPath: string) {
    const config = YAML.parse(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigFile;
    const context = config.contexts.find((c) => c.name === config['current-context'])!.context;
    const cluster = config.clusters.find((c) => c.name === context.cluster)!.cluster;
    const user = config.users.find((u) => u.name === context.user)!.user;
    const base = dirname(kubeconfigPath);
    this.server = new URL(cluster.server);
    if (this.server.hostname !== '127.0.0.1' && this.server.hostname !== 'localhost') {
      throw new Error(`the test cluster must be on loopback, got ${cluster.server}`);
    }
    this.agent = new Agent({
      keepAlive: true,
      ca: fileOrData(base, cluster['certificate-authority'], cluster['certificate-authority-data']),
      cert: fileOrData(base, user['client-certificate'], user['client-certificate-data']),
      key: fileOrData(base, user['client-key'], user['client-key-data']),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = httpsRequest(
        new URL(path, this.server),
        {
          method,
          agent: this.agent,
          headers: { Accept: 'application/json', ...(payload === undefined ? {} : { 'Content-Type': contentType }) },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 0) >= 300) reject(new KubeApiError(res.statusCode ?? 0, text, `${method} ${path}`));
            else resolve((text ? JSON.parse(text) : undefined) as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** The object, or undefined on 404. */
  async find<T = KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  list<T = KubeObject>(path: string, labelSelector?: string): Promise<KubeList<T>> {
    return this.get<KubeList<T>>(labelSelector ? `${path}?labelSelector=${encodeURIComponent(labelSelector)}` : path);
  }

  create<T = KubeObject>(path: string, object: unknown): Promise<T> {
    return this.request<T>('POST', path, object);
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path);
  }

  /** Every resource type the server serves, as list paths (`/api/v1/configmaps`, …), with whether it is namespaced. */
  async resourceTypes(): Promise<Array<{ path: string; kind: string; namespaced: boolean; groupVersion: string }>> {
    const out: Array<{ path: string; kind: string; namespaced: boolean; groupVersion: string }> = [];
    const collect = async (groupVersion: string, prefix: string) => {
      const list = await this.get<{ resources: Array<{ name: string; kind: string; namespaced: boolean; verbs: string[] }> }>(prefix);
      for (const r of list.resources) {
        if (r.name.includes('/') || !r.verbs.includes('list')) continue;
        out.push({ path: `${prefix}/${r.name}`, kind: r.kind, namespaced: r.namespaced, groupVersion });
      }
    };
    await collect('v1', '/api/v1');
    const groups = await this.get<{ groups: Array<{ preferredVersion: { groupVersion: string } }> }>('/apis');
    for (const g of groups.groups) await collect(g.preferredVersion.groupVersion, `/apis/${g.preferredVersion.groupVersion}`);
    return out;
  }

  /**
   * Calls `onEvent` for every change of the objects at `path` until `signal` aborts. The
   * stream is reopened from the last resourceVersion when the server closes it.
   */
  watch(path: string, onEvent: (type: string, object: KubeObject) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const run = async (): Promise<void> => {
      let resourceVersion = (await this.list(path)).metadata.resourceVersion;
      while (!signal.aborted) {
        resourceVersion = await new Promise<string | undefined>((resolve) => {
          const url = new URL(`${path}?watch=1&allowWatchBookmarks=true${resourceVersion ? `&resourceVersion=${resourceVersion}` : ''}`, this.server);
          const req = httpsRequest(url, { method: 'GET', agent: this.agent, signal }, (res) => {
            let buffer = '';
            let last = resourceVersion;
            let queue = Promise.resolve();
            res.on('data', (chunk: Buffer) => {
              buffer += chunk.toString('utf8');
              let newline: number;
              while ((newline = buffer.indexOf('\n')) >= 0) {
                const line = buffer.slice(0, newline);
                buffer = buffer.slice(newline + 1);
                if (!line.trim()) continue;
                const event = JSON.parse(line) as { type: string; object: KubeObject };
                if (event.type === 'ERROR') {
                  last = undefined; // expired: relist
                  continue;
                }
                last = event.object.metadata.resourceVersion ?? last;
                if (event.type !== 'BOOKMARK') queue = queue.then(() => onEvent(event.type, event.object)).catch(() => {});
              }
            });
            res.on('end', () => void queue.then(() => resolve(last)));
            res.on('error', () => resolve(last));
          });
          req.on('error', () => resolve(resourceVersion));
          req.end();
        });
        if (resourceVersion === undefined && !signal.aborted) resourceVersion = (await this.list(path)).metadata.resourceVersion;
      }
    };
    return run().catch((err) => {
      if (!signal.aborted) throw err;
    });
  }
}
