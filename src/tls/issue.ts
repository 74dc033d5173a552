/**
 * One ACME order for `<domain>` and `*.<domain>`, by DNS-01 only, with acme-client. The flow
 * is driven step by step rather than by acme-client's `auto()`: both authorizations share one
 * record name (`_acme-challenge.<domain>`) and are written as one record set; the records are
 * checked at the zone's authoritative servers (never through acme-client's verification, which
 * uses the system resolver and hangs on fresh zones); and each phase is reported on its own.
 */
import type { Authorization, Client, Order } from 'acme-client';
import { crypto as acmeCrypto } from 'acme-client';
import type { PollTiming } from '../dns/poll.js';
import type { DnsServer } from '../dns/query.js';
import { errorMessage, FailureError, LookoutError } from '../errors.js';
import type { SecretStore } from '../state/secret-store.js';
import { LETS_ENCRYPT_BACKOFF, LOCAL_CA_BACKOFF, openAccount, registerAccount, type AcmeCall, type AcmeSettings } from './acme.js';
import { ACCOUNT_DOES_NOT_EXIST, AcmeError, explainAcmeError } from './acme-errors.js';
import { attachAcmeTransport, type AcmeProblem, type ObservedProblem } from './acme-http.js';
import { describeCertificate, instanceCertificateNames, type CertificateInfo } from './certificate.js';
import { withChallengeRecords, type PhaseCallback } from './challenge-records.js';
import type { KeyAndCertificate } from './certificate.js';
import type { Dns01Solver } from './solvers/solver.js';
import { abortable } from '../abortable.js';

export type { IssuancePhase, PhaseCallback, PhaseEvent } from './challenge-records.js';

export interface IssuanceTiming {
  /** How long the challenge record may take to appear at every authoritative server, and how often to look. */
  visibility: PollTiming;
  /** Per DNS question to one server. */
  queryTimeoutMs: number;
  /** For removing the records, also after an interrupt. */
  cleanupTimeoutMs: number;
}

/** For public CAs and real DNS providers. */
export const DEFAULT_ISSUANCE_TIMING: IssuanceTiming = {
  visibility: { deadlineMs: 10 * 60_000, intervalMs: 5_000 },
  queryTimeoutMs: 3_000,
  cleanupTimeoutMs: 60_000,
};

/** For pebble and bind9 on loopback (tests, benchmarks). */
export const LOCAL_ISSUANCE_TIMING: IssuanceTiming = {
  visibility: { deadlineMs: 5_000, intervalMs: 20 },
  queryTimeoutMs: 500,
  cleanupTimeoutMs: 5_000,
};

/** Re-exported so a caller finds every setting of an issuance here. */
export { LETS_ENCRYPT_BACKOFF, LOCAL_CA_BACKOFF };

