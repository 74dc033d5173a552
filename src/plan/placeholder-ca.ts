/** What the offline plan and the stack tests show for a cluster's CA: never a real one. */

/** Base64 of a PEM block shaped like the CA a managed cluster returns; the body is a placeholder, not a key. */
export function placeholderCertificateAuthorityData(clusterName: string): string {
  const body = Buffer.from(`lookout plan placeholder CA for ${clusterName} `.repeat(12)).toString('base64');
  const lines = body.match(/.{1,64}/g) ?? [];
  return Buffer.from(`-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`).toString('base64');
}
