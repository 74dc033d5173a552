/**
 * Is `dns.domain` delegated to the instance's zone? The parent zone's own servers decide:
 * each is asked for the NS records of the domain (they answer with a referral, the NS set in
 * the authority section) and the set is compared with the zone's name servers. When they
 * differ, the user gets the exact records to add, and the check waits for them.
 */
import { FailureError } from '../errors.js';
import { findParentZone, type LookupOptions, type ParentZone } from './authoritative.js';
import { absoluteName, normalizeName } from './names.js';
import { describeDuration, pollUntil, type PollTiming } from './poll.js';
import { DnsQueryError, describeServer, queryServer, type DnsServer } from './query.js';

/** What one parent server says about the domain. */
export interface ParentServerView {
  server: DnsServer;
  /** The NS names it delegates the domain to (normalized, sorted); empty when it knows of none. */
  nameServers?: string[];
  /** Why it gave no usable answer (timeout, REFUSED, ...). */
  error?: string;
}

export interface DelegationStatus {
  domain: string;
  parentZone: string;
  /** The zone's own name servers, normalized and sorted. */
  expected: string[];
  views: ParentServerView[];
  /** Every parent server that answered shows exactly the expected set, and at least one answered. */
  delegated: boolean;
  /** One line per server, for progress and errors. */
  summary: string;
}

export interface DelegationCheckOptions {
  domain: string;
  /** The zone's name servers (the infra stack's `nameServers` output). */
  expectedNameServers: readonly string[];
  /** The parent zone and its servers; looked up in DNS when omitted. */
  parent?: ParentZone;
  lookup?: LookupOptions;
  queryTimeoutMs?: number;
  /** TTL written in the instructions. */
  instructionsTtl?: number;
  signal?: AbortSignal;
}

export function normalizeNameServers(names: readonly string[]): string[] {
  return [...new Set(names.map(normalizeName))].sort();
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

async function askParentServer(server: DnsServer, domain: string, options: DelegationCheckOptions): Promise<ParentServerView> {
  try {
    const response = await queryServer(server, domain, 'NS', {
      ...(options.queryTimeoutMs === undefined ? {} : { timeoutMs: options.queryTimeoutMs }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (response.rcode !== 'NOERROR' && response.rcode !== 'NXDOMAIN') {
      return { server, error: `answered ${response.rcode}` };
    }
    // A referral carries the NS set in the authority section; a server that also serves the
    // child zone answers with it in the answer section instead.
    const records = [...response.answers, ...response.authorities].filter((r) => r.type === 'NS' && r.name === domain);
    return { server, nameServers: normalizeNameServers(records.map((r) => r.data)) };
  } catch (err) {
    if (err instanceof DnsQueryError) return { server, error: err.reason === 'timeout' ? 'no answer (timeout)' : err.message };
    throw err;
  }
}

function describeView(view: ParentServerView, expected: readonly string[]): string {
  const who = describeServer(view.server);
  if (view.error) return `${who}: ${view.error.replace(`${who}: `, '')}`;
  const found = view.nameServers ?? [];
  if (found.length === 0) return `${who}: no NS records for the domain`;
  if (sameSet(found, expected)) return `${who}: delegated`;
  return `${who}: NS ${found.join(', ')}`;
}

export async function checkDelegation(options: DelegationCheckOptions): Promise<DelegationStatus> {
  const domain = normalizeName(options.domain);
  const expected = normalizeNameServers(options.expectedNameServers);
  if (expected.length === 0) throw new Error(`checkDelegation(${domain}): no expected name servers given`);
  const parent = options.parent ?? (await findParentZone(domain, options.lookup));
  const views = await Promise.all(parent.servers.map((server) => askParentServer(server, domain, options)));
  const answered = views.filter((v) => !v.error);
  const delegated = answered.length > 0 && answered.every((v) => sameSet(v.nameServers ?? [], expected));
  return {
    domain,
    parentZone: normalizeName(parent.zone),
    expected,
    views,
    delegated,
    summary: views.map((v) => describeView(v, expected)).join('\n'),
  };
}

/** The records to add (and any to remove), exactly as they go into the parent zone. */
export function delegationInstructions(status: Pick<DelegationStatus, 'domain' | 'parentZone' | 'expected' | 'views'>, ttl = 300): string {
  const owner = absoluteName(status.domain);
  const lines = [
    `Add these NS records to the zone ${status.parentZone} (at the DNS provider that hosts it):`,
    ...status.expected.map((ns) => `  ${owner} ${ttl} IN NS ${absoluteName(ns)}`),
  ];
  const wrong = normalizeNameServers(status.views.flatMap((v) => v.nameServers ?? [])).filter((ns) => !status.expected.includes(ns));
  if (wrong.length > 0) {
    lines.push('and remove these, which point elsewhere:', ...wrong.map((ns) => `  ${owner} IN NS ${absoluteName(ns)}`));
  }
  return lines.join('\n');
}

export interface WaitForDelegationOptions extends DelegationCheckOptions {
  /** False under `--yes`: check once and fail at once with the instructions. */
  wait: boolean;
  timing: PollTiming;
  /** Called after each check that is not yet delegated, with what the parent servers said. */
  onProgress?: (status: DelegationStatus) => void;
}

/** Resolves when the delegation is live; otherwise fails with the records to add. */
export async function waitForDelegation(options: WaitForDelegationOptions): Promise<DelegationStatus> {
  const domain = normalizeName(options.domain);
  // The parent's servers are looked up once, not on every attempt.
  const parent = options.parent ?? (await findParentZone(domain, options.lookup));
  const check = { ...options, parent };
  let last: DelegationStatus | undefined;
  const attempt = async (signal: AbortSignal) => {
    const status = await checkDelegation({ ...check, signal });
    if (status.delegated) return { done: true as const, value: status };
    // An attempt the deadline cut short ("query cancelled") says nothing about the parent's
    // servers: the failure reports the last attempt that ran to its end.
    if (!signal.aborted || last === undefined) last = status;
    options.onProgress?.(status);
    return { done: false as const, observation: status.summary };
  };
  if (!options.wait || options.timing.deadlineMs <= 0) {
    const status = await checkDelegation(check);
    if (status.delegated) return status;
    options.onProgress?.(status);
    throw notDelegated(status, 'is not delegated to the instance’s name servers', options.instructionsTtl);
  }
  const outcome = await pollUntil(`the NS delegation of ${domain}`, attempt, options.timing, options.signal);
  if (outcome.ok) return outcome.value;
  const status = last ?? (await checkDelegation(check));
  throw notDelegated(status, `was not delegated to the instance’s name servers within ${describeDuration(options.timing.deadlineMs)}`, options.instructionsTtl);
}

function notDelegated(status: DelegationStatus, what: string, ttl?: number): FailureError {
  const unreachable = status.views.every((v) => v.error)
    ? `\nNone of them answered: this machine may not reach DNS servers on port 53 (UDP and TCP), which the check needs.`
    : '';
  return new FailureError(`${status.domain} ${what}. The servers of ${status.parentZone} answer:\n${indent(status.summary)}${unreachable}`, {
    hint: `${delegationInstructions(status, ttl)}\nThen run the command again.`,
  });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
