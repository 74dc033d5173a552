/**
 * A DNS-01 solver writes and removes the challenge TXT records in the instance's zone, at one
 * DNS provider. The issuance flow (../issue.ts) does everything else: it checks the records at
 * the zone's authoritative servers itself, and always removes them afterwards.
 */
import type { DnsServer } from '../../dns/query.js';

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
