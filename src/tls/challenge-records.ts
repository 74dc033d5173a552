/**
 * The life of the DNS-01 challenge records: written through the solver, checked at each
 * authoritative server of the zone directly, and removed afterwards whatever happened (also
 * on failure or interrupt). A run killed before the removal leaves values behind; the next
 * write replaces the whole record set, so they never reach the CA, and its removal clears them.
 */
import { errorMessage } from '../errors.js';
import type { PollTiming } from '../dns/poll.js';
import { describeServer, type DnsServer } from '../dns/query.js';
import { waitForTxtVisible } from '../dns/txt-visibility.js';
import type { Dns01Solver } from './solvers/solver.js';

export type IssuancePhase = 'record-written' | 'record-visible' | 'challenge-valid' | 'order-finalized';
export type PhaseEvent = 'started' | 'done';
/** Each phase is reported started, then done, so the CLI can show it as its own step. */
export type PhaseCallback = (phase: IssuancePhase, event: PhaseEvent, detail: string) => void;

export interface ChallengeRecordOptions {
  solver: Dns01Solver;
  /** TXT values per record name (`_acme-challenge.<domain>`). */
  records: ReadonlyMap<string, readonly string[]>;
  /** Where to check the records; the solver's authoritative servers when omitted. */
  servers?: readonly DnsServer[];
  visibility: PollTiming;
  queryTimeoutMs: number;
  /** The removal gets its own time, since it also runs after an interrupt. */
  cleanupTimeoutMs: number;
  onPhase?: PhaseCallback;
  /** Told when a record could not be removed; the certificate is still good. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

function describeRecords(records: ReadonlyMap<string, readonly string[]>): string {
  return [...records].map(([name, values]) => `${name} TXT (${values.length} value${values.length === 1 ? '' : 's'})`).join(', ');
}

export interface ChallengeOutcome<T> {
  value: T;
  /**
   * The removal of the records, started when `body` succeeded. It never rejects (a failure
   * goes to `onWarning`); the caller awaits it, so the removal overlaps the order's finalization.
   */
  removed: Promise<void>;
}

/**
 * Writes the records, waits until every authoritative server serves them, runs `body`, then
 * removes them: after `body` fails (or the run is interrupted) before returning, and after it
 * succeeds in the background of the caller's next step.
 */
export async function withChallengeRecords<T>(options: ChallengeRecordOptions, body: () => Promise<T>): Promise<ChallengeOutcome<T>> {
  const { solver, records, signal } = options;
  const phase = options.onPhase ?? (() => {});
  try {
    phase('record-written', 'started', `${describeRecords(records)} via ${solver.describe()}`);
    for (const [name, values] of records) await solver.setTxt(name, values, signal);
    phase('record-written', 'done', describeRecords(records));

    const servers = options.servers ?? (await solver.authoritativeServers(signal));
    phase('record-visible', 'started', `checking ${servers.length} authoritative server${servers.length === 1 ? '' : 's'}: ${servers.map(describeServer).join(', ')}`);
    for (const [name, values] of records) {
      await waitForTxtVisible({
        servers,
        name,
        values,
        timing: options.visibility,
        queryTimeoutMs: options.queryTimeoutMs,
        ...(signal ? { signal } : {}),
      });
    }
    phase('record-visible', 'done', `visible at all ${servers.length} authoritative server${servers.length === 1 ? '' : 's'}`);

    const value = await body();
    return { value, removed: removeRecords(options) };
  } catch (err) {
    await removeRecords(options);
    throw err;
  }
}

async function removeRecords(options: ChallengeRecordOptions): Promise<void> {
  // Not the run's signal: an interrupted run must still clean up.
  const cleanup = AbortSignal.timeout(options.cleanupTimeoutMs);
  for (const name of options.records.keys()) {
    try {
      await options.solver.removeTxt(name, cleanup);
    } catch (err) {
      options.onWarning?.(`the challenge record ${name} TXT could not be removed (${errorMessage(err)}); remove it by hand, it is no longer needed`);
    }
  }
}
