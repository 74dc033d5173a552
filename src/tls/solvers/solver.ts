/**
 * A DNS-01 solver writes and removes the challenge TXT records in the instance's zone, at one
 * DNS provider. The issuance flow (../issue.ts) does everything else: it checks the records at
 * the zone's authoritative servers itself, and always removes them afterwards.
 */
import { serversFor, type LookupOptions } from '../../dns/authoritative.js';
import { describeDuration, pollUntil } from '../../dns/poll.js';
import type { DnsServer } from '../../dns/query.js';
import { FailureError } from '../../errors.js';

export interface Dns01Solver {
  /** For progress and errors, e.g. `Route53 hosted zone Z0123 (obs.example.com)`. */
  describe(): string;
  /**
   * Makes the TXT record set at `fqdn` hold exactly `values` (any earlier values, such as those
   * a killed run left, are replaced), and resolves once the provider reports the change applied.
   */
  setTxt(fqdn: string, values: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Removes the TXT record set at `fqdn`, whatever it holds; nothing to do when there is none. */
  removeTxt(fqdn: string, signal?: AbortSignal): Promise<void>;
  /** The zone's authoritative servers, which the CA will ask. */
  authoritativeServers(signal?: AbortSignal): Promise<DnsServer[]>;
}

/** How long to wait for a provider to apply a change, and how often to ask. */
export interface ProviderTiming {
  changeDeadlineMs: number;
  changePollMs: number;
}

export const DEFAULT_PROVIDER_TIMING: ProviderTiming = { changeDeadlineMs: 5 * 60_000, changePollMs: 2_000 };

/** Challenge TTL: short, so a value left behind is not cached for long. */
export const CHALLENGE_TTL = 60;

const TXT_VALUE = /^[\x21\x23-\x5b\x5d-\x7e ]{1,255}$/;

/** A TXT value as zone files and the provider APIs want it: one quoted string. */
export function quoteTxt(value: string): string {
  // ACME values are base64url; anything that would need escaping is refused rather than escaped.
  if (!TXT_VALUE.test(value)) throw new Error(`not a plain TXT value: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/**
 * The addresses of the name servers a DNS provider lists for a zone (`zone` as the solver
 * describes it). The CA asks those servers, so a zone whose servers have no address cannot
 * be checked: that fails, saying what to do.
 */
export async function nameServerAddresses(zone: string, nameServers: readonly string[], lookup?: LookupOptions): Promise<DnsServer[]> {
  const servers = await serversFor(nameServers, lookup);
  if (servers.length === 0) {
    throw new FailureError(`the name servers of ${zone} (${nameServers.join(', ') || 'none'}) have no addresses`, {
      hint: 'Check that this machine can resolve DNS names, then run the command again.',
    });
  }
  return servers;
}

/** A change a DNS provider applies in the background. */
export interface ProviderChange {
  /** The provider's name for errors: "Route53", "Cloud DNS". */
  provider: string;
  id: string;
  /** The change's status now (the call's own errors explained by the caller). */
  status(attemptSignal: AbortSignal): Promise<string | undefined>;
  /** The status that means the change is applied at every server: "INSYNC", "done". */
  applied: string;
}

/**
 * Polls a DNS provider's change in `zone` (as the solver describes it) until it is applied;
 * after the deadline, fails saying it was not.
 */
export async function waitUntilApplied(change: ProviderChange, at: { zone: string; timing: ProviderTiming }, signal?: AbortSignal): Promise<void> {
  const outcome = await pollUntil(
    `${change.provider} change ${change.id}`,
    async (attemptSignal) => {
      const status = await change.status(attemptSignal);
      return status === change.applied ? { done: true, value: undefined } : { done: false, observation: status ?? 'no status' };
    },
    { deadlineMs: at.timing.changeDeadlineMs, intervalMs: at.timing.changePollMs },
    signal,
  );
  if (!outcome.ok) {
    throw new FailureError(
      `${change.provider} change ${change.id} in ${at.zone} was still ${outcome.observation} after ${describeDuration(at.timing.changeDeadlineMs)}`,
      { hint: `${change.provider} is slow to apply changes right now; run the command again later.` },
    );
  }
}
