/**
 * Checks that `create` can succeed on GCP before anything is created: Application Default
 * Credentials that work, a project that exists with billing on, the APIs the instance uses
 * enabled (naming the missing ones and the command that enables them), the region (and zone)
 * with enough CPU and in-use address quota, an instance name not already taken in the
 * project (found by the `lookout-instance` label and the derived names), and whether the KMS
 * key ring and key of that name exist: GCP never deletes key rings (nor keys), so one left by
 * an earlier instance of the name is reused (imported by the infra stack), not created again.
 *
 * It speaks REST through google-auth-library, Google's official client for its credentials
 * and authorized requests: the resource-specific @google-cloud/* clients are gRPC-based and
 * many times heavier for the six reads made here, and plain HTTPS is what the tests record.
 */
import type { ResolvedConfig } from '../../config/load.js';
import { FailureError, InterruptedError, LookoutError, UsageError } from '../../errors.js';
import { LABEL_INSTANCE, gcpNames } from './naming.js';
import { gcpConfigOf } from './settings.js';

/** What the preflight needs of google-auth-library's GoogleAuth: an authorized request. */
export interface GoogleHttp {
  request<T>(opts: { url: string; method?: 'GET'; signal?: AbortSignal }): Promise<{ data: T }>;
}

/** The services a GCP instance uses: GKE, networks and quotas, Cloud DNS, GCS, KMS, service accounts. */
export const REQUIRED_SERVICES = [
  'container.googleapis.com',
  'compute.googleapis.com',
  'dns.googleapis.com',
  'storage.googleapis.com',
  'cloudkms.googleapis.com',
  'iam.googleapis.com',
] as const;

/** Addresses in use the instance adds: the NAT gateway's and the gateway load balancer's. */
export const ADDRESSES_NEEDED = 2;

export interface GcpPreflightOptions {
  signal?: AbortSignal;
  /** True when this machine's state already knows the instance (a resumed or repeated create). */
  knownInstance: boolean;
  /** This machine destroyed an instance of this name before (its data buckets were kept). */
  destroyedBefore?: boolean;
}

export interface GcpPreflightResult {
  project: string;
  projectNumber: string;
  region: string;
  cpus: { limit: number; usage: number; needed: number | undefined };
  addresses: { limit: number; usage: number; needed: number };
  /** True when the instance's cluster or buckets already exist in the project. */
  existing: boolean;
  /** Whether the secrets key ring and key of the instance's names exist already (the infra stack imports them). */
  secretsKey: { keyRing: boolean; key: boolean };
  /** The managed zone in the project that gets the NS delegation: `dns.parentZone`, checked, or the closest public parent found; undefined when none. */
  parentZoneName?: string;
  warnings: string[];
}

const API = {
  projects: 'https://cloudresourcemanager.googleapis.com/v3/projects',
  billing: 'https://cloudbilling.googleapis.com/v1/projects',
  services: 'https://serviceusage.googleapis.com/v1/projects',
  compute: 'https://compute.googleapis.com/compute/v1/projects',
  container: 'https://container.googleapis.com/v1/projects',
  storage: 'https://storage.googleapis.com/storage/v1/b',
  kms: 'https://cloudkms.googleapis.com/v1/projects',
  dns: 'https://dns.googleapis.com/dns/v1/projects',
};

interface GaxiosLikeError {
  status?: number;
  code?: number | string;
  message?: string;
  response?: { status?: number; data?: { error?: { message?: string; status?: string } } };
}

export function statusOf(err: unknown): number | undefined {
  const e = (err ?? {}) as GaxiosLikeError;
  const status = e.response?.status ?? e.status ?? Number(e.code);
  return Number.isFinite(status) ? status : undefined;
}

