/**
 * What destroy asks GCP, through the same REST client as the preflight: whether the gateway's
 * load balancer is really gone (GKE deletes its forwarding rule and network endpoint groups
 * after the Service, asynchronously, and the NEGs would block deleting the network), and,
 * at the end, what still carries the instance's label or names (the leftover report).
 */
import { FailureError } from '../../errors.js';
import { TimeoutError, waitFor } from '../../wait-for.js';
import { GCP_SERVICE_ACCOUNTS, LABEL_INSTANCE, gcpNames, type GcpServiceAccountPurpose } from './naming.js';
import { explainGoogleError, type GoogleHttp } from './preflight.js';

const COMPUTE = 'https://compute.googleapis.com/compute/v1/projects';

export interface GatewayLoadBalancer {
  project: string;
  region: string;
  /** The load balancer's external IP, as the platform stack recorded it: its forwarding rule has it. */
  address: string;
  /** The instance's VPC name: the NEGs GKE made for the Service are in it. */
  networkName: string;
  /** `<namespace>/<name>` of the gateway's Service, in the description GKE gives its NEGs. */
  service: string;
}

export interface LoadBalancerParts {
  forwardingRules: string[];
  networkEndpointGroups: string[];
}

async function get<T>(http: GoogleHttp, api: string, url: string, signal?: AbortSignal): Promise<T> {
  try {
    return (await http.request<T>({ url, method: 'GET', ...(signal ? { signal } : {}) })).data;
  } catch (err) {
    throw explainGoogleError(err, api, signal);
  }
}

/** The forwarding rule and NEGs of the gateway's load balancer that still exist. */
export async function loadBalancerParts(http: GoogleHttp, lb: GatewayLoadBalancer, signal?: AbortSignal): Promise<LoadBalancerParts> {
  const rules = await get<{ items?: Array<{ name: string; IPAddress?: string }> }>(
    http,
    'the forwarding rule list',
    `${COMPUTE}/${lb.project}/regions/${lb.region}/forwardingRules`,
    signal,
  );
  const negs = await get<{ items?: Record<string, { networkEndpointGroups?: Array<{ name: string; network?: string; description?: string }> }> }>(
    http,
    'the network endpoint group list',
    `${COMPUTE}/${lb.project}/aggregated/networkEndpointGroups`,
    signal,
  );
  const ours = (n: { network?: string; description?: string }) =>
    (n.network ?? '').endsWith(`/global/networks/${lb.networkName}`) && (n.description ?? '').includes(`"kubernetes.io/service-name":"${lb.service}"`);
  return {
    forwardingRules: (rules.items ?? []).filter((r) => r.IPAddress === lb.address).map((r) => r.name),
    networkEndpointGroups: Object.values(negs.items ?? {}).flatMap((scope) => (scope.networkEndpointGroups ?? []).filter(ours).map((n) => n.name)),
  };
}

/** Waits until GCP has deleted the gateway's forwarding rule and NEGs; says what is left at the deadline. */
export async function waitUntilLoadBalancerGone(
  http: GoogleHttp,
  lb: GatewayLoadBalancer,
  o: { timeoutMs: number; intervalMs: number; signal?: AbortSignal },
): Promise<void> {
  let left: LoadBalancerParts = { forwardingRules: [], networkEndpointGroups: [] };
  try {
    await waitFor(
      async () => {
        left = await loadBalancerParts(http, lb, o.signal);
        return left.forwardingRules.length === 0 && left.networkEndpointGroups.length === 0;
      },
      { interval: o.intervalMs, timeout: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) },
    );
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    const parts = [...left.forwardingRules.map((n) => `forwarding rule ${n}`), ...left.networkEndpointGroups.map((n) => `network endpoint group ${n}`)];
    throw new FailureError(`the gateway's load balancer was not deleted in time: ${parts.join(', ')} still ${parts.length === 1 ? 'exists' : 'exist'}`, {
      hint: 'GKE deletes them after the Service; run `lookout destroy` again to keep waiting, or delete them in the console if the cluster is gone.',
    });
  }
}

export interface Leftover {
  kind: string;
  name: string;
}

/**
 * Everything in the project that still carries `lookout-instance=<name>` or one of the
 * instance's derived names, after destroy: GKE clusters, VM instances and disks, buckets,
 * Cloud DNS zones and service accounts (which take no labels). KMS key rings are never listed:
 * GCP cannot delete them, so they stay by design.
 */
export async function leftoverScan(http: GoogleHttp, o: { project: string; instance: string; signal?: AbortSignal }): Promise<Leftover[]> {
  const { project, instance, signal } = o;
  const n = gcpNames(instance);
  const labelled = (labels: Record<string, string> | undefined) => labels?.[LABEL_INSTANCE] === instance;
  const filter = encodeURIComponent(`labels.${LABEL_INSTANCE}="${instance}"`);
  const found: Leftover[] = [];

  const clusters = await get<{ clusters?: Array<{ name: string; resourceLabels?: Record<string, string> }> }>(
    http,
    'the GKE cluster list',
    `https://container.googleapis.com/v1/projects/${project}/locations/-/clusters`,
    signal,
  );
  for (const c of clusters.clusters ?? []) if (c.name === n.clusterName || labelled(c.resourceLabels)) found.push({ kind: 'GKE cluster', name: c.name });

  for (const [kind, collection] of [
    ['VM instance', 'instances'],
    ['disk', 'disks'],
  ] as const) {
    const list = await get<{ items?: Record<string, Record<string, Array<{ name: string }> | undefined>> }>(
      http,
      `the ${kind} list`,
      `${COMPUTE}/${project}/aggregated/${collection}?filter=${filter}`,
      signal,
    );
    for (const scope of Object.values(list.items ?? {})) for (const item of scope[collection] ?? []) found.push({ kind, name: item.name });
  }

  const buckets = await get<{ items?: Array<{ name: string; labels?: Record<string, string> }> }>(
    http,
    'the bucket list',
    `https://storage.googleapis.com/storage/v1/b?project=${encodeURIComponent(project)}&prefix=${encodeURIComponent(`${n.clusterName}-`)}`,
    signal,
  );
  for (const b of buckets.items ?? []) if (labelled(b.labels)) found.push({ kind: 'bucket', name: b.name });

  const zones = await get<{ managedZones?: Array<{ name: string; labels?: Record<string, string> }> }>(
    http,
    'the Cloud DNS zone list',
    `https://dns.googleapis.com/dns/v1/projects/${project}/managedZones`,
    signal,
  );
  for (const z of zones.managedZones ?? []) if (z.name === n.dnsZoneName || labelled(z.labels)) found.push({ kind: 'Cloud DNS zone', name: z.name });

  const accounts = await get<{ accounts?: Array<{ email: string }> }>(
    http,
    'the service account list',
    `https://iam.googleapis.com/v1/projects/${project}/serviceAccounts?pageSize=100`,
    signal,
  );
  // Exactly the derived ids: `lk-prod-` is also the start of instance `prod-2`'s.
  const ids = new Set((Object.keys(GCP_SERVICE_ACCOUNTS) as GcpServiceAccountPurpose[]).map((p) => n.serviceAccountId(p)));
  for (const a of accounts.accounts ?? []) if (ids.has(a.email.split('@')[0]!)) found.push({ kind: 'service account', name: a.email });
  return found;
}
