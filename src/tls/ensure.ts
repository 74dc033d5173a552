/**
 * The instance certificate, issued only when needed: a stored certificate is reused while it
 * covers the same names, comes from the same CA directory and has less than two thirds of its
 * lifetime behind it. A resumed or repeated `create`, and an `upgrade`, thus place no order at
 * all; Let's Encrypt allows 5 duplicate certificates a week.
 */
import { FailureError } from '../errors.js';
import type { SecretStore } from '../state/secret-store.js';
import { describeCertificate, renewalReason, type CertificateInfo, type RenewalReason } from './certificate.js';
import type { KeyAndCertificate } from './certificate.js';

export const TLS_CERTIFICATE_SECRET = 'tls.certificate';

/** What the SecretStore holds under `tls.certificate`. */
export interface StoredCertificate extends KeyAndCertificate {
  /** The ACME directory that issued it; absent for certificates stored by older code. */
  acmeDirectory?: string;
}

/** Why a new certificate is needed: the renewal rule's reasons, plus a change of CA and a self-signed placeholder. */
export type EnsureReason = RenewalReason | 'ca-changed' | 'self-signed';

export interface EnsureCertificateOptions {
  store: SecretStore;
  /** `instanceCertificateNames(domain)`. */
  names: readonly string[];
  now?: Date;
  /** `--force`: issue a new one even if the stored one is good. */
  force?: boolean;
  /** The directory the certificate should come from; a stored one from another directory is replaced. */
  acmeDirectory?: string;
  /** Issues a new certificate (issueCertificate with the instance's settings). */
  issue: () => Promise<KeyAndCertificate>;
}

export interface EnsureCertificateResult {
  reused: boolean;
  info: CertificateInfo;
  /** Why it was issued; undefined when reused. */
  reason?: EnsureReason;
  certificate: StoredCertificate;
}

/** The stored certificate and its facts, or undefined when there is none. */
export async function readStoredCertificate(store: SecretStore): Promise<{ certificate: StoredCertificate; info: CertificateInfo } | undefined> {
  const certificate = await store.get<StoredCertificate>(TLS_CERTIFICATE_SECRET);
  if (!certificate?.certificatePem || !certificate.privateKeyPem) return undefined;
  try {
    return { certificate, info: await describeCertificate(certificate.certificatePem) };
  } catch {
    // A damaged entry is as good as none: a new certificate replaces it.
    return undefined;
  }
}

export function reasonToIssue(
  stored: { certificate: StoredCertificate; info: CertificateInfo } | undefined,
  options: Pick<EnsureCertificateOptions, 'names' | 'now' | 'force' | 'acmeDirectory'>,
): EnsureReason | undefined {
  const now = options.now ?? new Date();
  const reason = renewalReason(stored?.info, [...options.names], now, options.force ?? false);
  if (reason || !stored) return reason;
  if (stored.info.selfSigned) return 'self-signed';
  if (options.acmeDirectory && stored.certificate.acmeDirectory && stored.certificate.acmeDirectory !== options.acmeDirectory) return 'ca-changed';
  return undefined;
}

export async function ensureCertificate(options: EnsureCertificateOptions): Promise<EnsureCertificateResult> {
  const stored = await readStoredCertificate(options.store);
  const reason = reasonToIssue(stored, options);
  if (stored && reason === undefined) return { reused: true, info: stored.info, certificate: stored.certificate };

  const issued = await options.issue();
  const info = await describeCertificate(issued.certificatePem);
  const wanted = [...options.names].sort();
  if (info.names.length !== wanted.length || info.names.some((n, i) => n !== wanted[i])) {
    throw new FailureError(`the CA issued a certificate for ${info.names.join(', ')}, not for ${wanted.join(', ')}`, {
      hint: 'The certificate was not stored. Check the CA (tls.acmeDirectory), then run the command again.',
    });
  }
  const certificate: StoredCertificate = {
    certificatePem: issued.certificatePem,
    privateKeyPem: issued.privateKeyPem,
    ...(options.acmeDirectory ? { acmeDirectory: options.acmeDirectory } : {}),
  };
  await options.store.set(TLS_CERTIFICATE_SECRET, certificate);
  return { reused: false, info, reason: reason ?? 'missing', certificate };
}
