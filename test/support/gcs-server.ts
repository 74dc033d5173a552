/**
 * A GCS emulator on loopback for tests: fake-gcs-server (BSD-2-Clause), built from its pinned Go
 * module, over plain HTTP with its filesystem backend. Google's Go storage client (the one in
 * Cortex's objstore) talks to it when STORAGE_EMULATOR_HOST names it.
 *
 * Credentials: Thanos objstore (Cortex v1.19 and v1.21) wraps the client's HTTP transport in
 * Google's default credentials before the client reads STORAGE_EMULATOR_HOST, and fails at start
 * when there are none. On GKE, Workload Identity provides them: a metadata server that hands
 * the pod its service account's token. Here a stub of that server on loopback (named by
 * GCE_METADATA_HOST, as the Google libraries read it) hands out a dummy token, which the
 * emulator never checks. So no key and no real token exists anywhere in the test.
 *
 * The tests read the buckets through the emulator's JSON API, with plain fetch. The shared-state
 * suites use it through Lookout's own GCS client (`http`), which needs the generation
 * preconditions on uploads (`ifGenerationMatch`) that it implements. One gap, checked by hand
 * against v1.56.1: it ignores `ifGenerationMatch` on DELETE, so a conditional delete is tested
 * against recorded HTTP (test/unit/state-gcs-conditional.test.ts).
 */
import { gaxios } from 'google-auth-library';
import type { GcsHttp } from '../../src/pulumi/gcs-store.js';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type RunningProcess } from './processes.js';
import { testBinaries, type Binaries } from './test-binaries.js';

export function gcsServerBinaries(): Binaries {
  return testBinaries(['fake-gcs-server']);
}

export interface GcsServer {
  /** `http://127.0.0.1:<port>`, the API root. */
  endpoint: string;
  /** `127.0.0.1:<port>`, as STORAGE_EMULATOR_HOST takes it. */
  host: string;
  /** An unauthenticated client, as Lookout uses against an emulator. */
  http: GcsHttp;
  createBucket(name: string): Promise<void>;
  /** The environment that points Google's storage clients at this server, with the metadata stub for their credentials. */
  env: { STORAGE_EMULATOR_HOST: string; GCE_METADATA_HOST: string };
  /** How many tokens the metadata stub has handed out. */
  tokensIssued(): number;
  /** Every object name in a bucket, all pages. */
  listKeys(bucket: string): Promise<string[]>;
  /** One object's content. */
  read(bucket: string, key: string): Promise<Buffer>;
  process: RunningProcess;
  stop(): Promise<void>;
}

/** The part of the GKE metadata server that Google's credential lookup asks: project ID and the default account's token. */
async function startMetadataStub(): Promise<{ host: string; tokensIssued(): number; close(): Promise<void> }> {
  let issued = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://metadata').pathname;
    // The real server answers only requests that carry this header (a guard against SSRF), and so does this one.
    if (req.headers['metadata-flavor'] !== 'Google') return void res.writeHead(403).end();
    res.setHeader('Metadata-Flavor', 'Google');
    if (path === '/computeMetadata/v1/project/project-id') return void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('lookout-test');
    if (path === '/computeMetadata/v1/instance/service-accounts/default/token') {
      issued++;
      return void res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: `test-${randomBytes(12).toString('hex')}`, expires_in: 3600, token_type: 'Bearer' }));
    }
    // Everything else (the universe domain, for one) is "not defined": the libraries take their defaults.
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    tokensIssued: () => issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What code under test needs to reach the emulator, as Google's clients and the Pulumi engine read it. */
export function gcsEnvironment(gcs: GcsServer): Record<string, string> {
  // The engine's GCS backend wants credentials even for an emulator; a static token satisfies it.
  return { STORAGE_EMULATOR_HOST: gcs.host, GOOGLE_OAUTH_ACCESS_TOKEN: 'emulator' };
}

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`fake-gcs-server: ${what} → ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return res;
}

/**
 * Starts the emulator and creates the buckets that do not exist yet. With `dataDir`, the objects
 * live there and stay when it stops, so a later server on the same directory serves them again.
 */
export async function startGcsServer(options: { buckets?: string[]; dataDir?: string } = {}): Promise<GcsServer> {
  const binaries = gcsServerBinaries();
  if (binaries.missing) throw new Error(binaries.missing);
  const owned = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'lookout-gcs-')) : undefined;
  const dataDir = options.dataDir ?? join(owned!, 'data');
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const api = `${endpoint}/storage/v1`;
  const metadata = await startMetadataStub();
  let proc: RunningProcess;
  try {
    proc = await startProcess(
      binaries.paths['fake-gcs-server']!,
      // -public-host and -external-url: the upload URLs it hands out name this address, not storage.googleapis.com.
      ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'filesystem', '-filesystem-root', dataDir, '-public-host', `127.0.0.1:${port}`, '-external-url', endpoint, '-log-level', 'warn'],
      async () => {
        try {
          return (await fetch(`${api}/b`)).ok;
        } catch {
          return false;
        }
      },
      { what: 'fake-gcs-server', deadlineMs: 30_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
  } catch (err) {
    await metadata.close();
    if (owned) rmSync(owned, { recursive: true, force: true });
    throw err;
  }
  const createBucket = async (bucket: string) => {
    await ok(await fetch(`${api}/b?project=lookout-test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: bucket }) }), `create bucket ${bucket}`);
  };
  const existing = ((await (await ok(await fetch(`${api}/b`), 'list buckets')).json()) as { items?: Array<{ name: string }> }).items?.map((b) => b.name) ?? [];
  for (const bucket of (options.buckets ?? []).filter((b) => !existing.includes(b))) await createBucket(bucket);
  return {
    endpoint,
    host: `127.0.0.1:${port}`,
    http: new gaxios.Gaxios() as unknown as GcsHttp,
    createBucket,
    env: { STORAGE_EMULATOR_HOST: endpoint, GCE_METADATA_HOST: metadata.host },
    tokensIssued: metadata.tokensIssued,
    async listKeys(bucket) {
      const keys: string[] = [];
      let pageToken: string | undefined;
      do {
        const query = new URLSearchParams(pageToken ? { pageToken } : {});
        const page = (await (await ok(await fetch(`${api}/b/${encodeURIComponent(bucket)}/o?${query}`), `list ${bucket}`)).json()) as { items?: Array<{ name: string }>; nextPageToken?: string };
        keys.push(...(page.items ?? []).map((o) => o.name));
        pageToken = page.nextPageToken;
      } while (pageToken);
      return keys;
    },
    async read(bucket, key) {
      return Buffer.from(await (await ok(await fetch(`${api}/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}?alt=media`), `read ${bucket}/${key}`)).arrayBuffer());
    },
    process: proc,
    async stop() {
      await proc.stop();
      await metadata.close();
      if (owned) rmSync(owned, { recursive: true, force: true });
    },
  };
}
