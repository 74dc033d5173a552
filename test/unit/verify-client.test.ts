/**
 * The probe's HTTP client on loopback: it reaches a tenant's virtual host (SNI, Host,
 * certificate name) through another address, trusts the instance's own certificate besides
 * the public roots, and ends requests on timeout and on abort.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate, type KeyAndCertificate } from '../support/self-signed.js';
import { ProbeClient, ProbeTransportError } from '../../src/verify/client.js';

interface Seen {
  servername?: string;
  host?: string;
  authorization?: string;
  method?: string;
  path?: string;
  body: string;
}

let cert: KeyAndCertificate;
let otherCert: KeyAndCertificate;
const servers: http.Server[] = [];

beforeAll(async () => {
  cert = await selfSignedCertificate(['*.obs.example.test', 'obs.example.test']);
  otherCert = await selfSignedCertificate(['*.elsewhere.test']);
});

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(tls: KeyAndCertificate | null, respond: 'ok' | 'hang' = 'ok'): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        servername: (req.socket as TLSSocket).servername || undefined,
        host: req.headers.host,
        authorization: req.headers.authorization,
        method: req.method,
        path: req.url,
        body: Buffer.concat(chunks).toString(),
      });
      if (respond === 'hang') return;
      res.writeHead(201, { 'X-Stub': 'yes' });
      res.end('created');
    });
  };
  const server = tls ? https.createServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, listener) : http.createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

async function transportError(promise: Promise<unknown>): Promise<ProbeTransportError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProbeTransportError);
  return err as ProbeTransportError;
}

describe('ProbeClient', () => {
  it("speaks to the tenant's host through another address: SNI, Host and token", async () => {
    const { port, seen } = await serve(cert);
    const client = new ProbeClient({ address: '127.0.0.1', port, ca: cert.certificatePem });
    const res = await client.request({
      method: 'POST',
      host: 'acme.obs.example.test',
      path: '/api/v1/push?x=1',
      token: 'tok-123',
      headers: { 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    client.close();
    expect(res.status).toBe(201);
    expect(res.headers['x-stub']).toBe('yes');
    expect(res.body.toString()).toBe('created');
    expect(seen).toEqual([
      { servername: 'acme.obs.example.test', host: 'acme.obs.example.test', authorization: 'Bearer tok-123', method: 'POST', path: '/api/v1/push?x=1', body: 'hello' },
    ]);
  });

  it('still trusts the public roots when given an extra CA, and checks the name against the tenant host', async () => {
    const { port } = await serve(otherCert);
    const client = new ProbeClient({ address: '127.0.0.1', port, ca: [cert.certificatePem, otherCert.certificatePem] });
    // Trusted issuer, wrong name: the certificate is for *.elsewhere.test.
    const err = await transportError(client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/' }));
    client.close();
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(new RegExp(`could not reach 127\\.0\\.0\\.1:${port}: Hostname/IP does not match certificate's altnames`));
  });

  it('refuses a certificate nobody vouched for', async () => {
    const { port, seen } = await serve(cert);
    const client = new ProbeClient({ address: '127.0.0.1', port });
    const err = await transportError(client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/', token: 'secret-token-value' }));
    client.close();
    expect(err.message).toMatch(/self[- ]signed certificate/);
    expect(err.message).not.toContain('secret-token-value');
    expect(seen).toEqual([]);
  });

  it('times out a request that gets no answer', async () => {
    const { port } = await serve(null, 'hang');
    const client = new ProbeClient({ address: '127.0.0.1', port, protocol: 'http' });
    const started = performance.now();
    const err = await transportError(client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/', timeoutMs: 150 }));
    client.close();
    expect(err.kind).toBe('timeout');
    expect(err.message).toBe(`no complete response from 127.0.0.1:${port} within 150 ms`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('ends a request when its signal is aborted', async () => {
    const { port, seen } = await serve(null, 'hang');
    const client = new ProbeClient({ address: '127.0.0.1', port, protocol: 'http' });
    const controller = new AbortController();
    const pending = client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/', signal: controller.signal, timeoutMs: 30_000 });
    // Abort once the server has the request, so the abort interrupts a request in flight.
    await expect.poll(() => seen.length, { timeout: 5_000, interval: 10 }).toBe(1);
    controller.abort();
    const err = await transportError(pending);
    client.close();
    expect(err.kind).toBe('aborted');
  });

  it('reports a refused connection with the address it tried', async () => {
    const { port } = await serve(null);
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    const client = new ProbeClient({ address: '127.0.0.1', port, protocol: 'http' });
    const err = await transportError(client.request({ method: 'GET', host: 'acme.obs.example.test', path: '/' }));
    client.close();
    expect(err.message).toMatch(new RegExp(`could not reach 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });
});
