/**
 * Checks that `create` can succeed in the user's cluster before anything is created: the API
 * answers with a supported version, every permission Lookout needs is granted (one
 * SelfSubjectAccessReview per verb, resource and namespace), the storage class exists, each
 * bucket can be written with the given keys, and Lookout's namespaces are free or already
 * belong to this instance.
 */
import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../../config/load.js';
import { FailureError, UsageError } from '../../errors.js';
import { PLATFORM_NAMESPACE, RESERVED_TENANTS, tenantNamespace } from '../../naming.js';
import { apiError, type KubeApi } from './api.js';
import { OWNER_LABEL, kubernetesConfigOf } from './settings.js';
import type { S3Access } from './storage.js';

/** The Kubernetes minor versions Lookout is tested with (the workloads' APIs are all GA well before). */
export const SUPPORTED_MINORS = { min: 29, max: 35 } as const;

const WRITE_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] as const;

interface Permission {
  group: string;
  resource: string;
  verbs: readonly string[];
}

/** Cluster-wide objects the stacks make (kube-state-metrics' role and binding, the namespaces) or read. */
export const CLUSTER_PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'namespaces', verbs: WRITE_VERBS },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: WRITE_VERBS },
  { group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verbs: WRITE_VERBS },
  { group: 'storage.k8s.io', resource: 'storageclasses', verbs: ['get'] },
];

/** What the stacks make in each of Lookout's namespaces, and what the provider's await logic reads. */
export const NAMESPACED_PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'configmaps', verbs: WRITE_VERBS },
  { group: '', resource: 'secrets', verbs: WRITE_VERBS },
  { group: '', resource: 'services', verbs: WRITE_VERBS },
  { group: '', resource: 'serviceaccounts', verbs: WRITE_VERBS },
  { group: '', resource: 'persistentvolumeclaims', verbs: WRITE_VERBS },
  { group: '', resource: 'pods', verbs: ['get', 'list', 'watch'] },
  { group: 'apps', resource: 'deployments', verbs: WRITE_VERBS },
  { group: 'apps', resource: 'statefulsets', verbs: WRITE_VERBS },
  { group: 'apps', resource: 'daemonsets', verbs: WRITE_VERBS },
  { group: 'networking.k8s.io', resource: 'networkpolicies', verbs: WRITE_VERBS },
  { group: 'policy', resource: 'poddisruptionbudgets', verbs: WRITE_VERBS },
];

/** Every namespace an instance's stacks make. */
export function instanceNamespaces(config: Pick<ResolvedConfig, 'tenants'>): string[] {
  return [PLATFORM_NAMESPACE, `${PLATFORM_NAMESPACE}-node`, ...[...RESERVED_TENANTS, ...config.tenants.map((t) => t.name)].map(tenantNamespace)];
}

export interface KubernetesPreflightResult {
  /** The API server's version, e.g. v1.34.4. */
  version: string;
  /** How many access reviews were asked. */
  permissionsChecked: number;
  /** Namespaces that already exist and carry this instance's label (a resumed or repeated create). */
  ownNamespaces: string[];
  warnings: string[];
}

export interface KubernetesPreflightDeps {
  api: KubeApi;
  s3: S3Access;
  signal?: AbortSignal;
}

export function parseMinor(gitVersion: string): number | undefined {
  const m = /^v?1\.(\d+)(\.|$|[-+])/.exec(gitVersion);
  return m ? Number(m[1]) : undefined;
}