/** Maps an error of a Google API call into one a user can act on. */
export function explainGoogleError(err: unknown, api: string, signal?: AbortSignal): LookoutError {
  if (err instanceof LookoutError) return err;
  if (signal?.aborted) return new InterruptedError(`Interrupted during ${api}.`);
  const e = (err ?? {}) as GaxiosLikeError;
  const message = e.response?.data?.error?.message ?? e.message ?? String(err);
  const status = statusOf(err);
  if (status === 401 || /Could not load the default credentials|Unable to read the credential file|invalid_grant|unable to impersonate/i.test(message)) {
    return new FailureError(`no usable Google Cloud credentials for ${api}: ${message}`, {
      hint: 'Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file.',
      cause: err,
    });
  }
  if (status === 403) {
    return new FailureError(`${api} was refused: ${message}`, {
      hint: 'The identity running lookout needs the roles listed in the README ("Create an instance on GCP").',
      cause: err,
    });
  }
  return new FailureError(`${api} failed: ${message}`, { cause: err });
}

/** vCPUs of a predefined machine type (`e2-standard-4` → 4); undefined for shared-core or custom types. */
export function vcpusOf(machineType: string): number | undefined {
  const m = /^[a-z]\w*-(standard|highmem|highcpu)-(\d+)(-\w+)?$/.exec(machineType);
  return m ? Number(m[2]) : undefined;
}

