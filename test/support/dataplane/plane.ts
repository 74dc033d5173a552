/**
 * A running data plane on 127.0.0.1, started from what `lookout plan --render` writes: Cortex in
 * the bundle's microservices layout with its rings on memberlist, versitygw as the S3 store, and
 * the real nginx gateway with its generated config in front, for the system tenant and the
 * config's tenants. The only changes to the rendered files are those of `rewrite.ts`.
 *
 * Layout: every Cortex workload the platform renders runs as its own process with its rendered
 * args. Ingesters run at their rendered replica count, because the replication factor (3)
 * needs a write quorum of 2 of them; every other workload runs once, since its extra replicas
 * exercise no other config section and this machine has two cores. The Alertmanager, ruler and
 * store-gateway rings ignore missing replicas (Cortex's IgnoreUnhealthyInstances strategy).
 *
 * Object storage is what the rendered config's backend says: versitygw for `s3`, fake-gcs-server
 * for `gcs` (Cortex's gcs config names no endpoint: STORAGE_EMULATOR_HOST in the processes'
 * environment points Google's client at the emulator, and GCE_METADATA_HOST at a stub of the
 * metadata server that Workload Identity provides on GKE, for a dummy token; see gcs-server.ts).
 *
 * Upgrades: a second plane started on the same `workDir` and `storeDir` (from another bundle's
 * render, with that bundle's Cortex) finds what the first left, as Kubernetes keeps a
 * StatefulSet's volumes and the bucket across a rolling update: each StatefulSet pod
 * (`cortex-ingester-0`…) gets its directory back (WAL, TSDB blocks, ring tokens), and the store
 * serves the same objects.
 *
 * Not here: Loki (AGPL, not built) and Grafana; the gateway's routes to them end at a stub that
 * answers 503, and the verify probe runs its metrics checks only (see tests/README).
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ProbeClient } from '../../../src/verify/client.js';
import { freePort, killProcessTree, startProcess, type RunningProcess } from '../processes.js';
import { startGcsServer, type GcsServer } from '../gcs-server.js';
import { startS3Server, type S3Server } from '../s3-server.js';
import { startRenderedGateway } from './gateway.js';
import { readRenderedPlatform, type CortexWorkload, type RenderedPlatform } from './rendered.js';
import {
  LOOPBACK,
  localizeArgs,
  parseCortexYaml,
  rewriteCortexConfig,
  type CortexPlaneAddresses,
  type ServiceResolver,
} from './rewrite.js';

export interface CortexProcess {
  /** The pod name it stands for: `cortex-ingester-0`. */
  instanceId: string;
  target: string;
  httpPort: number;
  grpcPort: number;
  gossipPort: number;
  dataDir: string;
  configFile: string;
  args: string[];
  running?: RunningProcess;
}

export interface DataPlaneTenant {
  tenant: string;
  host: string;
  token: string;
}

export interface DataPlane {
  rendered: RenderedPlatform;
  domain: string;
  tenants: DataPlaneTenant[];
  gateway: { port: number; internalPort: number; ca: string };
  cortex: CortexProcess[];
  /** The S3 server; throws when the config's backend is gcs (see `store`). */
  s3: S3Server;
  /** The GCS emulator, when the config's backend is gcs. */
  gcs?: GcsServer;
  /** The bucket contents, whichever the backend. */
  store: ObjectStoreView;
  buckets: { blocks: string; rules: string };
  /** The runtime config file every Cortex process reads (the runtime ConfigMap's mount). */
  runtimeConfigFile: string;
  /** From the first process started to the gateway answering through to a ready Cortex. */
  startupMs: number;
  /** `http://127.0.0.1:<port>` of the first process of a target. */
  url(target: string): string;
  processes(target: string): CortexProcess[];
  /** Replaces the runtime config as a ConfigMap update does: atomically. */
  writeRuntimeConfig(content: string): void;
  /** Gives a stopped process an empty data directory, as a pod whose volume was lost. */
  replaceVolume(proc: CortexProcess): void;
  start(proc: CortexProcess): Promise<void>;
  /** SIGTERM (graceful, as Kubernetes stops a pod) or SIGKILL (a crash). */
  stop(proc: CortexProcess, how: 'graceful' | 'kill'): Promise<void>;
  /** A probe client for the gateway's public listener. */
  client(): ProbeClient;
  /** The nginx master process. */
  gatewayProcess(): RunningProcess | undefined;
  /** The gateway's tenants directory, as the tenant stacks fill the mounted Secret; nginx reads it on SIGHUP. */
  gatewayTenantsDir: string;
  shutdown(): Promise<void>;
}

