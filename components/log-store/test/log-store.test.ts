import * as k8s from '@pulumi/kubernetes';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { bundleManifestSchema } from '../../../src/bundle/manifest.js';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';
import {
  containersWithoutResources,
  kubernetesObjects,
  kubernetesTypeOf,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  workloads,
} from '../../../test/support/kubernetes.js';
import { configChecksum } from '@lookout/kube';
import { S3_COMPATIBLE_CONNECTION } from '../../../test/support/object-storage.js';
import { LogStore, renderLokiConfig, renderLokiRuntimeConfig, type LogStoreArgs, type LogTenantLimits } from '../src/index.js';

// Read directly: `loadBundle` resolves `bundles/` relative to the compiled dist/ layout.
const bundle = bundleManifestSchema.parse(
  JSON.parse(readFileSync(new URL('../../../bundles/2026.11.0.json', import.meta.url), 'utf8')),
);

const TENANTS: LogTenantLimits[] = [
  { name: 'system', ingestionRateMB: 8, retentionDays: 14 },
  { name: 'acme', ingestionRateMB: 4, retentionDays: 30 },
];

function argsWith(overrides: Partial<LogStoreArgs> = {}): LogStoreArgs {
  return {
    namespace: 'lookout',
    image: bundle.components.loki.image,
    storage: { backend: 's3', region: 'eu-west-1', bucket: 'lookout-prod-logs-1a2b3c4d' },
    tenants: TENANTS,
    sizing: bundle.sizing.loki,
    storageClassName: 'gp3',
    ...overrides,
  };
}

interface Run {
  resources: MockedResource[];
  outputs: Record<string, string>;
}

async function render(args: LogStoreArgs): Promise<Run> {
  const result = await runProgramUnderMocks(
    async () => {
      const provider = new k8s.Provider('k8s', { kubeconfig: 'unused-under-mocks' });
      const store = new LogStore('loki', args, { provider });
      return {
        pushUrl: store.pushUrl,
        queryUrl: store.queryUrl,
        backendUrl: store.backendUrl,
        config: store.config,
        runtimeConfig: store.runtimeConfig,
        serviceAccountName: store.serviceAccountName,
      };
    },
    { project: 'lookout', stack: 'test-platform' },
  );
  // The mock runtime resolves the Outputs to their values.
  return { resources: result.resources, outputs: result.outputs as unknown as Record<string, string> };
}

