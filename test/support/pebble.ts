/**
 * A real pebble (Let's Encrypt's test CA) on free loopback ports for tests. Its HTTPS
 * certificate is made by the test (a self-signed one for `localhost`); it validates DNS-01
 * challenges by asking the given DNS server (bind9 in the tests), without its random sleeps.
 * Every request is logged by pebble, so a test can count the orders it received.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeServer, type DnsServer } from '../../src/dns/query.js';
import { selfSignedCertificate } from './self-signed.js';
import { findExecutable, freePort, startProcess, type RunningProcess } from './processes.js';

export const PEBBLE_INSTALL = 'sudo apt-get install pebble';

export function pebbleMissing(): string | undefined {
  return findExecutable('pebble') ? undefined : `pebble not installed (${PEBBLE_INSTALL})`;
}

export interface PebbleOptions {
  /** The DNS server pebble asks for challenge records. */
  dnsServer: DnsServer;
  /** Extra environment, e.g. `PEBBLE_AUTHZREUSE`. */
  env?: Record<string, string>;
  /** External Account Binding keys (kid → base64url HMAC key); when given, EAB is required. */
  externalAccountMacKeys?: Record<string, string>;
}

export interface Pebble {
  directoryUrl: string;
  /** PEM of pebble's HTTPS certificate: the CA bundle for the ACME server's own HTTPS. */
  httpsCaPem: string;
  /** Pebble's issuing root, from its management API (`/roots/0`). */
  rootPem(): Promise<string>;
  /** New-order requests pebble received so far, counted in its request log. */
  newOrderCount(): number;
  log(): string;
  stop(): Promise<void>;
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { ca, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const pebble = findExecutable('pebble');
  if (!pebble) throw new Error(pebbleMissing());
  const dir = await mkdtemp(join(tmpdir(), 'lookout-pebble-'));
  const tls = await selfSignedCertificate(['localhost'], { days: 1 });
  await writeFile(join(dir, 'cert.pem'), tls.certificatePem);
  await writeFile(join(dir, 'key.pem'), tls.privateKeyPem, { mode: 0o600 });
  const [acmePort, managementPort] = [await freePort(), await freePort()];
  const eab = options.externalAccountMacKeys;
  await writeFile(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        // Challenge ports of types the tests never use; set so they cannot clash with other suites.
        httpPort: await freePort(),
        tlsPort: await freePort(),
        ocspResponderURL: '',
        externalAccountBindingRequired: eab !== undefined,
        ...(eab ? { externalAccountMACKeys: eab } : {}),
        certificateValidityPeriod: 90 * 86_400,
      },
    }),
  );
  const { address, port } = options.dnsServer;
  const directoryUrl = `https://localhost:${acmePort}/dir`;
  let running: RunningProcess;
  try {
    running = await startProcess(
      pebble,
      ['-config', join(dir, 'pebble.json'), '-dnsserver', `${address}:${port}`, '-strict=false'],
      async () => (await httpsGet(directoryUrl, tls.certificatePem).catch(() => ({ status: 0 }))).status === 200,
      {
        what: `pebble (DNS ${describeServer(options.dnsServer)})`,
        deadlineMs: 10_000,
        env: {
          ...process.env,
          PEBBLE_VA_NOSLEEP: '1',
          // Deterministic tests: no spurious badNonce, and every order needs its own challenges.
          PEBBLE_WFE_NONCEREJECT: '0',
          PEBBLE_AUTHZREUSE: '0',
          ...options.env,
        },
      },
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async (): Promise<void> => {
    await running.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return {
    directoryUrl,
    httpsCaPem: tls.certificatePem,
    rootPem: async () => {
      const res = await httpsGet(`https://localhost:${managementPort}/roots/0`, tls.certificatePem);
      if (res.status !== 200) throw new Error(`pebble /roots/0 answered ${res.status}: ${res.body}`);
      return res.body;
    },
    newOrderCount: () => running.output().split('\n').filter((line) => /POST \/order-plz\b/.test(line)).length,
    log: () => running.output(),
    stop,
  };
}