export interface ObjectStoreView {
  backend: 's3' | 'gcs';
  /** Every object name in a bucket. */
  listKeys(bucket: string): Promise<string[]>;
  read(bucket: string, key: string): Promise<Buffer>;
}

export interface DataPlaneOptions {
  /** The directory a `lookout plan --render` wrote. */
  renderDir: string;
  cortex: string;
  nginx: string;
  /** A private directory for data, configs and logs. */
  workDir: string;
  /** Where the object store keeps its buckets; they stay when the plane stops (default: a temporary directory, removed). */
  storeDir?: string;
  /** Domain of the tenant hosts (the config's `dns.domain`). */
  domain: string;
  readyDeadlineMs?: number;
}

/** Each workload's local replica count: the rendered one for ingesters (their write quorum), else one. */
function localReplicas(w: CortexWorkload): number {
  return w.target === 'ingester' ? w.replicas : 1;
}

function tenantsOf(renderDir: string): string[] {
  return readdirSync(renderDir)
    .map((d) => /-tenant-([a-z0-9-]+)$/.exec(d)?.[1])
    .filter((t): t is string => t !== undefined)
    .sort();
}

/** GET on loopback; the status, or 0 when nothing answers. */
export function localStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: LOOPBACK, port, path, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Answers every request for the stores not run here (Loki, Grafana) with 503, naming why. */
async function startAbsentStoreStub(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(503, { 'Content-Type': 'text/plain' }).end('not run in this data plane (Loki is AGPL; Grafana is not built)\n');
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Where each rendered Service is on loopback: a Cortex Service at the first local process of the
 * component it selects, on the port its targetPort names; everything that is not Cortex (Loki,
 * the tenants' Grafanas) at the stub for absent stores.
 */
export function localServices(rendered: Pick<RenderedPlatform, 'namespace' | 'services'>, cortex: readonly Pick<CortexProcess, 'target' | 'httpPort' | 'grpcPort' | 'gossipPort'>[], absentStorePort: number): ServiceResolver {
  return ({ name, namespace, port }) => {
    if (!name.startsWith('cortex-') || namespace !== rendered.namespace) return `${LOOPBACK}:${absentStorePort}`;
    const service = rendered.services.find((s) => s.name === name);
    const proc = service?.component ? cortex.find((p) => p.target === service.component) : undefined;
    const targetPort = service?.ports.find((p) => p.port === port)?.targetPort;
    if (!proc || !targetPort) return undefined;
    const local = ({ 'http-metrics': proc.httpPort, http: proc.httpPort, grpc: proc.grpcPort, gossip: proc.gossipPort } as Record<string, number>)[targetPort];
    return local === undefined ? undefined : `${LOOPBACK}:${local}`;
  };
}

function s3Store(s3: S3Server): ObjectStoreView {
  return {
    backend: 's3',
    async listKeys(bucket) {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        out.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return out;
    },
    async read(bucket, key) {
      return Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    },
  };
}

export async function startDataPlane(options: DataPlaneOptions): Promise<DataPlane> {
  const started = performance.now();
  const rendered = readRenderedPlatform(options.renderDir);
  const work = options.workDir;
  const etc = join(work, 'etc-cortex');
  const etcRuntime = join(work, 'etc-cortex-runtime');
  for (const d of [etc, etcRuntime]) mkdirSync(d, { recursive: true });
  const runtimeConfigFile = join(etcRuntime, 'runtime.yaml');
  writeFileSync(join(etc, 'alertmanager-fallback.yaml'), rendered.alertmanagerFallback);
  writeFileSync(runtimeConfigFile, rendered.runtimeConfig);

  type Storage = { backend: 's3' | 'gcs'; s3?: { bucket_name: string; region: string }; gcs?: { bucket_name: string } };
  const config = parseCortexYaml(rendered.cortexConfig) as { blocks_storage: Storage; ruler_storage: Storage };
  const backend = config.blocks_storage.backend;
  if (config.ruler_storage.backend !== backend) throw new Error(`data plane: blocks on ${backend} but rules on ${config.ruler_storage.backend}`);
  const buckets = { blocks: config.blocks_storage[backend]!.bucket_name, rules: config.ruler_storage[backend]!.bucket_name };
  const stopOnFailure: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const f of stopOnFailure.reverse()) await f().catch(() => undefined);
  };

  try {
    const storeOptions = { buckets: [buckets.blocks, buckets.rules], ...(options.storeDir ? { dataDir: options.storeDir } : {}) };
    const s3 = backend === 's3' ? await startS3Server({ ...storeOptions, region: config.blocks_storage.s3!.region }) : undefined;
    const gcs = backend === 'gcs' ? await startGcsServer(storeOptions) : undefined;
    stopOnFailure.push(() => (s3 ?? gcs)!.stop());
    const stub = await startAbsentStoreStub();
    stopOnFailure.push(() => stub.close());

    const cortex: CortexProcess[] = [];
    for (const w of rendered.cortexWorkloads) {
      for (let i = 0; i < localReplicas(w); i++) {
        const instanceId = w.kind === 'StatefulSet' ? `${w.name}-${i}` : `${w.name}-${randomBytes(3).toString('hex')}`;
        const dataDir = join(work, instanceId);
        mkdirSync(dataDir, { recursive: true });
        const configFile = join(etc, `${instanceId}.yaml`);
        cortex.push({
          instanceId,
          target: w.target,
          httpPort: await freePort(),
          grpcPort: await freePort(),
          gossipPort: await freePort(),
          dataDir,
          configFile,
          args: localizeArgs(w.args, configFile),
        });
      }
    }
    const byTarget = (target: string) => cortex.filter((p) => p.target === target);
    const services = localServices(rendered, cortex, stub.port);
    const plane: CortexPlaneAddresses = {
      configDir: etc,
      runtimeConfigDir: etcRuntime,
      // Unused for gcs, whose client finds the emulator through its environment.
      s3Endpoint: s3 ? new URL(s3.endpoint).host : '',
      gossipMembers: cortex.map((p) => `${LOOPBACK}:${p.gossipPort}`),
      services,
    };
    for (const p of cortex) {
      writeFileSync(p.configFile, rewriteCortexConfig(rendered.cortexConfig, plane, p));
    }
    // Only what Cortex's S3 client needs: the store's keys (its default credential chain reads
    // them first, so it never asks an instance metadata service off loopback).
    // For gcs, the emulator's address and the loopback metadata stub that stands for Workload Identity.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, ...(s3 ? { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey } : gcs!.env) };
    const deadlineMs = options.readyDeadlineMs ?? 240_000;
    const start = async (p: CortexProcess) => {
      p.running = await startProcess(options.cortex, p.args, async () => (await localStatus(p.httpPort, '/ready')) === 200, {
        what: `cortex ${p.instanceId}`,
        deadlineMs,
        env,
      });
    };
    const stop = async (p: CortexProcess, how: 'graceful' | 'kill') => {
      const running = p.running;
      p.running = undefined;
      if (!running) return;
      if (how === 'kill') await killProcessTree(running.child);
      else await running.stop();
    };
    stopOnFailure.push(() => Promise.all(cortex.map((p) => stop(p, 'kill'))).then(() => undefined));
    await Promise.all(cortex.map(start));

    // Ready when a tenant's PromQL query goes through the gateway to a ready Cortex.
    const gateway = await startRenderedGateway({
      nginx: options.nginx,
      config: rendered.nginxConfig,
      tenants: tenantsOf(options.renderDir),
      domain: options.domain,
      services,
      dir: join(work, 'gateway'),
      ready: async (client, t) =>
        (await client.request({ method: 'GET', host: t.host, path: '/prometheus/api/v1/query?query=vector(1)', token: t.token, timeoutMs: 5_000 })).status === 200,
    });
    const nginx = gateway.process;
    stopOnFailure.push(() => nginx.stop());
    const startupMs = performance.now() - started;

    return {
      rendered,
      domain: options.domain,
      tenants: gateway.tenants,
      gateway: { port: gateway.port, internalPort: gateway.internalPort, ca: gateway.ca },
      cortex,
      get s3(): S3Server {
        if (!s3) throw new Error(`this data plane stores on ${backend}, not s3: use plane.store`);
        return s3;
      },
      ...(gcs ? { gcs } : {}),
      store: s3 ? s3Store(s3) : { backend: 'gcs', listKeys: (b) => gcs!.listKeys(b), read: (b, k) => gcs!.read(b, k) },
      buckets,
      runtimeConfigFile,
      startupMs,
      url: (target) => `http://${LOOPBACK}:${byTarget(target)[0]!.httpPort}`,
      processes: byTarget,
      writeRuntimeConfig(content) {
        const temp = `${runtimeConfigFile}.new`;
        writeFileSync(temp, content);
        renameSync(temp, runtimeConfigFile);
      },
      start,
      stop,
      replaceVolume(p) {
        if (p.running) throw new Error(`${p.instanceId} is running; stop it first`);
        p.dataDir = join(work, `${p.instanceId}-${randomBytes(3).toString('hex')}`);
        mkdirSync(p.dataDir, { recursive: true });
        writeFileSync(p.configFile, rewriteCortexConfig(rendered.cortexConfig, plane, p));
      },
      client: () => new ProbeClient(gateway.connection),
      gatewayProcess: () => nginx,
      gatewayTenantsDir: gateway.tenantsDir,
      shutdown: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
