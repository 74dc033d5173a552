/**
 * Certificate pinning in the probe client: the connection is kept only when the server's
 * leaf is exactly the instance certificate, whoever issued it.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCertificate } from '../../src/tls/certificate.js';
import { selfSignedCertificate } from '../support/self-signed.js';
import { ProbeClient, ProbeTransportError } from '../../src/verify/client.js';

let server: Server;
let port: number;
let served: { certificatePem: string; fingerprint: string };
let other: string;
const seenPaths: string[] = [];

beforeAll(async () => {
  const cert = await selfSignedCertificate(['acme.obs.example.test', '*.obs.example.test']);
  served = { certificatePem: cert.certificatePem, fingerprint: (await describeCertificate(cert.certificatePem)).fingerprintSha256 };
  other = (await describeCertificate((await selfSignedCertificate(['acme.obs.example.test'])).certificatePem)).fingerprintSha256;
  server = createServer({ cert: cert.certificatePem, key: cert.privateKeyPem }, (req, res) => {
    seenPaths.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('pinned probe connections', () => {
  it('accept the pinned certificate although no CA vouches for it', async () => {
    const client = new ProbeClient({ address: '127.0.0.1', port, pinnedCertificateSha256: served.fingerprint });
    const res = await client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/pinned' });
    client.close();
    expect(res.status).toBe(200);
    expect(seenPaths).toContain('/pinned');
  });

  it('refuse any other certificate before sending the request', async () => {
    const client = new ProbeClient({ address: '127.0.0.1', port, pinnedCertificateSha256: other });
    const err = await client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/refused', token: 'lk_acme_secret' }).catch((e: unknown) => e);
    client.close();
    expect(err).toBeInstanceOf(ProbeTransportError);
    expect((err as Error).message).toMatch(/is not the instance certificate/);
    expect((err as Error).message).not.toContain('lk_acme_secret');
    expect(seenPaths).not.toContain('/refused');
  });

  it('without a pin, the untrusted certificate is refused as before', async () => {
    const client = new ProbeClient({ address: '127.0.0.1', port });
    const err = await client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/unpinned' }).catch((e: unknown) => e);
    client.close();
    expect(err).toBeInstanceOf(ProbeTransportError);
    expect(seenPaths).not.toContain('/unpinned');
  });
});
