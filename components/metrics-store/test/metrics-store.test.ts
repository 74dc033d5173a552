import * as k8s from '@pulumi/kubernetes';
import { configChecksum } from '@lookout/kube';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleManifestSchema } from '../../../src/bundle/manifest.js';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';
import {
  containersWithoutResources,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  workloads,
} from '../../../test/support/kubernetes.js';
import { renderAlertmanagerFallbackConfig, renderCortexConfig } from '../src/config.js';
import { MetricsStore, type MetricsStoreArgs } from '../src/metrics-store.js';
import { renderRuntimeConfig, type TenantLimits } from '../src/runtime-config.js';
import { GCS, OPTIONS, S3_COMPATIBLE } from './support.js';

// Read directly: `loadBundle` resolves `bundles/` relative to the compiled dist/ layout.
const bundle = bundleManifestSchema.parse(
  JSON.parse(readFileSync(new URL('../../../bundles/2026.11.0.json', import.meta.url), 'utf8')),
);
const TENANTS: TenantLimits[] = [
  { id: 'system', samplesPerSecond: 50_000, activeSeries: 500_000, retentionDays: 30 },
  { id: 'acme', samplesPerSecond: 20_000, activeSeries: 200_000, retentionDays: 90 },
];

function storeArgs(overrides: Partial<MetricsStoreArgs> = {}): MetricsStoreArgs {
  return {
    namespace: OPTIONS.namespace,
    image: bundle.components.cortex.image,
    storage: OPTIONS.storage,
    alertmanagerExternalUrl: OPTIONS.alertmanagerExternalUrl,
    tenants: TENANTS,
    sizing: bundle.sizing.cortex,
    storageClassName: 'gp3',
    clusterCidrs: OPTIONS.clusterCidrs,
    ...overrides,
  };
}

async function render(args: MetricsStoreArgs) {
  return runProgramUnderMocks(
    async () => {
      const provider = new k8s.Provider('k8s', { kubeconfig: '{}' });
      const store = new MetricsStore('metrics', args, { provider });
      return {
        distributorUrl: store.distributorUrl,
        queryFrontendUrl: store.queryFrontendUrl,
        rulerUrl: store.rulerUrl,
        alertmanagerUrl: store.alertmanagerUrl,
        config: store.config,
        runtimeConfig: store.runtimeConfig,
      };
    },
    { project: 'lookout-test', stack: 'platform' },
  );
}

