/**
 * DNS-01 records in a Cloud DNS managed zone, with the official client: one change that
 * deletes the current TXT record set (if any) and adds the new one, then the change's status
 * until Cloud DNS reports it `done`.
 */
import type { DNS, Zone } from '@google-cloud/dns';
import type { LookupOptions } from '../../dns/authoritative.js';
import { absoluteName } from '../../dns/names.js';
import type { DnsServer } from '../../dns/query.js';
import { FailureError, InterruptedError, LookoutError } from '../../errors.js';
import { CHALLENGE_TTL, DEFAULT_PROVIDER_TIMING, nameServerAddresses, quoteTxt, waitUntilApplied, type Dns01Solver, type ProviderTiming } from './solver.js';

export interface CloudDnsSolverOptions {
  dns: DNS;
  /** The managed zone's name (not its DNS name). */
  managedZone: string;
  ttl?: number;
  timing?: Partial<ProviderTiming>;
  lookup?: LookupOptions;
}

type ZoneRecord = ReturnType<Zone['record']>;

interface GoogleApiError {
  code?: number | string;
  message?: string;
}

/** Maps a Cloud DNS client error into one a user can act on. */
export function explainCloudDnsError(err: unknown, api: string, signal?: AbortSignal): LookoutError {
  if (err instanceof LookoutError) return err;
  if (signal?.aborted) return new InterruptedError(`Interrupted during ${api}.`);
  const e = (err ?? {}) as GoogleApiError;
  const code = Number(e.code);
  if (code === 401 || /Could not load the default credentials/i.test(e.message ?? '')) {
    return new FailureError(`no usable Google Cloud credentials for ${api}: ${e.message ?? String(err)}`, {
      hint: 'Run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file.',
      cause: err,
    });
  }
  if (code === 403) {
    return new FailureError(`Google Cloud denied ${api}: ${e.message ?? String(err)}`, {
      hint: 'The credentials need the DNS Administrator role (roles/dns.admin) on the project.',
      cause: err,
    });
  }
  return new FailureError(`${api} failed: ${e.message ?? String(err)}`, { cause: err });
}

export class CloudDnsSolver implements Dns01Solver {
  private readonly zone: Zone;
  private readonly timing: ProviderTiming;

  constructor(private readonly options: CloudDnsSolverOptions) {
    this.zone = options.dns.zone(options.managedZone);
    this.timing = { ...DEFAULT_PROVIDER_TIMING, ...options.timing };
  }

  describe(): string {
    return `Cloud DNS managed zone ${this.options.managedZone}`;
  }

  async setTxt(fqdn: string, values: readonly string[], signal?: AbortSignal): Promise<void> {
    const existing = await this.currentTxt(fqdn, signal);
    const wanted = this.zone.record('txt', {
      name: absoluteName(fqdn),
      ttl: this.options.ttl ?? CHALLENGE_TTL,
      data: values.map(quoteTxt),
    });
    const changeId = await this.change({ add: wanted, ...(existing.length > 0 ? { delete: existing } : {}) }, signal);
    await this.waitDone(changeId, signal);
  }

  async removeTxt(fqdn: string, signal?: AbortSignal): Promise<void> {
    const existing = await this.currentTxt(fqdn, signal);
    if (existing.length === 0) return;
    // Nothing waits for the deletion to be done: no later step depends on it.
    await this.change({ delete: existing }, signal);
  }

  async authoritativeServers(signal?: AbortSignal): Promise<DnsServer[]> {
    let nameServers: string[];
    try {
      const [metadata] = await this.zone.getMetadata();
      nameServers = ((metadata as { nameServers?: string[] }).nameServers ?? []).map(String);
    } catch (err) {
      throw explainCloudDnsError(err, 'dns.managedZones.get', signal);
    }
    return nameServerAddresses(this.describe(), nameServers, this.options.lookup);
  }

  private async currentTxt(fqdn: string, signal?: AbortSignal): Promise<ZoneRecord[]> {
    signal?.throwIfAborted();
    try {
      const [records] = await this.zone.getRecords({ name: absoluteName(fqdn), type: 'TXT' });
      return records;
    } catch (err) {
      throw explainCloudDnsError(err, 'dns.resourceRecordSets.list', signal);
    }
  }

  private async change(config: { add?: ZoneRecord; delete?: ZoneRecord[] }, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    try {
      const [change] = await this.zone.createChange(config);
      if (!change.id) throw new FailureError(`Cloud DNS accepted a change in ${this.describe()} but returned no change id`);
      return change.id;
    } catch (err) {
      throw explainCloudDnsError(err, 'dns.changes.create', signal);
    }
  }

  private async waitDone(changeId: string, signal?: AbortSignal): Promise<void> {
    const status = async () => {
      try {
        return ((await this.zone.change(changeId).getMetadata())[0] as { status?: string }).status;
      } catch (err) {
        throw explainCloudDnsError(err, 'dns.changes.get', signal);
      }
    };
    await waitUntilApplied({ provider: 'Cloud DNS', id: changeId, status, applied: 'done' }, { zone: this.describe(), timing: this.timing }, signal);
  }
}
