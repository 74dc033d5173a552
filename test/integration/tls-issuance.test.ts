/**
 * Certificate issuance end to end against a real pebble (the ACME test CA) and a real bind9
 * taking RFC 2136 updates, both on loopback, started and stopped here.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { ACME_ACCOUNT_SECRET, LOCAL_CA_BACKOFF, type AcmeAccountRecord } from '../../src/tls/acme.js';
import { AcmeError } from '../../src/tls/acme-errors.js';
import { instanceCertificateNames } from '../../src/tls/certificate.js';
import { ensureCertificate } from '../../src/tls/ensure.js';
import { issueCertificate, LOCAL_ISSUANCE_TIMING, type IssueCertificateOptions } from '../../src/tls/issue.js';
import { Rfc2136Solver, type TsigKey } from '../../src/tls/solvers/rfc2136.js';
import type { Dns01Solver } from '../../src/tls/solvers/solver.js';
import { bind9Missing, startBind9, type Bind9 } from '../support/bind9.js';
import { freePort } from '../support/processes.js';
import { pebbleMissing, startPebble, type Pebble } from '../support/pebble.js';

const missing = [bind9Missing(), pebbleMissing()].filter(Boolean).join('; ');
if (missing) console.warn(`SKIPPED tls issuance against pebble + bind9: ${missing}`);

const DOMAIN = 'obs.example.test';
const CHALLENGE = `_acme-challenge.${DOMAIN}`;

/** Records every call, so a test can see what the issuance asked of DNS. */
function recording(solver: Dns01Solver): Dns01Solver & { calls: string[]; written: string[][] } {
  const calls: string[] = [];
  const written: string[][] = [];
  return {
    calls,
    written,
    describe: () => solver.describe(),
    setTxt: async (fqdn, values, signal) => {
      calls.push(`set ${fqdn}`);
      written.push([...values]);
      await solver.setTxt(fqdn, values, signal);
    },
    removeTxt: async (fqdn, signal) => {
      calls.push(`remove ${fqdn}`);
      await solver.removeTxt(fqdn, signal);
    },
    authoritativeServers: (signal) => solver.authoritativeServers(signal),
  };
}

/** The chain in a PEM bundle, leaf first. */
function chainOf(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block));
}

