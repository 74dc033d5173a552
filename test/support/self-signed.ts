/**
 * Self-signed certificates for the test servers (pebble's HTTPS, nginx, stub gateways): real
 * X.509 certificates made with the same library the CLI reads certificates with.
 */
import { randomBytes } from 'node:crypto';
import { webcrypto, x509, type CryptoKey, type CryptoKeyPair } from '../../src/tls/crypto.js';
import type { KeyAndCertificate } from '../../src/tls/certificate.js';

export type { KeyAndCertificate };

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function selfSignedCertificate(
  names: string[],
  options: { days?: number; now?: Date; isCa?: boolean } = {},
): Promise<KeyAndCertificate> {
  const now = options.now ?? new Date();
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${names[0]}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (options.days ?? 90) * 86_400_000),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(options.isCa ?? false, undefined, true),
      new x509.KeyUsagesExtension(
        options.isCa
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
          : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  return { certificatePem: cert.toString('pem') + '\n', privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}
