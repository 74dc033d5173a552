/**
 * DNS-01 records in a Route53 hosted zone: an UPSERT of the TXT record set, then GetChange
 * until Route53 reports the change INSYNC on all its servers.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { explainAwsError } from './errors.js';
import type { LookupOptions } from '../../dns/authoritative.js';
import { absoluteName, sameName } from '../../dns/names.js';
import type { DnsServer } from '../../dns/query.js';
import { FailureError } from '../../errors.js';
import { CHALLENGE_TTL, DEFAULT_PROVIDER_TIMING, nameServerAddresses, quoteTxt, waitUntilApplied, type Dns01Solver, type ProviderTiming } from '../../tls/solvers/solver.js';

export interface Route53SolverOptions {
  client: Route53Client;
  /** The instance zone's id (the infra stack's `zoneId`), with or without `/hostedzone/`. */
  hostedZoneId: string;
  ttl?: number;
  timing?: Partial<ProviderTiming>;
  /** How the name servers' addresses are looked up (system resolver by default). */
  lookup?: LookupOptions;
}

export const CHALLENGE_COMMENT = 'lookout: ACME DNS-01 challenge';

export class Route53Solver implements Dns01Solver {
  private readonly zoneId: string;
  private readonly timing: ProviderTiming;

  constructor(private readonly options: Route53SolverOptions) {
    this.zoneId = options.hostedZoneId.replace(/^\/?hostedzone\//, '');
    this.timing = { ...DEFAULT_PROVIDER_TIMING, ...options.timing };
  }

  describe(): string {
    return `Route53 hosted zone ${this.zoneId}`;
  }

  async setTxt(fqdn: string, values: readonly string[], signal?: AbortSignal): Promise<void> {
    const record: ResourceRecordSet = {
      Name: absoluteName(fqdn),
      Type: 'TXT',
      TTL: this.options.ttl ?? CHALLENGE_TTL,
      ResourceRecords: values.map((v) => ({ Value: quoteTxt(v) })),
    };
    const changeId = await this.change('UPSERT', record, signal);
    await this.waitInsync(changeId, signal);
  }

  async removeTxt(fqdn: string, signal?: AbortSignal): Promise<void> {
    const existing = await this.currentTxt(fqdn, signal);
    if (!existing) return;
    // A DELETE must repeat the record set exactly as it is, so it is read first. Nothing waits
    // for it to be INSYNC: no later step depends on the record being gone everywhere.
    try {
      await this.change('DELETE', existing, signal);
    } catch (err) {
      if (await this.currentTxt(fqdn, signal).then((r) => r === undefined).catch(() => false)) return;
      throw err;
    }
  }

  async authoritativeServers(signal?: AbortSignal): Promise<DnsServer[]> {
    let nameServers: string[];
    try {
      const zone = await this.options.client.send(new GetHostedZoneCommand({ Id: this.zoneId }), { abortSignal: signal });
      nameServers = zone.DelegationSet?.NameServers ?? [];
    } catch (err) {
      throw explainAwsError(err, 'route53:GetHostedZone', signal);
    }
    return nameServerAddresses(this.describe(), nameServers, this.options.lookup);
  }

  private async currentTxt(fqdn: string, signal?: AbortSignal): Promise<ResourceRecordSet | undefined> {
    try {
      const out = await this.options.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: this.zoneId,
          StartRecordName: absoluteName(fqdn),
          StartRecordType: 'TXT',
          MaxItems: 1,
        }),
        { abortSignal: signal },
      );
      const first = out.ResourceRecordSets?.[0];
      return first && first.Type === 'TXT' && first.Name && sameName(first.Name, fqdn) ? first : undefined;
    } catch (err) {
      throw explainAwsError(err, 'route53:ListResourceRecordSets', signal);
    }
  }

  private async change(action: 'UPSERT' | 'DELETE', record: ResourceRecordSet, signal?: AbortSignal): Promise<string> {
    try {
      const out = await this.options.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: this.zoneId,
          ChangeBatch: { Comment: CHALLENGE_COMMENT, Changes: [{ Action: action, ResourceRecordSet: record }] },
        }),
        { abortSignal: signal },
      );
      const id = out.ChangeInfo?.Id;
      if (!id) throw new FailureError(`Route53 accepted the ${action} of ${record.Name} TXT but returned no change id`);
      return id;
    } catch (err) {
      throw explainAwsError(err, 'route53:ChangeResourceRecordSets', signal);
    }
  }

  private async waitInsync(changeId: string, signal?: AbortSignal): Promise<void> {
    const status = async (attemptSignal: AbortSignal) => {
      try {
        return (await this.options.client.send(new GetChangeCommand({ Id: changeId }), { abortSignal: attemptSignal })).ChangeInfo?.Status;
      } catch (err) {
        throw explainAwsError(err, 'route53:GetChange', signal);
      }
    };
    await waitUntilApplied({ provider: 'Route53', id: changeId, status, applied: 'INSYNC' }, { zone: this.describe(), timing: this.timing }, signal);
  }
}
