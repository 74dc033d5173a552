/**
 * A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager
 * and kube-scheduler, started by kwokctl's binary runtime from the pinned builds, with kwok
 * simulating nodes and pod readiness (no kubelets, no containers). Everything binds to
 * 127.0.0.1 and lives in a temporary directory that `stop()` removes.
 *
 * Two cloud controllers that a real cluster would have are played by the harness itself, in
 * this process, through the API server:
 * - a volume provisioner for the `kwok-local` StorageClass (StatefulSets need bound claims to
 *   be scheduled), and
 * - a load-balancer controller that gives `LoadBalancer` Services an address, as MetalLB or
 *   a cloud would.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor as pWaitFor } from '../../src/wait-for.js';
import YAML from 'yaml';
import { KubeApiError, KubeClient, type KubeObject } from './kube-client.js';
import { testBinaries, type Binaries } from './test-binaries.js';

export const KWOK_STORAGE_CLASS = 'kwok-local';
const PROVISIONER = 'lookout.test/kwok-local';
export const NO_LOAD_BALANCER = 'lookout.test/no-load-balancer';

/** What the kwok cluster needs from the test binary cache. */
export function kwokBinaries(): Binaries {
  return testBinaries([
    'etcd',
    { name: 'kubernetes', binary: 'kube-apiserver' },
    { name: 'kubernetes', binary: 'kube-controller-manager' },
    { name: 'kubernetes', binary: 'kube-scheduler' },
    'kwok',
    { name: 'kwok', binary: 'kwokctl' },
  ]);
}

export interface KwokCluster {
  name: string;
  kubeconfigPath: string;
  kube: KubeClient;
  /** The version the API server reports, e.g. v1.34.4. */
  version: string;
  stop(): Promise<void>;
}

export interface KwokClusterOptions {
  nodes?: number;
  /** Play the load-balancer controller for `LoadBalancer` Services (default true). */
  loadBalancers?: boolean;
  /** How long the control plane may take to come up (default 3 minutes: 2 cores, cold caches). */
  deadlineMs?: number;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, deadlineMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

export async function startKwokCluster(options: KwokClusterOptions = {}): Promise<KwokCluster> {
  const binaries = kwokBinaries();
  if (binaries.missing) throw new Error(binaries.missing);
  const bin = binaries.paths;
  const workdir = mkdtempSync(join(tmpdir(), 'lookout-kwok-'));
  const name = `lookout-${process.pid}`;
  const deadlineMs = options.deadlineMs ?? 180_000;
  // kwokctl keeps everything (pki, etcd data, logs, pids) under its work directory.
  const env = { ...process.env, KWOK_WORKDIR: workdir, HOME: workdir };
  const configPath = join(workdir, 'kwokctl.yaml');
  writeFileSync(
    configPath,
    YAML.stringify({
      apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
      kind: 'KwokctlConfiguration',
      options: {
        runtime: 'binary',
        bindAddress: '127.0.0.1',
        securePort: true,
        kubeAuthorization: true,
        kubeAdmission: true,
        disableQPSLimits: true,
        kubeVersion: 'v1.34.4',
        etcdBinary: bin.etcd,
        kubeApiserverBinary: bin['kube-apiserver'],
        kubeControllerManagerBinary: bin['kube-controller-manager'],
        kubeSchedulerBinary: bin['kube-scheduler'],
        kwokControllerBinary: bin.kwok,
        // Nothing may be fetched: kwokctl would otherwise download what it lacks.
        quietPull: true,
      },
    }),
  );
  const kubeconfigPath = join(workdir, 'kubeconfig');
  const kwokctl = bin.kwokctl!;
  const stopAll = async () => {
    await run(kwokctl, ['delete', 'cluster', '--name', name, '--kubeconfig', kubeconfigPath], env, 60_000).catch(() => {});
    rmSync(workdir, { recursive: true, force: true });
  };
  let kube: KubeClient | undefined;
  const controllers = new AbortController();
  try {
    await run(
      kwokctl,
      ['create', 'cluster', '--name', name, '--config', configPath, '--kubeconfig', kubeconfigPath, '--wait', `${Math.round(deadlineMs / 1000)}s`, '--timeout', `${Math.round(deadlineMs / 1000)}s`],
      env,
      deadlineMs + 30_000,
    );
    kube = new KubeClient(kubeconfigPath);
    const client = kube;
    await createNodes(client, options.nodes ?? 3, deadlineMs);
    await client.create('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: KWOK_STORAGE_CLASS },
      provisioner: PROVISIONER,
      volumeBindingMode: 'Immediate',
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
    });
    void client.watch('/api/v1/persistentvolumeclaims', (type, pvc) => provisionVolume(client, type, pvc), controllers.signal);
    void client.watch('/api/v1/persistentvolumes', (type, pv) => reclaimVolume(client, type, pv), controllers.signal);
    if (options.loadBalancers ?? true) {
      void client.watch('/api/v1/services', (type, svc) => assignLoadBalancer(client, type, svc), controllers.signal);
    }
    const version = (await client.get<{ gitVersion: string }>('/version')).gitVersion;
    return {
      name,
      kubeconfigPath,
      kube: client,
      version,
      async stop() {
        controllers.abort();
        client.close();
        await stopAll();
      },
    };
  } catch (err) {
    controllers.abort();
    kube?.close();
    await stopAll();
    throw err;
  }
}

