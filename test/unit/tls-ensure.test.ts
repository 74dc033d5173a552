/**
 * When the instance certificate is reused and when a new one is issued and stored.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { fileStore } from '../../src/pulumi/diy-store.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { instanceCertificateNames } from '../../src/tls/certificate.js';
import { webcrypto, x509, type CryptoKeyPair } from '../../src/tls/crypto.js';
import { ensureCertificate, TLS_CERTIFICATE_SECRET, type StoredCertificate } from '../../src/tls/ensure.js';
import { exportPrivateKeyPem, selfSignedCertificate, type KeyAndCertificate } from '../support/self-signed.js';

const DOMAIN = 'obs.example.com';
const NAMES = instanceCertificateNames(DOMAIN);
const DIRECTORY = 'https://acme.example/directory';
const DAY = 86_400_000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A leaf signed by a throwaway CA, valid from `notBefore` for `days`: what a CA would hand back. */
async function caSigned(names: string[], notBefore: Date, days = 90): Promise<KeyAndCertificate> {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    subject: `CN=${names[0]}`,
    issuer: 'CN=Test CA',
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY),
    signingAlgorithm: ALG,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  return { certificatePem: cert.toString('pem') + '\n', privateKeyPem: await exportPrivateKeyPem(leafKeys.privateKey) };
}

let work: string;
let count = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lookout-tls-ensure-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function storeHolding(certificate?: StoredCertificate): Promise<SecretStore> {
  count += 1;
  const store = new SecretStore(fileStore(join(work, `s${count}`)), 'test', 'pw');
  if (certificate) await store.set(TLS_CERTIFICATE_SECRET, certificate);
  return store;
}

const now = new Date('2026-11-21T12:00:00Z');

describe('ensureCertificate', () => {
  it('issues and stores a certificate when there is none', async () => {
    const store = await storeHolding();
    const fresh = await caSigned(NAMES, now);
    const result = await ensureCertificate({ store, names: NAMES, now, acmeDirectory: DIRECTORY, issue: async () => fresh });
    expect(result).toMatchObject({ reused: false, reason: 'missing' });
    expect(result.info.names).toEqual(NAMES);
    expect(await store.get(TLS_CERTIFICATE_SECRET)).toEqual({ ...fresh, acmeDirectory: DIRECTORY });
  });

  it('reuses a stored certificate with less than two thirds of its life behind it, without issuing', async () => {
    const stored = { ...(await caSigned(NAMES, new Date(now.getTime() - 59 * DAY))), acmeDirectory: DIRECTORY };
    let issued = 0;
    const result = await ensureCertificate({
      store: await storeHolding(stored),
      names: [...NAMES].reverse(),
      now,
      acmeDirectory: DIRECTORY,
      issue: async () => ((issued += 1), caSigned(NAMES, now)),
    });
    expect(issued).toBe(0);
    expect(result).toMatchObject({ reused: true, certificate: stored });
    expect(result.reason).toBeUndefined();
  });

  it('renews once two thirds have passed, when forced, for other names, from another CA, and over a placeholder', async () => {
    const cases: Array<[string, StoredCertificate, { force?: boolean; names?: string[] }]> = [
      ['two-thirds-elapsed', { ...(await caSigned(NAMES, new Date(now.getTime() - 61 * DAY))), acmeDirectory: DIRECTORY }, {}],
      ['forced', { ...(await caSigned(NAMES, now)), acmeDirectory: DIRECTORY }, { force: true }],
      ['names-changed', { ...(await caSigned(instanceCertificateNames('old.example.com'), now)), acmeDirectory: DIRECTORY }, {}],
      ['ca-changed', { ...(await caSigned(NAMES, now)), acmeDirectory: 'https://acme-staging.example/directory' }, {}],
      ['self-signed', await selfSignedCertificate(NAMES, { now }), {}],
    ];
    for (const [reason, stored, extra] of cases) {
      const store = await storeHolding(stored);
      const fresh = await caSigned(NAMES, now);
      const result = await ensureCertificate({ store, names: NAMES, now, acmeDirectory: DIRECTORY, ...extra, issue: async () => fresh });
      expect({ reason: result.reason, reused: result.reused }).toEqual({ reason, reused: false });
      expect((await store.get<StoredCertificate>(TLS_CERTIFICATE_SECRET))?.certificatePem).toBe(fresh.certificatePem);
    }
  });

  it('refuses and does not store a certificate for other names than asked', async () => {
    const store = await storeHolding();
    const err = await ensureCertificate({
      store,
      names: NAMES,
      now,
      issue: async () => caSigned(['other.example.com'], now),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe('the CA issued a certificate for other.example.com, not for *.obs.example.com, obs.example.com');
    expect(await store.get(TLS_CERTIFICATE_SECRET)).toBeUndefined();
  });
});
