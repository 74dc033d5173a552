/**
 * A GCS emulator on loopback for tests: fake-gcs-server (BSD-2-Clause), built from its pinned Go
 * module, over plain HTTP with its filesystem backend. Google's Go storage client (the one in
 * Cortex's objstore) talks to it when STORAGE_EMULATOR_HOST names it: that variable switches the
 * client to the emulator's JSON API without authentication, so no credentials exist here at all.
 * The tests read the buckets through the same JSON API, with plain fetch.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess, type RunningProcess } from './processes.js';
import { testBinaries, type Binaries } from './test-binaries.js';

export function gcsServerBinaries(): Binaries {
  return testBinaries(['fake-gcs-server']);
}

export interface GcsServer {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The environment that points Google's storage clients at this server. */
  env: { STORAGE_EMULATOR_HOST: string };
  /** Every object name in a bucket, all pages. */
  listKeys(bucket: string): Promise<string[]>;
  /** One object's content. */
  read(bucket: string, key: string): Promise<Buffer>;
  process: RunningProcess;
  stop(): Promise<void>;
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
    if (owned) rmSync(owned, { recursive: true, force: true });
    throw err;
  }
  const existing = ((await (await ok(await fetch(`${api}/b`), 'list buckets')).json()) as { items?: Array<{ name: string }> }).items?.map((b) => b.name) ?? [];
  for (const bucket of (options.buckets ?? []).filter((b) => !existing.includes(b))) {
    await ok(await fetch(`${api}/b?project=lookout-test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: bucket }) }), `create bucket ${bucket}`);
  }
  return {
    endpoint,
    env: { STORAGE_EMULATOR_HOST: endpoint },
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
      if (owned) rmSync(owned, { recursive: true, force: true });
    },
  };
}
