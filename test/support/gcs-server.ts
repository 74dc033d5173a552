/**
 * A GCS emulator on loopback for tests: fake-gcs-server (BSD-2-Clause), built from its pinned
 * Go module, in memory, plain HTTP. It speaks the storage JSON API with generation
 * preconditions on uploads (`ifGenerationMatch`), which the shared state's lock and journal
 * need. One gap, checked by hand against v1.56.1: it ignores `ifGenerationMatch` on DELETE, so
 * a conditional delete is tested against recorded HTTP (test/unit/state-gcs-conditional.test.ts).
 */
import { gaxios } from 'google-auth-library';
import type { GcsHttp } from '../../src/pulumi/gcs-store.js';
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
  process: RunningProcess;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** What code under test needs to reach the emulator, as Google's clients and the Pulumi engine read it. */
export function gcsEnvironment(gcs: GcsServer): Record<string, string> {
  // The engine's GCS backend wants credentials even for an emulator; a static token satisfies it.
  return { STORAGE_EMULATOR_HOST: gcs.host, GOOGLE_OAUTH_ACCESS_TOKEN: 'emulator' };
}

export async function startGcsServer(options: { buckets?: string[] } = {}): Promise<GcsServer> {
  const binaries = gcsServerBinaries();
  if (binaries.missing) throw new Error(binaries.missing);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const endpoint = `http://${host}`;
  const http = new gaxios.Gaxios() as unknown as GcsHttp;
  const proc = await startProcess(
    binaries.paths['fake-gcs-server']!,
    ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'memory', '-log-level', 'error', '-external-url', endpoint],
    async () => {
      try {
        await http.request({ url: `${endpoint}/storage/v1/b`, method: 'GET', params: { project: 'test' } });
        return true;
      } catch {
        return false;
      }
    },
    { what: 'fake-gcs-server', deadlineMs: 30_000 },
  );
  const server: GcsServer = {
    endpoint,
    host,
    http,
    process: proc,
    async createBucket(name) {
      await http.request({ url: `${endpoint}/storage/v1/b`, method: 'POST', params: { project: 'test' }, data: JSON.stringify({ name }), headers: { 'Content-Type': 'application/json' } });
    },
    stop: () => proc.stop(),
  };
  for (const bucket of options.buckets ?? []) await server.createBucket(bucket);
  return server;
}