export interface IssueCertificateOptions {
  /** `dns.domain`; the certificate covers it and `*.<domain>`. */
  domain: string;
  acme: AcmeSettings;
  /** Holds the ACME account (`acme.account`). */
  store: SecretStore;
  solver: Dns01Solver;
  /** Where the records are checked; the solver's authoritative servers when omitted. */
  authoritativeServers?: readonly DnsServer[];
  timing?: Partial<IssuanceTiming>;
  onPhase?: PhaseCallback;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface IssuedCertificate extends KeyAndCertificate {
  info: CertificateInfo;
  accountUrl: string;
  orderUrl: string;
}


interface DnsChallenge {
  authz: Authorization;
  challenge: Authorization['challenges'][number];
  recordName: string;
  value: string;
}

/**
 * Runs acme-client calls against one directory: each call is named for error messages, cut
 * short by an interrupt, and its failure mapped with the problem document the CA sent.
 */
function acmeCaller(settings: AcmeSettings, signal: AbortSignal | undefined): { call: AcmeCall; detach: () => void } {
  let lastProblem: ObservedProblem | undefined;
  const detach = attachAcmeTransport(settings.directoryUrl, {
    ...(settings.caBundlePem ? { caBundlePem: settings.caBundlePem } : {}),
    ...(settings.requestTimeoutMs ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
    onProblem: (p) => (lastProblem = p),
  });
  // The last problem is kept across calls: it explains an error only when its detail is the
  // error's message, and calls run side by side (the two challenges), so clearing it would race.
  const call: AcmeCall = async (action, run, problem) => {
    try {
      return await abortable(run(), signal, action);
    } catch (err) {
      if (err instanceof LookoutError) throw err;
      const explained = problem ? await problem().catch(() => undefined) : undefined;
      throw explainAcmeError(err, {
        directoryUrl: settings.directoryUrl,
        action,
        ...(lastProblem ? { lastProblem } : {}),
        ...(explained ? { problem: explained } : {}),
      });
    }
  };
  return { call, detach };
}

export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const timing = { ...DEFAULT_ISSUANCE_TIMING, ...options.timing };
  const { acme: settings } = options;
  const names = instanceCertificateNames(options.domain);
  const phase = options.onPhase ?? (() => {});
  const { call, detach } = acmeCaller(settings, options.signal);
  // The certificate's key and CSR are made while the CA works on the challenges.
  const keyAndCsr = newKeyAndCsr(options.domain, names);
  keyAndCsr.catch(() => {});
  try {
    let account = await openAccount(options.store, settings, call);
    const identifiers = names.map((value) => ({ type: 'dns' as const, value }));
    let order: Order;
    try {
      order = await call('create the order', () => account.client.createOrder({ identifiers }));
    } catch (err) {
      // A CA that forgot the account (a reset private CA, a purged account): register the key again, once.
      if (account.registered || !(err instanceof AcmeError) || err.problemType !== ACCOUNT_DOES_NOT_EXIST) throw err;
      account = await registerAccount(options.store, settings, call);
      const { client } = account;
      order = await call('create the order', () => client.createOrder({ identifiers }));
    }
    const { client, accountUrl } = account;
    const authorizations = await call('fetch the authorizations', () => client.getAuthorizations(order));
    const challenges = await dnsChallenges(client, authorizations);
    const { removed: recordsRemoved } = await solveChallenges(client, order, challenges, options, timing, call);
    try {
      phase('order-finalized', 'started', `finalizing the order for ${names.join(', ')}`);
      const { key, csr } = await keyAndCsr;
      const finalized = await call('finalize the order', () => client.finalizeOrder(order, csr));
      const certificatePem = await call('download the certificate', () => client.getCertificate(finalized));
      const info = await describeCertificate(certificatePem);
      phase('order-finalized', 'done', `certificate for ${info.names.join(', ')}, valid until ${info.notAfter}`);
      return { certificatePem, privateKeyPem: key.toString(), info, accountUrl, orderUrl: order.url };
    } finally {
      // The challenge records are removed while the order is finalized; never leave before that ends.
      await recordsRemoved;
    }
  } finally {
    detach();
  }
}

async function newKeyAndCsr(domain: string, names: string[]): Promise<{ key: Buffer; csr: Buffer }> {
  const key = await acmeCrypto.createPrivateEcdsaKey('P-256');
  const [, csr] = await acmeCrypto.createCsr({ commonName: domain, altNames: names }, key);
  return { key, csr };
}

async function dnsChallenges(client: Client, authorizations: Authorization[]): Promise<DnsChallenge[]> {
  const pending = authorizations.filter((a) => a.status !== 'valid');
  return Promise.all(
    pending.map(async (authz) => {
      const challenge = authz.challenges.find((c) => c.type === 'dns-01');
      if (!challenge) {
        throw new FailureError(`the ACME server offers no dns-01 challenge for ${authz.identifier.value}`, {
          hint: 'Lookout validates by DNS-01 only, which wildcard certificates require; use a CA that supports it.',
        });
      }
      return {
        authz,
        challenge,
        recordName: `_acme-challenge.${authz.identifier.value}`,
        value: await client.getChallengeKeyAuthorization(challenge),
      };
    }),
  );
}

async function solveChallenges(
  client: Client,
  order: Order,
  challenges: DnsChallenge[],
  options: IssueCertificateOptions,
  timing: IssuanceTiming,
  call: AcmeCall,
): Promise<{ removed: Promise<void> }> {
  const phase = options.onPhase ?? (() => {});
  if (challenges.length === 0) {
    // The CA reused authorizations it validated earlier: no record to write.
    for (const p of ['record-written', 'record-visible', 'challenge-valid'] as const) {
      phase(p, 'started', 'the CA reused earlier authorizations');
      phase(p, 'done', 'nothing to do');
    }
    return { removed: Promise.resolve() };
  }
  const records = new Map<string, string[]>();
  for (const c of challenges) records.set(c.recordName, [...(records.get(c.recordName) ?? []), c.value]);
  const completed = new Set<DnsChallenge>();
  try {
    const { removed } = await withChallengeRecords(
      {
        solver: options.solver,
        records,
        ...(options.authoritativeServers ? { servers: options.authoritativeServers } : {}),
        visibility: timing.visibility,
        queryTimeoutMs: timing.queryTimeoutMs,
        cleanupTimeoutMs: timing.cleanupTimeoutMs,
        ...(options.onPhase ? { onPhase: options.onPhase } : {}),
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      async () => {
        phase('challenge-valid', 'started', `asking the CA to validate ${challenges.length} challenge${challenges.length === 1 ? '' : 's'}`);
        await Promise.all(
          challenges.map(async (c) => {
            await call(`accept the challenge for ${describeIdentifier(c.authz)}`, () => client.completeChallenge(c.challenge));
            completed.add(c);
          }),
        );
        await Promise.all(
          challenges.map((c) =>
            call(`validate the challenge for ${describeIdentifier(c.authz)}`, () => client.waitForValidStatus(c.challenge), () =>
              challengeProblem(client, order, c),
            ),
          ),
        );
        phase('challenge-valid', 'done', 'the CA validated every challenge');
      },
    );
    return { removed };
  } catch (err) {
    // Authorizations the CA was never asked to validate stay pending for days and count
    // against the account's limit of pending authorizations; give them up.
    // Bounded: an interrupted run must not hang on a CA that stopped answering.
    const abandoned = challenges.filter((c) => !completed.has(c));
    const bound = AbortSignal.timeout(10_000);
    await Promise.allSettled(abandoned.map((c) => abortable(client.deactivateAuthorization(c.authz), bound, 'give up an authorization')));
    if (err instanceof LookoutError) throw err;
    throw new FailureError(`the DNS-01 challenge failed: ${errorMessage(err)}`, { cause: err });
  }
}

function describeIdentifier(authz: Authorization): string {
  return authz.wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
}

/** The problem the CA recorded on a failed challenge (its `error`), read back from the order's authorizations. */
async function challengeProblem(client: Client, order: Order, c: DnsChallenge): Promise<AcmeProblem | undefined> {
  const authorizations = await client.getAuthorizations(order);
  const authz = authorizations.find((a) => a.url === c.authz.url);
  const challenge = authz?.challenges.find((ch) => ch.url === c.challenge.url);
  const error = challenge?.error as Partial<AcmeProblem> | undefined;
  return typeof error?.type === 'string' ? { ...error, type: error.type } : undefined;
}
