/**
 * ACME failures as users see them: the problem type and detail, and for a rate limit the
 * time to retry and the limit, returned at once instead of sleeping out the Retry-After.
 * The CA is nock standing in for an ACME server, driven by the real acme-client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crypto as acmeCrypto } from 'acme-client';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { ACME_ACCOUNT_SECRET, externalAccountBindingFromEnv, LOCAL_CA_BACKOFF } from '../../src/tls/acme.js';
import { AcmeError, explainAcmeError, parseRetryAfter } from '../../src/tls/acme-errors.js';
import { RATE_LIMITED } from '../../src/tls/acme-http.js';
import { issueCertificate, LOCAL_ISSUANCE_TIMING } from '../../src/tls/issue.js';
import type { Dns01Solver } from '../../src/tls/solvers/solver.js';

const CA = 'https://acme.invalid';
const DIRECTORY = `${CA}/directory`;

/** A solver that must never be reached: these failures happen before any record is written. */
const untouchable: Dns01Solver = {
  describe: () => 'no DNS',
  setTxt: () => Promise.reject(new Error('setTxt must not be called')),
  removeTxt: () => Promise.reject(new Error('removeTxt must not be called')),
  authoritativeServers: () => Promise.reject(new Error('authoritativeServers must not be called')),
};

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lookout-acme-errors-'));
  nock.disableNetConnect();
});

afterAll(async () => {
  nock.enableNetConnect();
  await rm(work, { recursive: true, force: true });
});

afterEach(() => nock.cleanAll());

function ca() {
  return nock(CA)
    .get('/directory')
    .reply(200, { newNonce: `${CA}/new-nonce`, newAccount: `${CA}/new-account`, newOrder: `${CA}/new-order` })
    .head('/new-nonce')
    .reply(200, '', { 'Replay-Nonce': 'nonce-1' });
}

async function storeWithAccount(name: string): Promise<SecretStore> {
  const store = new SecretStore(fileStore(join(work, name)), 'test', 'pw');
  const keyPem = (await acmeCrypto.createPrivateEcdsaKey('P-256')).toString();
  await store.set(ACME_ACCOUNT_SECRET, { keyPem, url: `${CA}/account/1`, directory: DIRECTORY });
  return store;
}

function issue(store: SecretStore) {
  return issueCertificate({
    domain: 'obs.example.com',
    acme: { directoryUrl: DIRECTORY, backoff: LOCAL_CA_BACKOFF },
    store,
    solver: untouchable,
    timing: LOCAL_ISSUANCE_TIMING,
  });
}

