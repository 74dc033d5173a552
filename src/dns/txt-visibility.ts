/**
 * Waits until a TXT record carries the given values at every authoritative server of its
 * zone, asking each server directly. Only then may the CA be asked to validate: a CA that
 * looks too early fails the authorization, and Let's Encrypt counts that against its limits.
 */
import { FailureError } from '../errors.js';
import { normalizeName } from './names.js';
import { describeDuration, pollUntil, type PollTiming } from './poll.js';
import { DnsQueryError, describeServer, queryServer, type DnsServer } from './query.js';

export interface TxtQueryOptions {
  queryTimeoutMs?: number;
  signal?: AbortSignal;
}

/** The TXT values at `name` on one server (empty when it has none). */
export async function txtValuesAt(server: DnsServer, name: string, options: TxtQueryOptions = {}): Promise<string[]> {
  const response = await queryServer(server, name, 'TXT', {
    ...(options.queryTimeoutMs === undefined ? {} : { timeoutMs: options.queryTimeoutMs }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
    throw new DnsQueryError(server, 'malformed', `answered ${response.rcode} for TXT ${normalizeName(name)}`);
  }
  return response.answers.filter((r) => r.type === 'TXT' && r.name === normalizeName(name)).map((r) => r.data);
}

export interface TxtVisibilityOptions extends TxtQueryOptions {
  servers: readonly DnsServer[];
  name: string;
  values: readonly string[];
  timing: PollTiming;
  /** Called after each round that did not yet see the values everywhere. */
  onProgress?: (pending: string) => void;
}

export async function waitForTxtVisible(options: TxtVisibilityOptions): Promise<void> {
  const name = normalizeName(options.name);
  if (options.servers.length === 0) throw new Error(`waitForTxtVisible(${name}): no servers to ask`);
  const pending = new Map(options.servers.map((s) => [describeServer(s), s]));
  const observations = new Map<string, string>();
  let anyAnswered = false;
  const outcome = await pollUntil(
    `the TXT record ${name}`,
    async (signal) => {
      await Promise.all(
        [...pending].map(async ([label, server]) => {
          try {
            const found = await txtValuesAt(server, name, { ...options, signal });
            anyAnswered = true;
            if (options.values.every((v) => found.includes(v))) {
              pending.delete(label);
              return;
            }
            observations.set(label, found.length === 0 ? 'no TXT record yet' : `other values: ${[...found].sort().map((v) => `"${v}"`).join(', ')}`);
          } catch (err) {
            if (!(err instanceof DnsQueryError)) throw err;
            observations.set(label, err.reason === 'timeout' ? 'no answer (timeout)' : err.message.replace(`${label}: `, ''));
          }
        }),
      );
      if (pending.size === 0) return { done: true, value: undefined };
      const summary = [...pending.keys()].map((label) => `${label}: ${observations.get(label) ?? 'no answer yet'}`).join('\n');
      options.onProgress?.(summary);
      return { done: false, observation: summary };
    },
    options.timing,
    options.signal,
  );
  if (outcome.ok) return;
  throw new FailureError(
    `the TXT record ${name} did not appear at every authoritative server of its zone within ${describeDuration(options.timing.deadlineMs)}:\n` +
      outcome.observation
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    {
      hint: anyAnswered
        ? 'The DNS provider accepted the change, but these servers do not serve it yet. Check that they are the servers of the zone ' +
          'the record was written to (the NS delegation of dns.domain), then run the command again.'
        : 'None of the servers answered: this machine must reach the zone’s name servers on port 53 (UDP and TCP). ' +
          'Check for a firewall that blocks DNS to outside servers, then run the command again.',
    },
  );
}
