/**
 * ACME failures as errors a user can act on: the problem `type` and `detail` the CA sent
 * (RFC 8555 §6.7), and for a rate limit the time to retry and the limit that was hit.
 */
import { FailureError, LookoutError } from '../errors.js';
import { AcmeRateLimitedError, RATE_LIMITED, type AcmeProblem, type ObservedProblem } from './acme-http.js';

export const ACCOUNT_DOES_NOT_EXIST = 'urn:ietf:params:acme:error:accountDoesNotExist';

export const LETS_ENCRYPT_RATE_LIMITS_URL = 'https://letsencrypt.org/docs/rate-limits/';

/** A failure the ACME server explained with a problem document. */
export class AcmeError extends FailureError {
  readonly problemType: string;
  readonly problemDetail: string;
  /** When the server said to try again (rate limits). */
  readonly retryAfter?: Date;

  constructor(message: string, problem: AcmeProblem, options: { hint?: string; cause?: unknown; retryAfter?: Date }) {
    super(message, { ...(options.hint ? { hint: options.hint } : {}), cause: options.cause });
    this.problemType = problem.type;
    this.problemDetail = problem.detail ?? '';
    if (options.retryAfter) this.retryAfter = options.retryAfter;
  }
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = new Date()): Date | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return new Date(now.getTime() + Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : new Date(date);
}

function shortType(type: string): string {
  return type.replace('urn:ietf:params:acme:error:', '');
}

function describeWait(until: Date, now: Date): string {
  const minutes = Math.max(0, Math.ceil((until.getTime() - now.getTime()) / 60_000));
  if (minutes < 120) return `${minutes} min`;
  return `${Math.round(minutes / 6) / 10} h`;
}

const HINTS: Record<string, string> = {
  unauthorized:
    'The CA did not find the expected TXT record. Check that no other DNS server answers for dns.domain (its NS delegation) and run the command again.',
  incorrectResponse: 'The CA found a different TXT value. Another ACME client may be using the same name; run the command again.',
  dns: 'The CA could not look up the challenge record. Check the NS delegation of dns.domain, then run the command again.',
  caa: 'A CAA record forbids this CA for the domain. Add a CAA record that allows it, or remove the CAA record.',
  rejectedIdentifier: 'The CA will not issue for this domain name (some CAs refuse certain names).',
  externalAccountRequired: 'This CA requires External Account Binding: set tls.externalAccountBinding (keyId and hmacKeyEnv) in the config.',
  unauthorizedEab: 'Check tls.externalAccountBinding: the key id, and the HMAC key in the environment variable it names.',
  accountDoesNotExist: 'The stored ACME account is not known to this CA.',
  badNonce: 'The CA kept refusing request nonces; run the command again.',
  serverInternal: 'The CA had an internal error; run the command again later.',
};

export interface AcmeErrorContext {
  directoryUrl: string;
  /** What was being done, e.g. `create the order`. */
  action: string;
  /** The last problem document the server sent during this issuance. */
  lastProblem?: ObservedProblem;
  /** A problem known to explain this failure (a challenge's `error`). */
  problem?: AcmeProblem;
  now?: Date;
}

function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Maps anything acme-client (or the HTTP layer under it) threw into a LookoutError. */
export function explainAcmeError(err: unknown, context: AcmeErrorContext): LookoutError {
  if (err instanceof LookoutError) return err;
  const host = new URL(context.directoryUrl).host;
  const now = context.now ?? new Date();
  if (err instanceof AcmeRateLimitedError) return rateLimited(err.observed, host, context.action, now, err);
  const message = err instanceof Error ? err.message : String(err);
  const problem =
    context.problem ??
    (context.lastProblem && (context.lastProblem.problem.detail ?? '').replace(/\n/g, '') === message ? context.lastProblem.problem : undefined);
  if (problem) {
    if (problem.type === RATE_LIMITED && context.lastProblem) return rateLimited(context.lastProblem, host, context.action, now, err);
    const sub = (problem.subproblems ?? [])
      .map((s) => `\n  ${s.identifier?.value ?? ''}: ${s.detail ?? ''} (${s.type ?? ''})`)
      .join('');
    const hint = HINTS[shortType(problem.type)];
    return new AcmeError(`the ACME server ${host} refused to ${context.action}: ${problem.detail ?? 'no detail'} (${problem.type})${sub}`, problem, {
      ...(hint ? { hint } : {}),
      cause: err,
    });
  }
  const code = networkCode(err);
  if (code && TLS_TRUST_CODES.has(code)) {
    return new FailureError(`the HTTPS certificate of the ACME server ${host} is not trusted (${code})`, {
      hint: 'For a private CA, give lookout the CA bundle that signed the ACME server’s certificate. Check tls.acmeDirectory.',
      cause: err,
    });
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new FailureError(`the ACME server ${host} did not answer in time to ${context.action} (${code})`, {
      hint: 'The CA may be overloaded or unreachable from here; run the command again later.',
      cause: err,
    });
  }
  if (code) {
    return new FailureError(`cannot reach the ACME server ${host} to ${context.action}: ${code}`, {
      hint: `Check tls.acmeDirectory (${context.directoryUrl}) and this machine’s network, then run the command again.`,
      cause: err,
    });
  }
  return new FailureError(`could not ${context.action} at the ACME server ${host}: ${message}`, { cause: err });
}

function rateLimited(observed: ObservedProblem, host: string, action: string, now: Date, cause: unknown): AcmeError {
  const retryAfter = parseRetryAfter(observed.retryAfter, now);
  const when = retryAfter ? `Retry after ${retryAfter.toISOString()} (in ${describeWait(retryAfter, now)}).` : 'The CA did not say when to retry.';
  return new AcmeError(
    `the ACME server ${host} refused to ${action}: rate limit hit: ${observed.problem.detail ?? 'no detail'} (${observed.problem.type})`,
    observed.problem,
    {
      hint: `${when} The limits of Let's Encrypt: ${LETS_ENCRYPT_RATE_LIMITS_URL}. Use its staging directory while testing.`,
      cause,
      ...(retryAfter ? { retryAfter } : {}),
    },
  );
}