describe('ACME errors', () => {
  it('a rate limit fails at once with its Retry-After and the limit that was hit', async () => {
    const detail =
      'too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, retry after 2026-11-23 10:00:00 UTC: see https://letsencrypt.org/docs/rate-limits/#new-certificates-per-exact-set-of-hostnames';
    const scope = ca()
      .post('/new-order')
      .reply(429, { type: RATE_LIMITED, detail, status: 429 }, { 'Content-Type': 'application/problem+json', 'Retry-After': '3600', 'Replay-Nonce': 'nonce-2' });
    const started = Date.now();
    const err = await issue(await storeWithAccount('rate-limit')).catch((e: unknown) => e);

    expect(scope.isDone()).toBe(true);
    expect(err).toBeInstanceOf(AcmeError);
    const acme = err as AcmeError;
    expect(acme.problemType).toBe(RATE_LIMITED);
    expect(acme.problemDetail).toBe(detail);
    expect(acme.message).toBe(`the ACME server acme.invalid refused to create the order: rate limit hit: ${detail} (${RATE_LIMITED})`);
    expect(acme.retryAfter!.getTime()).toBeGreaterThanOrEqual(started + 3_600_000 - 1_000);
    expect(acme.retryAfter!.getTime()).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1_000);
    expect(acme.hint).toContain(`Retry after ${acme.retryAfter!.toISOString()} (in 60 min)`);
    expect(acme.hint).toContain('https://letsencrypt.org/docs/rate-limits/');
    // Not retried after a sleep: axios under acme-client would otherwise wait out the hour.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a rate limit on registration carries an HTTP-date Retry-After', async () => {
    const when = 'Wed, 25 Nov 2026 08:00:00 GMT';
    ca()
      .post('/new-account')
      .reply(
        429,
        { type: RATE_LIMITED, detail: 'too many new registrations (10) from this IP address in the last 3h0m0s', status: 429 },
        { 'Content-Type': 'application/problem+json', 'Retry-After': when, 'Replay-Nonce': 'nonce-2' },
      );
    const store = new SecretStore(fileStore(join(work, 'registration')), 'test', 'pw');
    const err = await issue(store).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcmeError);
    expect((err as AcmeError).retryAfter?.toISOString()).toBe('2026-11-25T08:00:00.000Z');
    expect((err as AcmeError).message).toContain('refused to look up the ACME account: rate limit hit: too many new registrations');
    // The key was kept, so the next run asks about the same account.
    expect((await store.get<{ keyPem: string }>(ACME_ACCOUNT_SECRET))?.keyPem).toContain('PRIVATE KEY');
  });

  it('any other problem keeps its type and detail', async () => {
    const detail = 'Error creating new order :: Cannot issue for "*.obs.example.com": Domain name is blocked';
    ca()
      .post('/new-order')
      .reply(400, { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail, status: 400 }, {
        'Content-Type': 'application/problem+json',
        'Replay-Nonce': 'nonce-2',
      });
    const err = await issue(await storeWithAccount('rejected')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcmeError);
    expect((err as AcmeError).problemType).toBe('urn:ietf:params:acme:error:rejectedIdentifier');
    expect((err as AcmeError).problemDetail).toBe(detail);
    expect((err as AcmeError).message).toBe(
      `the ACME server acme.invalid refused to create the order: ${detail} (urn:ietf:params:acme:error:rejectedIdentifier)`,
    );
    expect((err as AcmeError).retryAfter).toBeUndefined();
  });

  it('a server error is retried, and the answer after it counts', async () => {
    const detail = 'Error creating new order :: Cannot issue for "obs.example.com": policy forbids it';
    const scope = ca()
      .post('/new-order')
      .reply(503, { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'try again', status: 503 }, { 'Content-Type': 'application/problem+json' })
      .post('/new-order')
      .reply(400, { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail, status: 400 }, { 'Content-Type': 'application/problem+json' });
    const err = await issue(await storeWithAccount('retried')).catch((e: unknown) => e);
    expect(scope.isDone()).toBe(true);
    expect((err as AcmeError).problemType).toBe('urn:ietf:params:acme:error:rejectedIdentifier');
    expect((err as AcmeError).problemDetail).toBe(detail);
  });

  it('a CA that stops answering fails after the request timeout, not never', async () => {
    nock(CA).get('/directory').delay(3_000).reply(200, {});
    const store = await storeWithAccount('silent');
    const started = Date.now();
    const err = await issueCertificate({
      domain: 'obs.example.com',
      acme: { directoryUrl: DIRECTORY, backoff: LOCAL_CA_BACKOFF, requestTimeoutMs: 200 },
      store,
      solver: untouchable,
      timing: LOCAL_ISSUANCE_TIMING,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe('the ACME server acme.invalid did not answer in time to create the order (ECONNABORTED)');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('explains an untrusted or unreachable ACME server', () => {
    const untrusted = explainAcmeError(Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), {
      directoryUrl: 'https://ca.internal:14000/dir',
      action: 'create the order',
    });
    expect(untrusted.message).toBe('the HTTPS certificate of the ACME server ca.internal:14000 is not trusted (SELF_SIGNED_CERT_IN_CHAIN)');
    expect(untrusted.hint).toContain('CA bundle');
    const refused = explainAcmeError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), {
      directoryUrl: 'https://ca.internal:14000/dir',
      action: 'create the order',
    });
    expect(refused).toBeInstanceOf(FailureError);
    expect(refused.message).toBe('cannot reach the ACME server ca.internal:14000 to create the order: ECONNREFUSED');
  });

  it('parses Retry-After in seconds and as an HTTP date', () => {
    const now = new Date('2026-11-21T00:00:00Z');
    expect(parseRetryAfter('120', now)?.toISOString()).toBe('2026-11-21T00:02:00.000Z');
    expect(parseRetryAfter('Sat, 21 Nov 2026 01:00:00 GMT', now)?.toISOString()).toBe('2026-11-21T01:00:00.000Z');
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('reads the EAB HMAC key from the variable the config names, and says when it is missing', () => {
    expect(externalAccountBindingFromEnv({ keyId: 'kid-1', hmacKeyEnv: 'LOOKOUT_EAB' }, { LOOKOUT_EAB: ' abc_def ' })).toEqual({
      kid: 'kid-1',
      hmacKey: 'abc_def',
    });
    expect(externalAccountBindingFromEnv(undefined, {})).toBeUndefined();
    expect(() => externalAccountBindingFromEnv({ keyId: 'kid-1', hmacKeyEnv: 'LOOKOUT_EAB' }, {})).toThrow(
      'tls.externalAccountBinding needs the HMAC key in the environment variable LOOKOUT_EAB, which is not set',
    );
  });
});