async function checkVersion(api: KubeApi, signal?: AbortSignal): Promise<string> {
  const version = (await api.get<{ gitVersion?: string }>('/version', signal)).gitVersion ?? '';
  const minor = parseMinor(version);
  if (minor === undefined || minor < SUPPORTED_MINORS.min || minor > SUPPORTED_MINORS.max) {
    throw new FailureError(`the cluster runs Kubernetes ${version || 'of an unknown version'}; Lookout supports 1.${SUPPORTED_MINORS.min} to 1.${SUPPORTED_MINORS.max}`, {
      hint: 'Use a cluster of a supported version.',
    });
  }
  return version;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One review per verb, resource and namespace; returns how many were asked, throws naming every one denied. */
export async function checkPermissions(api: KubeApi, namespaces: readonly string[], signal?: AbortSignal): Promise<number> {
  const reviews = [
    ...CLUSTER_PERMISSIONS.flatMap((p) => p.verbs.map((verb) => ({ ...p, verb, namespace: '' }))),
    ...namespaces.flatMap((namespace) => NAMESPACED_PERMISSIONS.flatMap((p) => p.verbs.map((verb) => ({ ...p, verb, namespace })))),
  ];
  const denied: string[] = [];
  await eachLimited(reviews, 16, async (r) => {
    const res = await api.call<{ status?: { allowed?: boolean } }>(
      'POST',
      '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { group: r.group, resource: r.resource, verb: r.verb, ...(r.namespace ? { namespace: r.namespace } : {}) } },
      },
      signal,
    );
    if (res.status >= 300) throw apiError('a SelfSubjectAccessReview', res);
    if (!res.body.status?.allowed) denied.push(`${r.verb} ${r.group ? `${r.resource}.${r.group}` : r.resource}${r.namespace ? ` in ${r.namespace}` : ''}`);
  });
  if (denied.length > 0) {
    denied.sort();
    const shown = denied.slice(0, 12).join(', ') + (denied.length > 12 ? `, and ${denied.length - 12} more` : '');
    throw new FailureError(`the identity of kubernetes.context lacks ${denied.length} permission${denied.length === 1 ? '' : 's'} Lookout needs: ${shown}`, {
      hint: 'Bind it to cluster-admin, or grant these verbs (docs: README, "Install into a cluster you already have").',
    });
  }
  return reviews.length;
}

async function checkStorageClass(api: KubeApi, name: string, signal?: AbortSignal): Promise<void> {
  const res = await api.call('GET', `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(name)}`, undefined, signal);
  if (res.status === 404) {
    const list = await api.get<{ items: Array<{ metadata: { name: string } }> }>('/apis/storage.k8s.io/v1/storageclasses', signal);
    throw new UsageError(`kubernetes.storageClass: the cluster has no StorageClass "${name}" (it has: ${list.items.map((i) => i.metadata.name).join(', ') || 'none'})`);
  }
  if (res.status >= 300) throw apiError(`GET storageclass ${name}`, res);
}

/** Namespaces that exist; throws for any that belongs to someone else. */
async function checkNamespaces(api: KubeApi, instance: string, namespaces: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const own: string[] = [];
  const foreign: string[] = [];
  for (const ns of namespaces) {
    const res = await api.call<{ metadata?: { labels?: Record<string, string> } }>('GET', `/api/v1/namespaces/${ns}`, undefined, signal);
    if (res.status === 404) continue;
    if (res.status >= 300) throw apiError(`GET namespace ${ns}`, res);
    const owner = res.body.metadata?.labels?.[OWNER_LABEL];
    if (owner === instance) own.push(ns);
    else foreign.push(owner ? `${ns} (instance "${owner}")` : ns);
  }
  if (foreign.length > 0) {
    throw new FailureError(`namespace${foreign.length > 1 ? 's' : ''} ${foreign.join(', ')} already exist${foreign.length > 1 ? '' : 's'} and do${foreign.length > 1 ? '' : 'es'} not belong to instance "${instance}"`, {
      hint: `Lookout's namespaces must be free or carry the label ${OWNER_LABEL}=${instance}. One Lookout instance per cluster; remove the old namespaces or use another cluster.`,
    });
  }
  return own;
}

export async function kubernetesPreflight(config: ResolvedConfig, deps: KubernetesPreflightDeps): Promise<KubernetesPreflightResult> {
  const k = kubernetesConfigOf(config);
  const { api, signal } = deps;
  const version = await checkVersion(api, signal);
  const namespaces = instanceNamespaces(config);
  const permissionsChecked = await checkPermissions(api, namespaces, signal);
  await checkStorageClass(api, k.storageClass, signal);
  for (const [purpose, bucket] of Object.entries(k.objectStorage.buckets)) {
    await deps.s3.checkWritable(bucket, `lookout-preflight/${config.name}-${randomBytes(6).toString('hex')}`, signal).catch((err: unknown) => {
      throw new FailureError(`the ${purpose} bucket ${bucket} at ${k.objectStorage.endpoint} cannot be written with the keys in ${k.objectStorage.accessKeyIdEnv}/${k.objectStorage.secretAccessKeyEnv}: ${(err as Error).message}`, {
        hint: 'Create the bucket, or give keys that may put and delete objects in it.',
        cause: err,
      });
    });
  }
  const ownNamespaces = await checkNamespaces(api, config.name, namespaces, signal);
  return { version, permissionsChecked, ownNamespaces, warnings: [] };
}