/** Nodes kwok manages (its default selector is this annotation), ready and schedulable. */
/** `deadlineMs`: the control plane's; under load (2 cores shared) kwok's node controller may take more than a minute. */
async function createNodes(kube: KubeClient, count: number, deadlineMs: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await kube.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: `kwok-node-${i}`,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: {
          'kubernetes.io/hostname': `kwok-node-${i}`,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': `zone-${i % 3}`,
          type: 'kwok',
        },
      },
      spec: { taints: [] },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '250' },
        capacity: { cpu: '32', memory: '256Gi', pods: '250' },
      },
    });
  }
  await pWaitFor(
    async () => {
      const nodes = await kube.list<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>('/api/v1/nodes');
      return nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length >= count;
    },
    { interval: 200, timeout: { milliseconds: deadlineMs, message: `kwok did not make the nodes Ready within ${Math.round(deadlineMs / 1000)} s` } },
  );
}

type Pvc = KubeObject & {
  spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } }; volumeName?: string };
  status?: { phase?: string };
};

async function provisionVolume(kube: KubeClient, type: string, pvc: KubeObject): Promise<void> {
  const claim = pvc as Pvc;
  if (type === 'DELETED' || claim.spec.storageClassName !== KWOK_STORAGE_CLASS || claim.spec.volumeName) return;
  if (claim.metadata.deletionTimestamp) return;
  const name = `pv-${claim.metadata.uid}`;
  try {
    await kube.create('/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: KWOK_STORAGE_CLASS,
        hostPath: { path: `/kwok/${name}` },
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      },
    });
  } catch (err) {
    if (!(err instanceof KubeApiError && err.status === 409)) throw err;
  }
}

/** A released volume of the class is deleted, as its provisioner would. */
async function reclaimVolume(kube: KubeClient, type: string, pv: KubeObject): Promise<void> {
  const volume = pv as KubeObject & { spec: { storageClassName?: string }; status?: { phase?: string } };
  if (type === 'DELETED' || volume.spec.storageClassName !== KWOK_STORAGE_CLASS) return;
  if (volume.status?.phase !== 'Released' && volume.status?.phase !== 'Failed') return;
  await kube.delete(`/api/v1/persistentvolumes/${volume.metadata.name}`).catch(() => {});
}

async function assignLoadBalancer(kube: KubeClient, type: string, svc: KubeObject): Promise<void> {
  const service = svc as KubeObject & { spec: { type?: string }; status?: { loadBalancer?: { ingress?: unknown[] } } };
  if (type === 'DELETED' || service.spec.type !== 'LoadBalancer' || service.status?.loadBalancer?.ingress?.length) return;
  // A test that needs an update to stay in progress asks for a load balancer that never comes.
  if (service.metadata.annotations?.[NO_LOAD_BALANCER] === 'true') return;
  await kube
    .mergePatch(`/api/v1/namespaces/${service.metadata.namespace}/services/${service.metadata.name}/status`, {
      status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } },
    })
    .catch(() => {});
}