const kindOf = (r: MockedResource) => r.type.split(':').pop()!;
const named = (resources: MockedResource[], kind: string, name: string) => {
  const found = resources.filter((r) => kindOf(r) === kind && r.inputs.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
};

describe('MetricsStore', async () => {
  const run = await render(storeArgs());
  const objects = run.resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));

  it('renders only Kubernetes objects that are valid against the OpenAPI schemas', () => {
    expect(objects.length).toBeGreaterThan(0);
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
  });

  const EXPORTER = 'cortex-overrides-exporter';
  /** The eight Cortex workloads, without the overrides exporter. */
  const cortexWorkloads = () => workloads(run.resources).filter((w) => w.inputs.metadata.name !== EXPORTER);

  it('gives every container resources, no privilege and a read-only root filesystem', () => {
    expect(containersWithoutResources(run.resources)).toEqual([]);
    expect(unexpectedPrivilegedContainers(run.resources)).toEqual([]);
    expect(workloads(run.resources)).toHaveLength(9);
    for (const w of workloads(run.resources)) {
      const spec = w.inputs.spec.template.spec;
      expect(spec.securityContext, w.name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of spec.containers) {
        expect(c.securityContext, `${w.name}/${c.name}`).toMatchObject({
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.resources.limits.memory, `${w.name}/${c.name}`).toBeTruthy();
        expect(c.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http-metrics' });
        expect(c.livenessProbe).toBeDefined();
        // Only volumes are writable.
        const mounts = c.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath).sort();
        expect(mounts).toEqual(w.inputs.metadata.name === EXPORTER ? ['/tmp'] : ['/data', '/tmp']);
      }
    }
  });

  it('serves metrics on a container port named http-metrics in every pod, so self-monitoring scrapes them', () => {
    for (const w of workloads(run.resources)) {
      const [container] = w.inputs.spec.template.spec.containers;
      expect(container.ports, w.name).toContainEqual({ name: 'http-metrics', containerPort: 8080, protocol: 'TCP' });
      expect(w.inputs.spec.template.metadata.labels, w.name).toMatchObject({ 'app.kubernetes.io/name': 'cortex' });
    }
    // Services keep their port name and reach the renamed container port (all but the gossip one).
    const httpServices = objects.filter((r) => kindOf(r) === 'Service' && r.inputs.metadata.name !== 'cortex-gossip');
    expect(httpServices).toHaveLength(9);
    for (const s of httpServices) {
      const http = s.inputs.spec.ports.find((p: any) => p.port === 8080);
      expect(http, s.inputs.metadata.name).toMatchObject({ name: 'http', targetPort: 'http-metrics' });
    }
  });

  it('runs one overrides exporter on the same configs, without bucket identity, ring or Service', () => {
    const exporter = named(objects, 'Deployment', EXPORTER);
    expect(exporter.inputs.spec.replicas).toBe(1);
    expect(exporter.inputs.spec.strategy).toEqual({ type: 'Recreate' });
    const pod = exporter.inputs.spec.template.spec;
    expect(pod.containers[0].args).toEqual(['-target=overrides-exporter', '-config.file=/etc/cortex/cortex.yaml']);
    expect(pod.containers[0].resources).toEqual({
      requests: bundle.sizing.cortex.overridesExporter.resources.requests,
      limits: bundle.sizing.cortex.overridesExporter.resources.limits,
    });
    expect(pod.volumes.map((v: any) => v.configMap?.name).filter(Boolean).sort()).toEqual(['cortex', 'cortex-runtime']);
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'runtime-config', mountPath: '/etc/cortex-runtime', readOnly: true });
    // No pod identity for the buckets, no API token, not in the memberlist cluster.
    expect(pod.serviceAccountName).toBeUndefined();
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(exporter.inputs.spec.template.metadata.labels['lookout.dev/gossip-ring']).toBeUndefined();
    expect(pod.containers[0].ports.map((p: any) => p.name)).toEqual(['http-metrics']);
    // Nothing selects it: no Service, and so (by the workload rules) no PodDisruptionBudget.
    const podLabels = exporter.inputs.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(objects.filter((r) => kindOf(r) === 'Service' && selects(r.inputs.spec.selector)).map((r) => r.inputs.metadata.name)).toEqual([]);
    expect(objects.filter((r) => kindOf(r) === 'PodDisruptionBudget' && selects(r.inputs.spec.selector.matchLabels))).toEqual([]);
  });

  it('protects every served Deployment and StatefulSet with a PodDisruptionBudget of one', () => {
    expect(servingWorkloadsWithoutPdb(run.resources)).toEqual([]);
    const pdbs = objects.filter((r) => kindOf(r) === 'PodDisruptionBudget');
    expect(pdbs).toHaveLength(8);
    for (const p of pdbs) expect(p.inputs.spec.maxUnavailable).toBe(1);
  });

  it('runs three ingesters as a StatefulSet with persistent WAL volumes, started in parallel and stopped slowly', () => {
    const ingester = named(objects, 'StatefulSet', 'cortex-ingester');
    expect(ingester.inputs.spec.replicas).toBe(3);
    expect(ingester.inputs.spec.podManagementPolicy).toBe('Parallel');
    expect(ingester.inputs.spec.volumeClaimTemplates).toEqual([
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'data' }),
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'gp3', resources: { requests: { storage: bundle.sizing.cortex.ingester.storage } } },
      }),
    ]);
    const pod = ingester.inputs.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(600);
    expect(pod.containers[0].args).toEqual(['-target=ingester', '-config.file=/etc/cortex/cortex.yaml']);
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  it('runs the stateful components as StatefulSets with volumes and the stateless ones as Deployments', () => {
    const kinds = Object.fromEntries(
      objects.filter((r) => ['StatefulSet', 'Deployment'].includes(kindOf(r))).map((r) => [r.inputs.metadata.name, kindOf(r)]),
    );
    expect(kinds).toEqual({
      'cortex-overrides-exporter': 'Deployment',
      'cortex-distributor': 'Deployment',
      'cortex-querier': 'Deployment',
      'cortex-query-frontend': 'Deployment',
      'cortex-ruler': 'Deployment',
      'cortex-ingester': 'StatefulSet',
      'cortex-store-gateway': 'StatefulSet',
      'cortex-compactor': 'StatefulSet',
      'cortex-alertmanager': 'StatefulSet',
    });
    for (const name of ['cortex-store-gateway', 'cortex-compactor', 'cortex-alertmanager']) {
      expect(named(objects, 'StatefulSet', name).inputs.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('gp3');
    }
  });

  it('spreads replicas over zones, hard for replicated stateful stores', () => {
    const whenUnsatisfiable = (kind: string, name: string) =>
      named(objects, kind, name).inputs.spec.template.spec.topologySpreadConstraints.find(
        (c: any) => c.topologyKey === 'topology.kubernetes.io/zone',
      ).whenUnsatisfiable;
    expect(whenUnsatisfiable('StatefulSet', 'cortex-ingester')).toBe('DoNotSchedule');
    expect(whenUnsatisfiable('StatefulSet', 'cortex-store-gateway')).toBe('DoNotSchedule');
    expect(whenUnsatisfiable('StatefulSet', 'cortex-alertmanager')).toBe('DoNotSchedule');
    expect(whenUnsatisfiable('StatefulSet', 'cortex-compactor')).toBe('ScheduleAnyway');
    expect(whenUnsatisfiable('Deployment', 'cortex-distributor')).toBe('ScheduleAnyway');
  });

  it("annotates an identity's ServiceAccount for a workload identity and renders GCS buckets", async () => {
    const annotations = { 'iam.gke.io/gcp-service-account': 'metrics@project.iam.gserviceaccount.com' };
    const gcs = await render(storeArgs({ storage: GCS, serviceAccountAnnotations: { blocks: annotations } }));
    const gcsObjects = gcs.resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));
    expect(named(gcsObjects, 'ServiceAccount', 'cortex').inputs.metadata.annotations).toEqual(annotations);
    expect(named(gcsObjects, 'ServiceAccount', 'cortex-ruler').inputs.metadata.annotations).toBeUndefined();
    expect(gcs.outputs.config).toContain('backend: gcs');
    expect(gcs.outputs.config).not.toContain('s3');
    expect(validateKubernetesObjects(gcs.resources)).toEqual([]);
  });

  it('gives the S3 keys of a Secret as environment variables to the pods that touch a bucket, and only to those', async () => {
    const compatible = await render(storeArgs({ storage: S3_COMPATIBLE }));
    const env = [
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'access-key-id' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'object-storage', key: 'secret-access-key' } } },
    ];
    const withBucket = ['cortex-ingester', 'cortex-querier', 'cortex-store-gateway', 'cortex-compactor', 'cortex-ruler', 'cortex-alertmanager'];
    for (const w of workloads(compatible.resources)) {
      // The distributors, query-frontends and the overrides exporter read no bucket: no keys.
      expect(w.inputs.spec.template.spec.containers[0].env, w.name).toEqual(withBucket.includes(w.inputs.metadata.name) ? env : undefined);
    }
    expect(compatible.outputs.config).toContain('bucket_lookup_type: path');
    expect(validateKubernetesObjects(compatible.resources)).toEqual([]);
  });

  it('runs each workload that touches a bucket as its identity, the ruler and Alertmanager apart from the blocks, and the rest with no token', () => {
    const expected: Record<string, string | undefined> = {
      'cortex-distributor': undefined,
      'cortex-ingester': 'cortex',
      'cortex-querier': 'cortex',
      'cortex-query-frontend': undefined,
      'cortex-store-gateway': 'cortex',
      'cortex-compactor': 'cortex',
      'cortex-ruler': 'cortex-ruler',
      'cortex-alertmanager': 'cortex-alertmanager',
      'cortex-overrides-exporter': undefined,
    };
    const pods = workloads(run.resources);
    expect(Object.fromEntries(pods.map((w) => [w.inputs.metadata.name, w.inputs.spec.template.spec.serviceAccountName]))).toEqual(expected);
    for (const w of pods) {
      const spec = w.inputs.spec.template.spec;
      // A pod without an account of its own gets no token (the namespace's default account's).
      expect(spec.automountServiceAccountToken, w.name).toBe(spec.serviceAccountName ? undefined : false);
    }
    for (const name of ['cortex', 'cortex-ruler', 'cortex-alertmanager']) {
      expect(named(objects, 'ServiceAccount', name).inputs.metadata.namespace).toBe('lookout');
      expect(named(objects, 'ServiceAccount', name).inputs.metadata.annotations).toBeUndefined();
    }
    // With a workload identity there are no keys anywhere in the pods.
    for (const w of pods) expect(w.inputs.spec.template.spec.containers[0].env, w.name).toBeUndefined();
  });

  it('gives each identity its own annotations, for a role of its own', async () => {
    const arn = (n: string) => ({ 'eks.amazonaws.com/role-arn': `arn:aws:iam::123456789012:role/${n}` });
    const annotated = await render(storeArgs({ serviceAccountAnnotations: { blocks: arn('blocks'), ruler: arn('ruler'), alertmanager: arn('alertmanager') } }));
    const objs = annotated.resources.filter((r) => r.custom && r.type.startsWith('kubernetes:'));
    expect(named(objs, 'ServiceAccount', 'cortex').inputs.metadata.annotations).toEqual(arn('blocks'));
    expect(named(objs, 'ServiceAccount', 'cortex-ruler').inputs.metadata.annotations).toEqual(arn('ruler'));
    expect(named(objs, 'ServiceAccount', 'cortex-alertmanager').inputs.metadata.annotations).toEqual(arn('alertmanager'));
    expect(() => new MetricsStore('bad', storeArgs({ serviceAccountAnnotations: { cortex: arn('x') } as never }))).toThrow(/serviceAccountAnnotations.cortex is not an identity/);
  });

  it('evaluates rules through the query-frontends, and never reads blocks from the ruler', () => {
    const ruler = workloads(run.resources).find((w) => w.inputs.metadata.name === 'cortex-ruler')!;
    expect(ruler.inputs.spec.template.spec.containers[0].args).toContain('-querier.query-store-after=2h');
    expect(run.outputs.config).toContain('frontend_address: cortex-query-frontend.lookout.svc.cluster.local:9095');
  });

  describe('egress', () => {
    const policies = () => objects.filter((r) => kindOf(r) === 'NetworkPolicy');
    const egressOf = (target: string) => named(objects, 'NetworkPolicy', `cortex-${target}-egress`).inputs.spec;
    /** The ports a workload may open towards the pods of another component. */
    const portsTo = (spec: any, component: string) =>
      spec.egress
        .filter((r: any) => r.to?.some((p: any) => p.podSelector?.matchLabels?.['app.kubernetes.io/component'] === component || p.podSelector?.matchLabels?.['lookout.dev/gossip-ring']))
        .flatMap((r: any) => r.ports.map((p: any) => p.port))
        .sort();

    it('isolates the egress of every workload, each with exactly what it calls', () => {
      expect(policies().map((p) => p.inputs.metadata.name).sort()).toEqual(
        ['alertmanager', 'compactor', 'distributor', 'ingester', 'querier', 'query-frontend', 'ruler', 'store-gateway'].map((t) => `cortex-${t}-egress`).sort(),
      );
      for (const p of policies()) {
        expect(p.inputs.spec.policyTypes).toEqual(['Egress']);
        expect(p.inputs.metadata.namespace).toBe('lookout');
      }
      // Every workload resolves names with the cluster DNS.
      for (const p of policies()) expect(p.inputs.spec.egress[0].to[0].podSelector.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
      // Gossip to the ring, plus its own calls: the distributor pushes to ingesters over gRPC.
      expect(portsTo(egressOf('distributor'), 'ingester')).toEqual([7946, 9095]);
      expect(portsTo(egressOf('querier'), 'store-gateway')).toEqual([7946, 9095]);
      expect(portsTo(egressOf('ruler'), 'alertmanager')).toEqual([7946, 8080]);
      expect(portsTo(egressOf('ruler'), 'query-frontend')).toEqual([7946, 9095]);
      // Nobody calls an ingester over HTTP (its /shutdown and /flush are there).
      for (const p of policies()) expect(portsTo(p.inputs.spec, 'ingester'), p.inputs.metadata.name).not.toContain(8080);
    });

    it('lets the Alertmanager reach receivers on the internet, but no cluster, private or metadata address', () => {
      const spec = egressOf('alertmanager');
      // Its peers: gossip and its own replicas; no other component at all.
      const components = spec.egress.flatMap((r: any) => r.to ?? []).map((p: any) => p.podSelector?.matchLabels?.['app.kubernetes.io/component']).filter(Boolean);
      expect([...new Set(components)]).toEqual(['alertmanager']);
      const internet = spec.egress.filter((r: any) => r.to?.some((p: any) => p.ipBlock?.cidr === '0.0.0.0/0'));
      expect(internet).toHaveLength(2); // its bucket over 443, and receivers on any port
      const receivers = internet.find((r: any) => !r.ports)!;
      const except: string[] = receivers.to[0].ipBlock.except;
      for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', '0.0.0.0/8', ...OPTIONS.clusterCidrs]) {
        expect(except, cidr).toContain(cidr);
      }
      // Only the Alertmanager may call anything but the cluster's pods on more than 443.
      for (const p of policies().filter((x) => x.inputs.metadata.name !== 'cortex-alertmanager-egress')) {
        for (const rule of p.inputs.spec.egress.filter((r: any) => r.to?.some((x: any) => x.ipBlock))) {
          expect(rule.ports, p.inputs.metadata.name).toEqual([{ protocol: 'TCP', port: 443 }]);
        }
      }
    });

    it('gives the bucket egress to the workloads with a bucket only, as the caller describes it', async () => {
      const withBucket = ['ingester', 'querier', 'store-gateway', 'compactor', 'ruler', 'alertmanager'];
      for (const p of policies()) {
        const https = p.inputs.spec.egress.some((r: any) => r.ports?.some((x: any) => x.port === 443));
        expect(https, p.inputs.metadata.name).toBe(withBucket.some((t) => p.inputs.metadata.name === `cortex-${t}-egress`));
      }
      const agent = { to: [{ ipBlock: { cidr: '169.254.170.23/32' } }], ports: [{ protocol: 'TCP', port: 80 }] };
      const custom = await render(storeArgs({ objectStorageEgress: [agent] }));
      const ingester = custom.resources.find((r) => r.inputs.metadata?.name === 'cortex-ingester-egress')!;
      expect(ingester.inputs.spec.egress).toContainEqual(agent);
      expect(ingester.inputs.spec.egress.some((r: any) => r.ports?.some((x: any) => x.port === 443))).toBe(false);
    });
  });

  it('puts exactly the rendered config in the `cortex` ConfigMap and rolls pods on its checksum', () => {
    const expected = renderCortexConfig({ ...OPTIONS, storeGatewayReplicationFactor: 3, alertmanagerReplicationFactor: 3 });
    const cm = named(objects, 'ConfigMap', 'cortex');
    expect(cm.inputs.data['cortex.yaml']).toBe(expected);
    expect(cm.inputs.data['alertmanager-fallback.yaml']).toBe(renderAlertmanagerFallbackConfig());
    expect(run.outputs.config).toBe(expected);
    const checksum = configChecksum(expected, renderAlertmanagerFallbackConfig());
    for (const w of workloads(run.resources)) {
      expect(w.inputs.spec.template.metadata.annotations['checksum/config'], w.name).toBe(checksum);
    }
  });

  it('puts the tenants’ limits in the `cortex-runtime` ConfigMap', () => {
    const cm = named(objects, 'ConfigMap', 'cortex-runtime');
    expect(cm.inputs.data['runtime.yaml']).toBe(renderRuntimeConfig(TENANTS));
    expect(run.outputs.runtimeConfig).toBe(renderRuntimeConfig(TENANTS));
  });

  it('changes only the runtime ConfigMap when tenant limits change, so no pod rolls', async () => {
    const changed = await render(
      storeArgs({ tenants: [...TENANTS, { id: 'globex', samplesPerSecond: 5_000, activeSeries: 50_000, retentionDays: 7 }] }),
    );
    const byKey = (rs: MockedResource[]) => new Map(rs.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
    const before = byKey(run.resources);
    const after = byKey(changed.resources);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const differing = [...after.keys()].filter((k) => after.get(k) !== before.get(k));
    expect(differing).toEqual(['kubernetes:core/v1:ConfigMap::cortex-runtime']);
  });

  it('exposes a Service per workload, the query-frontend headless Service and the gossip Service', () => {
    const services = objects.filter((r) => kindOf(r) === 'Service').map((r) => r.inputs.metadata.name).sort();
    expect(services).toEqual(
      [
        'cortex-alertmanager',
        'cortex-compactor',
        'cortex-distributor',
        'cortex-gossip',
        'cortex-ingester',
        'cortex-querier',
        'cortex-query-frontend',
        'cortex-query-frontend-headless',
        'cortex-ruler',
        'cortex-store-gateway',
      ].sort(),
    );
    const gossip = named(objects, 'Service', 'cortex-gossip');
    expect(gossip.inputs.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(gossip.inputs.spec.ports).toEqual([expect.objectContaining({ port: 7946 })]);
    // Every Cortex pod in a ring carries the gossip label the Service selects.
    for (const w of cortexWorkloads()) {
      expect(w.inputs.spec.template.metadata.labels['lookout.dev/gossip-ring']).toBe('cortex');
    }
    // Query-frontends turn ready only once queriers connect, which needs their addresses first.
    expect(named(objects, 'Service', 'cortex-query-frontend-headless').inputs.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: named(objects, 'Service', 'cortex-query-frontend').inputs.spec.selector,
    });
    for (const name of ['cortex-distributor', 'cortex-query-frontend', 'cortex-ruler', 'cortex-alertmanager']) {
      expect(named(objects, 'Service', name).inputs.spec.ports).toContainEqual(expect.objectContaining({ name: 'http', port: 8080 }));
    }
    // Exactly the headless Services skip the provider's await, whose informer can hand back a
    // copy older than the apply (@lookout/kube headless-service.ts).
    const skipping = objects.filter((r) => kindOf(r) === 'Service' && r.inputs.metadata.annotations?.['pulumi.com/skipAwait'] === 'true');
    expect(skipping.map((r) => r.inputs.metadata.name).sort()).toEqual(['cortex-gossip', 'cortex-query-frontend-headless']);
    expect(objects.filter((r) => kindOf(r) === 'Service' && r.inputs.spec.clusterIP === 'None').length).toBe(skipping.length);
  });

  it('outputs the in-cluster base URLs of the APIs', () => {
    expect(run.outputs).toMatchObject({
      distributorUrl: 'http://cortex-distributor.lookout.svc.cluster.local:8080',
      queryFrontendUrl: 'http://cortex-query-frontend.lookout.svc.cluster.local:8080',
      rulerUrl: 'http://cortex-ruler.lookout.svc.cluster.local:8080',
      alertmanagerUrl: 'http://cortex-alertmanager.lookout.svc.cluster.local:8080',
    });
  });

  it('registers 41 resources, whatever the number of tenants', () => {
    const counts: Record<string, number> = {};
    for (const r of run.resources.filter((r) => r.type !== 'pulumi:providers:kubernetes')) counts[r.type] = (counts[r.type] ?? 0) + 1;
    expect(counts).toEqual({
      'lookout:k8s:MetricsStore': 1,
      'kubernetes:core/v1:ServiceAccount': 3,
      'kubernetes:networking.k8s.io/v1:NetworkPolicy': 8,
      'kubernetes:core/v1:ConfigMap': 2,
      'kubernetes:core/v1:Service': 10,
      'kubernetes:apps/v1:Deployment': 5,
      'kubernetes:apps/v1:StatefulSet': 4,
      'kubernetes:policy/v1:PodDisruptionBudget': 8,
    });
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(41);
    // Every object goes through the explicit provider and sits under the component.
    for (const r of objects) {
      expect(r.provider, r.name).toMatch(/pulumi:providers:kubernetes::k8s/);
      expect(r.parentType, r.name).toBe('lookout:k8s:MetricsStore');
    }
  });

  it.each([
    [{ sizing: { ...bundle.sizing.cortex, ingester: { ...bundle.sizing.cortex.ingester, replicas: 2 } } }, /sizing.ingester.replicas must be at least 3/],
    [{ sizing: { ...bundle.sizing.cortex, compactor: { replicas: 1, resources: bundle.sizing.cortex.compactor.resources } } }, /sizing.compactor.storage is required/],
    [{ storageClassName: '' }, /storageClassName is required/],
    [{ sizing: { ...bundle.sizing.cortex, overridesExporter: { ...bundle.sizing.cortex.overridesExporter, replicas: 2 } } }, /sizing.overridesExporter.replicas must be 1/],
    [{ storage: { ...OPTIONS.storage, rulesBucket: OPTIONS.storage.blocksBucket } }, /rulesBucket must differ from blocksBucket/],
    [{ tenants: [TENANTS[0]!, TENANTS[0]!] }, /tenant "system" is listed twice/],
  ])('refuses bad arguments before registering anything (%#)', (override, message) => {
    expect(() => new MetricsStore('bad', storeArgs(override as Partial<MetricsStoreArgs>))).toThrow(message);
  });
});