const kindOf = (r: MockedResource) => kubernetesTypeOf(r.type)!.kind;
const byKindAndName = (run: Run, kind: string, name: string): MockedResource => {
  const found = kubernetesObjects(run.resources).filter((r) => kindOf(r) === kind && r.inputs.metadata?.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
};
const podSpec = (r: MockedResource) => r.inputs.spec.template.spec;
const container = (r: MockedResource) => podSpec(r).containers[0];

describe('LogStore', () => {
  let run: Run;
  beforeAll(async () => {
    run = await render(argsWith());
  });

  it('renders only valid Kubernetes objects, every one through the given provider', () => {
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    const objects = kubernetesObjects(run.resources);
    expect(objects.length).toBeGreaterThan(0);
    for (const r of objects) {
      expect(r.parentType, r.name).toBe('lookout:k8s:LogStore');
      expect(r.provider, r.name).toMatch(/::k8s::/);
      expect(r.inputs.metadata.namespace, r.name).toBe('lookout');
    }
  });

  it('keeps the resource count low: 17 objects in one component', () => {
    const counts: Record<string, number> = {};
    for (const r of kubernetesObjects(run.resources)) counts[kindOf(r)] = (counts[kindOf(r)] ?? 0) + 1;
    expect(counts).toEqual({ ServiceAccount: 1, ConfigMap: 2, Service: 5, StatefulSet: 2, Deployment: 1, PodDisruptionBudget: 3, NetworkPolicy: 3 });
    expect(run.resources.filter((r) => r.type === 'lookout:k8s:LogStore')).toHaveLength(1);
    const components = run.resources.filter((r) => !r.custom);
    expect(components.map((r) => r.type)).toEqual(['lookout:k8s:LogStore']);
  });

  it('limits the egress of each target to the other Loki pods, the bucket, and for the ruler the Alertmanager', () => {
    const policies = kubernetesObjects(run.resources).filter((r) => kindOf(r) === 'NetworkPolicy');
    expect(policies.map((p) => p.inputs.metadata.name).sort()).toEqual(['loki-backend-egress', 'loki-read-egress', 'loki-write-egress']);
    for (const p of policies) {
      const spec = p.inputs.spec;
      expect(spec.policyTypes).toEqual(['Egress']);
      // DNS, then the other Loki pods.
      expect(spec.egress[0].to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
      expect(spec.egress[1]).toEqual({
        to: [{ podSelector: { matchLabels: { 'lookout.dev/gossip-ring': 'loki' } } }],
        ports: [3100, 9095, 7946].map((port) => ({ protocol: 'TCP', port })),
      });
      // The bucket over HTTPS, never to a private, shared or link-local address.
      const bucket = spec.egress.find((r: any) => r.to[0].ipBlock)!;
      expect(spec.egress).toHaveLength(p.inputs.metadata.name === 'loki-backend-egress' ? 4 : 3);
      expect(bucket.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
      for (const cidr of ['10.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10']) expect(bucket.to[0].ipBlock.except).toContain(cidr);
      const toAlertmanager = spec.egress.some((r: any) => r.to.some((x: any) => x.podSelector?.matchLabels?.['app.kubernetes.io/component'] === 'alertmanager'));
      expect(toAlertmanager, p.inputs.metadata.name).toBe(p.inputs.metadata.name === 'loki-backend-egress');
    }
    expect(() => new LogStore('bad', argsWith({ alertmanagerUrl: 'http://am.example:9093' }))).toThrow(/alertmanagerEgress is required/);
  });

  it('sets requests and a memory limit on every container, privileges none, and covers every served workload with a PDB', () => {
    expect(workloads(run.resources)).toHaveLength(3);
    expect(containersWithoutResources(run.resources)).toEqual([]);
    expect(unexpectedPrivilegedContainers(run.resources)).toEqual([]);
    expect(servingWorkloadsWithoutPdb(run.resources)).toEqual([]);
    for (const w of workloads(run.resources)) {
      const spec = podSpec(w);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of spec.containers) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.readinessProbe.httpGet.path).toBe('/ready');
        expect(c.livenessProbe.httpGet).toBeDefined();
        // Every path Loki writes to is a volume: the data directory and /tmp.
        expect(c.volumeMounts.filter((m: { readOnly?: boolean }) => !m.readOnly).map((m: { mountPath: string }) => m.mountPath).sort()).toEqual([
          '/tmp',
          '/var/loki',
        ]);
      }
    }
  });

  it('runs the write path as a StatefulSet with a WAL volume, started in parallel and spread over zones', () => {
    const write = byKindAndName(run, 'StatefulSet', 'loki-write');
    expect(write.inputs.spec.replicas).toBe(bundle.sizing.loki.write.replicas);
    expect(write.inputs.spec.podManagementPolicy).toBe('Parallel');
    expect(write.inputs.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }),
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'gp3', resources: { requests: { storage: bundle.sizing.loki.write.storage } } },
      }),
    ]);
    expect(container(write).args).toContain('-target=write');
    expect(podSpec(write).terminationGracePeriodSeconds).toBeGreaterThanOrEqual(300);
    const zone = podSpec(write).topologySpreadConstraints.find((t: { topologyKey: string }) => t.topologyKey === 'topology.kubernetes.io/zone');
    expect(zone.whenUnsatisfiable).toBe('DoNotSchedule');

    const backend = byKindAndName(run, 'StatefulSet', 'loki-backend');
    expect(container(backend).args).toContain('-target=backend');
    expect(backend.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe(bundle.sizing.loki.backend.storage);
    const read = byKindAndName(run, 'Deployment', 'loki-read');
    expect(container(read).args).toContain('-target=read');
    expect(podSpec(read).volumes.find((v: { name: string }) => v.name === 'data')).toEqual({ name: 'data', emptyDir: {} });
    for (const w of [write, backend, read]) {
      expect(container(w).image).toBe(`docker.io/grafana/loki:${bundle.components.loki.image.tag}`);
      expect(container(w).args).toContain('-config.file=/etc/loki/config/config.yaml');
    }
  });

  it('runs every pod as the `loki` service account the pod identity is bound to', () => {
    const sa = byKindAndName(run, 'ServiceAccount', 'loki');
    // Pod Identity needs the service account token mounted; nothing may opt out of it.
    expect(sa.inputs.automountServiceAccountToken).not.toBe(false);
    for (const w of workloads(run.resources)) {
      expect(podSpec(w).serviceAccountName).toBe('loki');
      expect(podSpec(w).automountServiceAccountToken).not.toBe(false);
    }
    expect(run.outputs.serviceAccountName).toBe('loki');
    // A workload identity needs no keys and, on this cloud, no annotation.
    expect(sa.inputs.metadata.annotations).toBeUndefined();
    for (const w of workloads(run.resources)) expect(container(w).env, w.name).toBeUndefined();
  });

  it('annotates the service account for a workload identity, and hands S3 keys from a Secret to every pod', async () => {
    const annotations = { 'iam.gke.io/gcp-service-account': 'logs@project.iam.gserviceaccount.com' };
    const gcs = await render(argsWith({ storage: { backend: 'gcs', bucket: 'lookout-prod-logs' }, serviceAccountAnnotations: annotations }));
    expect(byKindAndName(gcs, 'ServiceAccount', 'loki').inputs.metadata.annotations).toEqual(annotations);
    expect(YAML.parse(gcs.outputs.config).common.storage).toEqual({ gcs: { bucket_name: 'lookout-prod-logs' } });

    const keyed = await render(argsWith({ storage: { ...S3_COMPATIBLE_CONNECTION, bucket: 'logs' } }));
    expect(workloads(keyed.resources)).toHaveLength(3);
    for (const w of workloads(keyed.resources)) {
      expect(container(w).env, w.name).toEqual([
        { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'access-key-id' } } },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'secret-access-key' } } },
      ]);
    }
    expect(validateKubernetesObjects(keyed.resources)).toEqual([]);
  });

  it('mounts exactly the renderer’s config, and rolls pods when it changes', () => {
    const config = byKindAndName(run, 'ConfigMap', 'loki-config');
    const expected = renderLokiConfig({ namespace: 'lookout', storage: { backend: 's3', region: 'eu-west-1', bucket: 'lookout-prod-logs-1a2b3c4d' } });
    expect(config.inputs.data).toEqual({ 'config.yaml': expected });
    expect(run.outputs.config).toBe(expected);
    const runtime = byKindAndName(run, 'ConfigMap', 'loki-runtime');
    expect(runtime.inputs.data).toEqual({ 'runtime-config.yaml': renderLokiRuntimeConfig(TENANTS) });
    expect(YAML.parse(runtime.inputs.data['runtime-config.yaml']).overrides.system.retention_period).toBe('336h');
    for (const w of workloads(run.resources)) {
      expect(w.inputs.spec.template.metadata.annotations['checksum/config']).toBe(configChecksum(expected));
      const volumes = podSpec(w).volumes.map((v: { configMap?: { name: string } }) => v.configMap?.name).filter(Boolean);
      expect(volumes.sort()).toEqual(['loki-config', 'loki-runtime']);
    }
  });

  it('changes only the runtime ConfigMap when the tenants change', async () => {
    const other = await render(argsWith({ tenants: [...TENANTS, { name: 'globex', ingestionRateMB: 2, ingestionBurstMB: 5, retentionDays: 7 }] }));
    const keyed = (r: Run) => new Map(kubernetesObjects(r.resources).map((o) => [`${o.type}::${o.name}`, o.inputs]));
    const before = keyed(run);
    const after = keyed(other);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = [...before.keys()].filter((k) => JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k)));
    expect(changed).toEqual(['kubernetes:core/v1:ConfigMap::loki-runtime']);
    expect(YAML.parse(other.outputs.runtimeConfig).overrides.globex).toEqual({
      ingestion_rate_mb: 2,
      ingestion_burst_size_mb: 5,
      retention_period: '168h',
    });
  });

  it('rolls the pods when the static config changes', async () => {
    const other = await render(argsWith({ storage: { backend: 's3', region: 'eu-west-1', bucket: 'another-bucket' } }));
    const checksum = (r: Run) => workloads(r.resources).map((w) => w.inputs.spec.template.metadata.annotations['checksum/config']);
    expect(new Set(checksum(other)).size).toBe(1);
    expect(checksum(other)[0]).not.toBe(checksum(run)[0]);
  });

  it('exposes the contract Services, a headless backend for index gateways and the gossip ring', () => {
    for (const name of ['loki-write', 'loki-read', 'loki-backend']) {
      const svc = byKindAndName(run, 'Service', name);
      expect(svc.inputs.spec.ports.map((p: { port: number }) => p.port)).toEqual([3100, 9095]);
      expect(svc.inputs.spec.clusterIP).toBeUndefined();
      // The provider's await of a Service with pods behind it is kept.
      expect(svc.inputs.metadata.annotations?.['pulumi.com/skipAwait']).toBeUndefined();
    }
    const headless = byKindAndName(run, 'Service', 'loki-backend-headless');
    expect(headless.inputs.spec).toMatchObject({ clusterIP: 'None', selector: byKindAndName(run, 'Service', 'loki-backend').inputs.spec.selector });
    const gossip = byKindAndName(run, 'Service', 'loki-gossip');
    expect(gossip.inputs.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, ports: [expect.objectContaining({ port: 7946 })] });
    // The gossip Service reaches every Loki pod, and each other Service exactly one target.
    for (const w of workloads(run.resources)) {
      const podLabels = w.inputs.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(gossip.inputs.spec.selector)) expect(podLabels[k]).toBe(v);
    }
    // Headless ones skip the provider's await, whose informer can hand back a copy older than
    // the apply (@lookout/kube headless-service.ts).
    for (const svc of [headless, gossip]) expect(svc.inputs.metadata.annotations).toMatchObject({ 'pulumi.com/skipAwait': 'true' });
    expect(run.outputs).toMatchObject({
      pushUrl: 'http://loki-write.lookout.svc.cluster.local:3100/loki/api/v1/push',
      queryUrl: 'http://loki-read.lookout.svc.cluster.local:3100',
      backendUrl: 'http://loki-backend.lookout.svc.cluster.local:3100',
    });
  });

  it('refuses sizing it cannot run', () => {
    const sizing = bundle.sizing.loki;
    expect(() => new LogStore('x', argsWith({ sizing: { ...sizing, write: { ...sizing.write, replicas: 2 } } }))).toThrow(/at least 3/);
    const { storage: _unused, ...noStorage } = sizing.backend;
    expect(() => new LogStore('x', argsWith({ sizing: { ...sizing, backend: noStorage } }))).toThrow(/backend.storage/);
    expect(() => new LogStore('x', argsWith({ tenants: [...TENANTS, TENANTS[0]!] }))).toThrow(/listed twice/);
  });
});
