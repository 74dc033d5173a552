/**
 * A certificate the user provides (for example from a private CA) instead of one from ACME:
 * it must cover the instance's names, match its key and still be valid. It is stored where an
 * issued one would be, so the platform reads it the same way; a new file replaces it.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { FailureError } from '../errors.js';
import type { SecretStore } from '../state/secret-store.js';
import { describeCertificate, renewalDue, type CertificateInfo, type KeyAndCertificate } from './certificate.js';
import { TLS_CERTIFICATE_SECRET, readStoredCertificate } from './ensure.js';

export interface ProvidedCertificateResult {
  reused: boolean;
  info: CertificateInfo;
  warnings: string[];
}

/** Throws unless the key is the certificate's. */
function checkKeyMatches(pair: KeyAndCertificate): void {
  let matches = false;
  try {
    const certKey = new X509Certificate(pair.certificatePem).publicKey.export({ type: 'spki', format: 'der' });
    const ownKey = createPublicKey(createPrivateKey(pair.privateKeyPem)).export({ type: 'spki', format: 'der' });
    matches = Buffer.compare(certKey, ownKey) === 0;
  } catch (err) {
    throw new FailureError(`the provided certificate or key cannot be read: ${(err as Error).message}`, { hint: 'Give PEM files: the certificate (then its chain) and its private key.' });
  }
  if (!matches) throw new FailureError('the provided private key does not belong to the provided certificate', { hint: 'Give the key the certificate was issued for.' });
}

export async function storeProvidedCertificate(store: SecretStore, pair: KeyAndCertificate, names: readonly string[], now = new Date()): Promise<ProvidedCertificateResult> {
  checkKeyMatches(pair);
  const info = await describeCertificate(pair.certificatePem);
  const missing = names.filter((n) => !info.names.includes(n));
  if (missing.length > 0) {
    throw new FailureError(`the provided certificate does not cover ${missing.join(' and ')} (it covers ${info.names.join(', ') || 'no DNS names'})`, {
      hint: 'Issue it for the domain and its wildcard, e.g. obs.example.com and *.obs.example.com.',
    });
  }
  if (new Date(info.notAfter) <= now || new Date(info.notBefore) > now) {
    throw new FailureError(`the provided certificate is not valid now (valid from ${info.notBefore} to ${info.notAfter})`, { hint: 'Provide a current certificate.' });
  }
  const warnings = renewalDue(info) <= now ? [`the provided certificate expires on ${info.notAfter.slice(0, 10)}: replace the files and run \`lookout upgrade\``] : [];
  const stored = await readStoredCertificate(store);
  if (stored?.certificate.certificatePem === pair.certificatePem && stored.certificate.privateKeyPem === pair.privateKeyPem) {
    return { reused: true, info, warnings };
  }
  await store.set(TLS_CERTIFICATE_SECRET, { certificatePem: pair.certificatePem, privateKeyPem: pair.privateKeyPem });
  return { reused: false, info, warnings };
}