describe.skipIf(Boolean(missing))(`tls issuance against pebble + bind9${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let bind: Bind9;
  let pebble: Pebble;
  let work: string;
  let storeCount = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lookout-tls-issuance-'));
    bind = await startBind9({ zones: [{ name: DOMAIN }] });
    pebble = await startPebble({ dnsServer: bind.server });
  });

  afterAll(async () => {
    await pebble?.stop();
    await bind?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  function newStore(): SecretStore {
    storeCount += 1;
    return new SecretStore(fileStore(join(work, `state-${storeCount}`)), 'test', 'pw');
  }

  function solver(key: TsigKey = bind.key): Rfc2136Solver {
    return new Rfc2136Solver({ server: bind.server, zone: DOMAIN, key });
  }

  function options(store: SecretStore, overrides: Partial<IssueCertificateOptions> = {}, ca: Pebble = pebble): IssueCertificateOptions {
    return {
      domain: DOMAIN,
      acme: { directoryUrl: ca.directoryUrl, caBundlePem: ca.httpsCaPem, backoff: LOCAL_CA_BACKOFF },
      store,
      solver: solver(),
      timing: LOCAL_ISSUANCE_TIMING,
      ...overrides,
    };
  }

  const names = instanceCertificateNames(DOMAIN);

  describe('one instance, run after run', () => {
    const store = (() => {
      let s: SecretStore | undefined;
      return () => (s ??= newStore());
    })();
    let firstSerial = '';

    it('issues <domain> and *.<domain> through RFC 2136: the chain verifies to pebble’s root and the records are gone', async () => {
      const dns = recording(solver());
      const phases: string[] = [];
      const ordersBefore = pebble.newOrderCount();
      const result = await ensureCertificate({
        store: store(),
        names,
        acmeDirectory: pebble.directoryUrl,
        issue: () => issueCertificate(options(store(), { solver: dns, onPhase: (p, e) => phases.push(`${p}:${e}`) })),
      });

      expect(result.reused).toBe(false);
      expect(result.reason).toBe('missing');
      expect(result.info.names).toEqual(['*.obs.example.test', 'obs.example.test']);
      expect(pebble.newOrderCount()).toBe(ordersBefore + 1);

      const [leaf, ...intermediates] = chainOf(result.certificate.certificatePem);
      const root = new X509Certificate(await pebble.rootPem());
      const issuers = [...intermediates, root];
      // Each certificate is signed by the next, ending at the root pebble serves.
      let current = leaf!;
      for (const issuer of issuers) {
        expect(current.checkIssued(issuer)).toBe(true);
        expect(current.verify(issuer.publicKey)).toBe(true);
        current = issuer;
      }
      expect(current.verify(root.publicKey)).toBe(true);
      expect(leaf!.checkHost(DOMAIN)).toBe(DOMAIN);
      // checkHost names the certificate name that matched: the wildcard covers every tenant host.
      expect(leaf!.checkHost(`grafana.${DOMAIN}`)).toBe(`*.${DOMAIN}`);
      expect(leaf!.checkHost(`a.b.${DOMAIN}`)).toBeUndefined();
      expect(new X509Certificate(leaf!.raw).checkPrivateKey((await import('node:crypto')).createPrivateKey(result.certificate.privateKeyPem))).toBe(true);

      // Both authorizations share one record name: one record set with two values, removed after.
      expect(dns.calls).toEqual([`set ${CHALLENGE}`, `remove ${CHALLENGE}`]);
      expect(dns.written[0]).toHaveLength(2);
      expect(new Set(dns.written[0]).size).toBe(2);
      expect(await bind.txt(CHALLENGE)).toEqual([]);
      expect(phases).toEqual([
        'record-written:started',
        'record-written:done',
        'record-visible:started',
        'record-visible:done',
        'challenge-valid:started',
        'challenge-valid:done',
        'order-finalized:started',
        'order-finalized:done',
      ]);
      firstSerial = leaf!.serialNumber;
    });

    it('a second run reuses the stored certificate: no new order reaches pebble', async () => {
      const ordersBefore = pebble.newOrderCount();
      let issued = 0;
      const result = await ensureCertificate({
        store: store(),
        names,
        acmeDirectory: pebble.directoryUrl,
        issue: () => ((issued += 1), issueCertificate(options(store()))),
      });
      expect(result.reused).toBe(true);
      expect(result.reason).toBeUndefined();
      expect(issued).toBe(0);
      expect(chainOf(result.certificate.certificatePem)[0]!.serialNumber).toBe(firstSerial);
      expect(pebble.newOrderCount()).toBe(ordersBefore);
    });

    it('a forced renewal issues a new certificate with the same account', async () => {
      const accountBefore = await store().get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
      const accountsBefore = pebble.log().split('\n').filter((l) => l.includes('POST /sign-me-up')).length;
      const ordersBefore = pebble.newOrderCount();
      const result = await ensureCertificate({
        store: store(),
        names,
        force: true,
        acmeDirectory: pebble.directoryUrl,
        issue: () => issueCertificate(options(store())),
      });
      expect(result.reused).toBe(false);
      expect(result.reason).toBe('forced');
      expect(chainOf(result.certificate.certificatePem)[0]!.serialNumber).not.toBe(firstSerial);
      expect(pebble.newOrderCount()).toBe(ordersBefore + 1);
      // The account of the first run, not a new registration.
      const accountAfter = await store().get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
      expect(accountBefore?.url).toMatch(/^https:\/\/localhost:\d+\//);
      expect(accountAfter).toEqual(accountBefore);
      expect(pebble.log().split('\n').filter((l) => l.includes('POST /sign-me-up')).length).toBe(accountsBefore);
      expect(await bind.txt(CHALLENGE)).toEqual([]);
    });
  });

  it('registers the stored key again when the CA no longer knows the account', async () => {
    const store = newStore();
    const first = await issueCertificate(options(store));
    const record = await store.get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
    await store.set(ACME_ACCOUNT_SECRET, { ...record!, url: first.accountUrl.replace(/[^/]+$/, 'no-such-account') });
    const second = await issueCertificate(options(store));
    expect(second.info.names).toEqual(names);
    const after = await store.get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET);
    expect(after?.keyPem).toBe(record!.keyPem);
    expect(after?.url).toBe(second.accountUrl);
    expect(after?.url).not.toContain('no-such-account');
  });

  it('without the CA bundle, pebble’s HTTPS certificate is refused at once', async () => {
    const base = options(newStore());
    const started = performance.now();
    const err = await issueCertificate({ ...base, acme: { directoryUrl: pebble.directoryUrl, backoff: LOCAL_CA_BACKOFF } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toMatch(/^the HTTPS certificate of the ACME server localhost:\d+ is not trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('a wrong TSIG key fails with a clear error and leaves no record', async () => {
    const wrongKey: TsigKey = { ...bind.key, secret: Buffer.alloc(32, 7).toString('base64') };
    const phases: string[] = [];
    const err = await issueCertificate(options(newStore(), { solver: solver(wrongKey), onPhase: (p, e) => phases.push(`${p}:${e}`) })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(`rejected the TSIG key "${bind.key.name}"`);
    expect((err as FailureError).message).toContain(`127.0.0.1:${bind.port}`);
    expect((err as FailureError).hint).toMatch(/key name, algorithm \(hmac-sha256\) and secret/);
    expect((err as FailureError).message).not.toContain(wrongKey.secret);
    expect(phases).toEqual(['record-written:started']);
    expect(await bind.txt(CHALLENGE)).toEqual([]);
  });

  it('a record that never shows at an authoritative server fails within its deadline, and is removed', async () => {
    const silent = { address: '127.0.0.1', port: await freePort() };
    const deadlineMs = 600;
    // The deadline is the visibility phase's: timed from its start, not from the ACME account
    // and order before it (the secret store's key derivation alone takes a while on a busy machine).
    let started = performance.now();
    const err = await issueCertificate(
      options(newStore(), {
        authoritativeServers: [bind.server, silent],
        timing: { ...LOCAL_ISSUANCE_TIMING, visibility: { deadlineMs, intervalMs: 50 }, queryTimeoutMs: 200 },
        onPhase: (phase, event) => {
          if (phase === 'record-visible' && event === 'started') started = performance.now();
        },
      }),
    ).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toContain(`the TXT record ${CHALLENGE} did not appear at every authoritative server`);
    expect((err as FailureError).message).toContain(`127.0.0.1:${silent.port}`);
    expect((err as FailureError).message).not.toContain(`127.0.0.1:${bind.port}:`);
    expect(elapsed).toBeLessThan(deadlineMs + 3_000);
    expect(await bind.txt(CHALLENGE)).toEqual([]);
  });

  it('an interrupt during the visibility check stops the issuance and still removes the record', async () => {
    const controller = new AbortController();
    const silent = { address: '127.0.0.1', port: await freePort() };
    const err = await issueCertificate(
      options(newStore(), {
        authoritativeServers: [silent],
        signal: controller.signal,
        onPhase: (p, e) => {
          if (p === 'record-visible' && e === 'started') controller.abort();
        },
      }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(await bind.txt(CHALLENGE)).toEqual([]);
  });

  it('pebble’s rejection of the challenge surfaces the ACME problem type and detail', async () => {
    // pebble asks a second bind9 that serves the zone but never gets the record, as a CA
    // would that sees other DNS than the zone's servers.
    const elsewhere = await startBind9({ zones: [{ name: DOMAIN }] });
    const strict = await startPebble({ dnsServer: elsewhere.server });
    try {
      const err = await issueCertificate(options(newStore(), {}, strict)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AcmeError);
      const acme = err as AcmeError;
      expect(acme.problemType).toBe('urn:ietf:params:acme:error:unauthorized');
      expect(acme.problemDetail).toContain(CHALLENGE);
      expect(acme.message).toContain(acme.problemDetail);
      expect(acme.message).toContain('(urn:ietf:params:acme:error:unauthorized)');
      expect(acme.hint).toMatch(/TXT record/);
      expect(await bind.txt(CHALLENGE)).toEqual([]);
    } finally {
      await strict.stop();
      await elsewhere.stop();
    }
  });

  it('External Account Binding: required by the CA, used when configured', async () => {
    const hmacKey = Buffer.alloc(32, 9).toString('base64url');
    const eabCa = await startPebble({ dnsServer: bind.server, externalAccountMacKeys: { 'kid-lookout': hmacKey } });
    try {
      const without = await issueCertificate(options(newStore(), {}, eabCa)).catch((e: unknown) => e);
      expect(without).toBeInstanceOf(AcmeError);
      expect((without as AcmeError).problemType).toBe('urn:ietf:params:acme:error:externalAccountRequired');
      expect((without as AcmeError).hint).toContain('tls.externalAccountBinding');

      const store = newStore();
      const base = options(store, {}, eabCa);
      const issued = await issueCertificate({ ...base, acme: { ...base.acme, externalAccountBinding: { kid: 'kid-lookout', hmacKey } } });
      expect(issued.info.names).toEqual(names);
      expect((await store.get<AcmeAccountRecord>(ACME_ACCOUNT_SECRET))?.url).toBe(issued.accountUrl);
    } finally {
      await eabCa.stop();
    }
  });
});