export async function gcpPreflight(http: GoogleHttp, config: ResolvedConfig, o: GcpPreflightOptions): Promise<GcpPreflightResult> {
  const gcp = gcpConfigOf(config);
  const { project, region } = gcp;
  const warnings: string[] = [];
  const get = async <T>(api: string, url: string, missing?: () => LookoutError): Promise<T> => {
    try {
      return (await http.request<T>({ url, method: 'GET', ...(o.signal ? { signal: o.signal } : {}) })).data;
    } catch (err) {
      if (missing && (statusOf(err) === 404 || (statusOf(err) === 403 && api === 'the project lookup'))) throw missing();
      throw explainGoogleError(err, api, o.signal);
    }
  };

  // The project: its lookup is also the first authorized call, so credentials fail here.
  const found = await get<{ name: string; projectId: string; state: string }>('the project lookup', `${API.projects}/${project}`, () =>
    new UsageError(`gcp.project: project "${project}" does not exist, or these credentials cannot see it`, {
      hint: 'Use the project id (not its name or number) of a project the identity running lookout can read: `gcloud projects list`.',
    }),
  );
  if (found.state !== 'ACTIVE') throw new UsageError(`gcp.project: project "${project}" is ${found.state}, not ACTIVE`);
  const projectNumber = found.name.replace(/^projects\//, '');

  const billing = await get<{ billingEnabled?: boolean }>('the billing lookup', `${API.billing}/${project}/billingInfo`);
  if (billing.billingEnabled !== true) {
    throw new FailureError(`billing is not enabled on project "${project}": GKE, Cloud NAT and Cloud KMS need it`, {
      hint: `Link a billing account: \`gcloud billing projects link ${project} --billing-account=<ACCOUNT_ID>\`.`,
    });
  }

  const names = REQUIRED_SERVICES.map((s) => `names=${encodeURIComponent(`projects/${project}/services/${s}`)}`).join('&');
  const services = await get<{ services?: Array<{ config?: { name?: string }; name?: string; state?: string }> }>(
    'the enabled APIs lookup',
    `${API.services}/${project}/services:batchGet?${names}`,
  );
  const enabled = new Set((services.services ?? []).filter((s) => s.state === 'ENABLED').map((s) => s.config?.name ?? s.name?.split('/').pop()));
  const disabled = REQUIRED_SERVICES.filter((s) => !enabled.has(s));
  if (disabled.length > 0) {
    throw new FailureError(`these APIs are not enabled in project "${project}": ${disabled.join(', ')}`, {
      hint: `Enable them (it takes a minute or two): \`gcloud services enable ${disabled.join(' ')} --project ${project}\`.`,
    });
  }

  // Region and zone, and their quotas: every node's vCPUs at the autoscaler's maximum plus one surge node.
  const regionInfo = await get<{ quotas?: Array<{ metric: string; limit: number; usage: number }>; status?: string }>(
    'the region lookup',
    `${API.compute}/${project}/regions/${region}`,
    () => new UsageError(`gcp.region: "${region}" is not a region of project "${project}"`, { hint: 'List them: `gcloud compute regions list`.' }),
  );
  if (gcp.zone !== undefined) {
    await get('the zone lookup', `${API.compute}/${project}/zones/${gcp.zone}`, () =>
      new UsageError(`gcp.zone: "${gcp.zone}" is not a zone of project "${project}"`, { hint: `List them: \`gcloud compute zones list --filter=region:${region}\`.` }),
    );
  }
  const quota = (metric: string) => regionInfo.quotas?.find((q) => q.metric === metric) ?? { limit: Infinity, usage: 0 };
  const vcpus = vcpusOf(gcp.nodes.machineType);
  const cpus = { ...pick(quota('CPUS')), needed: vcpus === undefined ? undefined : vcpus * (gcp.nodes.max + 1) };
  if (cpus.needed === undefined) warnings.push(`the vCPUs of ${gcp.nodes.machineType} are not known to lookout; the CPU quota was not checked`);
  else if (cpus.usage + cpus.needed > cpus.limit && !o.knownInstance) {
    throw new FailureError(
      `not enough CPU quota in ${region}: ${cpus.needed} vCPUs needed (${gcp.nodes.max} × ${gcp.nodes.machineType} and one surge node), ${cpus.limit - cpus.usage} of ${cpus.limit} free`,
      { hint: `Request more in the console (IAM & Admin → Quotas, metric CPUS, region ${region}), or lower gcp.nodes.max.` },
    );
  }
  const addresses = { ...pick(quota('IN_USE_ADDRESSES')), needed: ADDRESSES_NEEDED };
  if (addresses.usage + addresses.needed > addresses.limit && !o.knownInstance) {
    throw new FailureError(`not enough in-use IP address quota in ${region}: ${addresses.needed} needed, ${addresses.limit - addresses.usage} of ${addresses.limit} free`, {
      hint: `Request more in the console (IAM & Admin → Quotas, metric IN_USE_ADDRESSES, region ${region}), or release unused addresses.`,
    });
  }

  // The name: a cluster or buckets of an instance of this name, found by label or derived name.
  const n = gcpNames(config.name);
  const clusters = await get<{ clusters?: Array<{ name: string; location: string; resourceLabels?: Record<string, string> }> }>(
    'the GKE cluster list',
    `${API.container}/${project}/locations/-/clusters`,
  );
  const cluster = (clusters.clusters ?? []).find((c) => c.name === n.clusterName || c.resourceLabels?.[LABEL_INSTANCE] === config.name);
  const buckets = await get<{ items?: Array<{ name: string; labels?: Record<string, string> }> }>(
    'the bucket list',
    `${API.storage}?project=${encodeURIComponent(project)}&prefix=${encodeURIComponent(`${n.clusterName}-`)}`,
  );
  const labelled = (buckets.items ?? []).filter((b) => b.labels?.[LABEL_INSTANCE] === config.name).map((b) => b.name);
  const existing = cluster !== undefined || labelled.length > 0;
  if (cluster && !o.knownInstance) {
    throw new UsageError(`an instance named "${config.name}" already exists in project "${project}": GKE cluster ${cluster.name} in ${cluster.location}`, {
      hint: 'Choose another instance name, or run lookout where that instance was created (or with its --state).',
    });
  }
  if (labelled.length > 0 && !o.knownInstance) {
    if (!o.destroyedBefore) {
      throw new UsageError(`buckets of an instance named "${config.name}" exist in project "${project}": ${labelled.join(', ')}`, {
        hint: 'They hold its data (a destroy keeps it). Choose another instance name, or delete them if the data is not needed.',
      });
    }
    warnings.push(`the kept buckets of the destroyed instance "${config.name}" are used again: ${labelled.join(', ')}`);
  }
  const secretsKey = await existingSecretsKey(get, project, region, config.name, warnings, o.knownInstance);
  const parentZoneName = await parentZoneOf(get, project, config.dns.domain, config.dns.parentZone, warnings);
  return { project, projectNumber, region, cpus, addresses, existing, secretsKey, ...(parentZoneName ? { parentZoneName } : {}), warnings };
}

/**
 * Where the NS delegation of `domain` goes: the managed zone `given` (dns.parentZone), which
 * must exist in the project and be for a parent of the domain; or else the public zone in the
 * project for the closest parent, when exactly one is. Undefined: `create` prints the records.
 */
async function parentZoneOf(
  get: <T>(api: string, url: string) => Promise<T>,
  project: string,
  domain: string,
  given: string | undefined,
  warnings: string[],
): Promise<string | undefined> {
  type Zone = { name: string; dnsName: string; visibility?: string };
  const zones: Zone[] = [];
  let pageToken: string | undefined;
  do {
    const page = await get<{ managedZones?: Zone[]; nextPageToken?: string }>(
      'the Cloud DNS zone list',
      `${API.dns}/${project}/managedZones${pageToken ? `?pageToken=${encodeURIComponent(pageToken)}` : ''}`,
    );
    zones.push(...(page.managedZones ?? []));
    pageToken = page.nextPageToken;
  } while (pageToken);
  const isParent = (z: Zone) => `${domain}.`.endsWith(`.${z.dnsName}`);
  if (given !== undefined) {
    const zone = zones.find((z) => z.name === given);
    if (!zone) {
      throw new UsageError(`dns.parentZone: managed zone "${given}" does not exist in project "${project}"`, {
        hint: `Give the name (not the DNS name) of a Cloud DNS zone in the project: \`gcloud dns managed-zones list --project ${project}\`.`,
      });
    }
    if (!isParent(zone)) throw new UsageError(`dns.parentZone: managed zone "${given}" is for ${zone.dnsName}, which is not a parent of ${domain}`);
    return given;
  }
  const parents = zones.filter((z) => (z.visibility ?? 'public') === 'public' && isParent(z));
  const closest = Math.max(0, ...parents.map((z) => z.dnsName.length));
  const candidates = parents.filter((z) => z.dnsName.length === closest);
  if (candidates.length > 1) {
    warnings.push(`several managed zones in project "${project}" are for ${candidates[0]!.dnsName} (${candidates.map((z) => z.name).join(', ')}); set dns.parentZone to choose where the delegation goes`);
    return undefined;
  }
  return candidates[0]?.name;
}

/**
 * The instance's KMS key ring and key, if they exist: a key ring (and key) can never be deleted,
 * so a destroyed instance of this name left them, and the infra stack imports them. A key
 * without an enabled primary version cannot encrypt, and GKE would fail on it much later.
 */
async function existingSecretsKey(
  get: <T>(api: string, url: string, missing?: () => LookoutError) => Promise<T>,
  project: string,
  region: string,
  instance: string,
  warnings: string[],
  knownInstance: boolean,
): Promise<{ keyRing: boolean; key: boolean }> {
  const n = gcpNames(instance);
  // A 404 becomes this very error, and then "absent"; every other failure is explained as usual.
  const ABSENT = new FailureError('not found');
  const lookup = async <T>(api: string, url: string): Promise<T | undefined> => {
    try {
      return await get<T>(api, url, () => ABSENT);
    } catch (err) {
      if (err === ABSENT) return undefined;
      throw err;
    }
  };
  const ringPath = `${API.kms}/${project}/locations/${region}/keyRings/${n.keyRingName}`;
  const ring = await lookup<{ name: string }>('the KMS key ring lookup', ringPath);
  if (!ring) return { keyRing: false, key: false };
  const key = await lookup<{ name: string; primary?: { state?: string } }>('the KMS key lookup', `${ringPath}/cryptoKeys/${n.secretsKeyName}`);
  if (key && key.primary?.state !== 'ENABLED') {
    throw new FailureError(
      `the KMS key ${n.secretsKeyName} in key ring ${n.keyRingName} (${region}) has no enabled primary version, so GKE cannot encrypt secrets with it`,
      {
        hint:
          `GCP never deletes keys, so the instance reuses this one: give it a new primary version with \`gcloud kms keys versions create ` +
          `--key ${n.secretsKeyName} --keyring ${n.keyRingName} --location ${region} --project ${project} --primary\`, or choose another instance name.`,
      },
    );
  }
  if (!knownInstance) {
    warnings.push(`the KMS key ring ${n.keyRingName}${key ? ` and key ${n.secretsKeyName}` : ''} in ${region} exist already (GCP never deletes them) and are reused`);
  }
  return { keyRing: true, key: key !== undefined };
}

function pick(q: { limit: number; usage: number }): { limit: number; usage: number } {
  return { limit: q.limit, usage: q.usage };
}
