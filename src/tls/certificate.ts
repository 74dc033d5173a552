/**
 * Facts about a PEM certificate (names, validity, fingerprint) and the renewal rule: a
 * certificate is reused while it covers the same names and less than two thirds of its
 * lifetime has passed. Let's Encrypt allows 5 duplicate certificates a week, so needless
 * re-issues are real outages waiting to happen.
 */
import { x509 } from './crypto.js';

/** A certificate chain and its private key, PEM. */
export interface KeyAndCertificate {
  /** PEM, leaf first then any chain. */
  certificatePem: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** DNS names from the subjectAltName extension, sorted. */
  names: string[];
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
  selfSigned: boolean;
}

/** The certificate of a PEM bundle: the first block is the leaf. */
export function leafOf(pemBundle: string): x509.X509Certificate {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pemBundle);
  if (!first) throw new Error('no PEM certificate found');
  return new x509.X509Certificate(first[0]);
}

export async function describeCertificate(pemBundle: string): Promise<CertificateInfo> {
  const cert = leafOf(pemBundle);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = (san?.names.items ?? []).filter((n) => n.type === 'dns').map((n) => n.value).sort();
  const thumbprint = Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex');
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    names,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    fingerprintSha256: thumbprint,
    selfSigned: cert.subject === cert.issuer,
  };
}

/** The names one instance certificate covers: the domain and every host below it. */
export function instanceCertificateNames(domain: string): string[] {
  return [domain, `*.${domain}`].sort();
}

export type RenewalReason = 'missing' | 'names-changed' | 'two-thirds-elapsed' | 'expired' | 'forced';

/** Why the certificate must be (re)issued now, or undefined when it can be reused. */
export function renewalReason(info: CertificateInfo | undefined, wantedNames: string[], now: Date, force = false): RenewalReason | undefined {
  if (!info) return 'missing';
  if (force) return 'forced';
  const wanted = [...wantedNames].sort();
  if (wanted.length !== info.names.length || wanted.some((n, i) => n !== info.names[i])) return 'names-changed';
  const start = Date.parse(info.notBefore);
  const end = Date.parse(info.notAfter);
  if (now.getTime() >= end) return 'expired';
  if (now.getTime() >= start + ((end - start) * 2) / 3) return 'two-thirds-elapsed';
  return undefined;
}

/** When the renewal rule will next ask for a new certificate. */
export function renewalDue(info: CertificateInfo): Date {
  const start = Date.parse(info.notBefore);
  const end = Date.parse(info.notAfter);
  return new Date(start + ((end - start) * 2) / 3);
}
