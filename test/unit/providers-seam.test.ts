/**
 * The provider seam holds: the platform and tenant stacks, the steps, the commands, the plan
 * and the Kubernetes components import no cloud package and name no cloud, and the cluster
 * layers run for providers that are not AWS (an S3-compatible store with keys behind the
 * user's own load balancer, and GCS with Workload Identity) without registering any cloud
 * resource of their own.
 */
import { fakeTenantCredentials } from '../support/tenant-credentials.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import type * as pulumi from '@pulumi/pulumi';
import { loadBundle } from '../../src/bundle/manifest.js';
import { parseConfigText } from '../../src/config/load.js';
import { placeholderLoadBalancerHostname, withKubernetesMocks } from '../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks, type MockedResource } from '../../src/plan/mock-runtime.js';
import type { PlatformCloud } from '../../src/providers/types.js';
import { platformProgram, PLATFORM_PROJECT, STORAGE_KEYS_SECRET } from '../../stacks/platform.js';
import { tenantProgram, TENANT_PROJECT } from '../../stacks/tenant.js';
import { validateKubernetesObjects, workloads } from '../support/kubernetes.js';

const root = resolve(new URL('../..', import.meta.url).pathname);

/** Where the seam forbids cloud knowledge. */
const CLOUD_FREE = [
  'stacks/platform.ts',
  'stacks/tenant.ts',
  'src/steps',
  'src/commands',
  'src/plan',
  ...['gateway', 'metrics-store', 'log-store', 'tenant', 'self-monitoring', 'kube'].map((c) => `components/${c}/src`),
];

function tsFiles(path: string): string[] {
  const full = join(root, path);
  if (statSync(full).isFile()) return [full];
  return readdirSync(full).flatMap((entry) => tsFiles(join(path, entry)));
}

/** Module specifiers a file loads at run time: static and dynamic imports, not `import type`. */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const m of text.matchAll(/^\s*import\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) specifiers.push(m[1]!);
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) specifiers.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) specifiers.push(m[1]!);
  for (const m of text.matchAll(/^\s*export\s+(?!type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm)) specifiers.push(m[1]!);
  return specifiers;
}

const CLOUD_PACKAGE = /^(@pulumi\/(aws|gcp|azure|azure-native|google-native)|@aws-sdk\/|@google-cloud\/|@lookout\/(aws|gcp))/;

describe('the seam', () => {
  const files = CLOUD_FREE.flatMap(tsFiles).filter((f) => f.endsWith('.ts'));

  it('scans the files it means to (so the checks below can fail)', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain(join(root, 'stacks/platform.ts'));
    // The scanner does find cloud imports where they are allowed.
    expect(runtimeImports(join(root, 'src/providers/aws/cluster.ts'))).toContain('@pulumi/aws');
    expect(runtimeImports(join(root, 'src/providers/aws/teardown.ts'))).toContain('@aws-sdk/client-eks');
  });

  it('keeps every cloud package and provider folder out of the stacks, steps, commands, plan and components', () => {
    const offending = files.flatMap((file) =>
      runtimeImports(file)
        .filter((s) => CLOUD_PACKAGE.test(s) || /providers\/(?!registry\.js$|types\.js$)/.test(s))
        .map((s) => `${relative(root, file)} imports ${s}`),
    );
    expect(offending).toEqual([]);
  });

  it('names no cloud there, not even in comments (the providers and their mocks say it all)', () => {
    const offending = files.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(root, file)}:${i + 1}` }))
        // The S3 clients' standard key variables (AWS_ACCESS_KEY_ID) are the S3 API's, not a cloud's.
        .filter(({ line }) => /\baws\b|amazonaws|route ?53|\beks\b|\bgke\b|\bgcp\b/i.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(offending).toEqual([]);
  });

  it('loads no provider folder, statically, from the platform and tenant stacks (the whole import graph)', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const s of runtimeImports(file)) {
        if (!s.startsWith('.') || s.startsWith('import(')) continue;
        const target = resolve(dirname(file), s.replace(/\.js$/, '.ts'));
        if (statSync(target, { throwIfNoEntry: false })?.isFile()) visit(target);
      }
    };
    for (const stack of ['stacks/platform.ts', 'stacks/tenant.ts']) visit(join(root, stack));
    const reached = [...seen].map((f) => relative(root, f));
    expect(reached).toContain('src/naming.ts');
    expect(reached.filter((f) => f.startsWith('src/providers/'))).toEqual([]);
  });
});

const config = parseConfigText(
  [
    'dns: { domain: obs.example.com }',
    'tenants:',
    '  - { name: team-a }',
    // Any provider's block will do: the cluster layers read none of it.
    'aws: { region: eu-west-1, apiAllowedCidrs: [10.0.0.0/8] }',
  ].join('\n'),
  'lookout.yaml',
  { provider: 'aws', name: 'onprem' },
);
const bundle = loadBundle(config.bundle);
const KUBECONFIG = JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], contexts: [], users: [] });

/** Like the kubernetes provider will pass: MinIO on the cluster's network, keys, the user's own load balancer. */
const s3Compatible: PlatformCloud = {
  clusterName: 'onprem',
  storageClass: { name: 'local-path' },
  metricsStore: {
    storage: { backend: 's3', region: 'us-east-1', endpoint: 'minio.storage.svc.cluster.local:9000', forcePathStyle: true, insecure: true, blocksBucket: 'obs-metrics', rulesBucket: 'obs-rules' },
  },
  logStore: { storage: { backend: 's3', region: 'us-east-1', endpoint: 'minio.storage.svc.cluster.local:9000', forcePathStyle: true, insecure: true, bucket: 'obs-logs' } },
  storageKeys: { accessKeyId: 'minio-access', secretAccessKey: 'minio-secret' },
  // The pod and Service CIDRs of a k3s cluster; the store is MinIO's pods, not the internet.
  network: {
    clusterCidrs: ['10.42.0.0/16', '10.43.0.0/16'],
    objectStorageEgress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'storage' } } }], ports: [{ protocol: 'TCP', port: 9000 }] }],
  },
  gateway: { service: { type: 'NodePort', nodePort: 30443, externalTrafficPolicy: 'Local' }, address: 'lb.internal.example.com' },
};

/** Like the gcp provider will pass: GCS with Workload Identity, a cloud load balancer, its own DNS record. */
function gcs(recorded: Array<{ domain: string; target: pulumi.Output<string> }>): PlatformCloud {
  return {
    clusterName: 'lookout-onprem',
    storageClass: { name: 'lookout-pd', create: { resourceName: 'pd', provisioner: 'pd.csi.storage.gke.io', parameters: { type: 'pd-balanced' } } },
    metricsStore: {
      storage: { backend: 'gcs', blocksBucket: 'lookout-onprem-metrics', rulesBucket: 'lookout-onprem-rules' },
      serviceAccountAnnotations: {
        blocks: { 'iam.gke.io/gcp-service-account': 'metrics@project.iam.gserviceaccount.com' },
        ruler: { 'iam.gke.io/gcp-service-account': 'metrics-rules@project.iam.gserviceaccount.com' },
        alertmanager: { 'iam.gke.io/gcp-service-account': 'metrics-rules@project.iam.gserviceaccount.com' },
      },
    },
    logStore: {
      storage: { backend: 'gcs', bucket: 'lookout-onprem-logs' },
      serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'logs@project.iam.gserviceaccount.com' },
    },
    // GKE's nodes and Services; Workload Identity's metadata server answers on 169.254.169.254.
    network: {
      clusterCidrs: ['10.128.0.0/20', '10.4.0.0/14', '10.8.0.0/20'],
      objectStorageEgress: [
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 443 }] },
        { to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: [{ protocol: 'TCP', port: 80 }] },
      ],
    },
    gateway: { service: { externalTrafficPolicy: 'Local' } },
    tenantHostsRecord: (args) => recorded.push(args),
  };
}

async function platformWith(cloud: PlatformCloud) {
  return runProgramUnderMocks(
    platformProgram({ instance: 'onprem', config, bundle, kubeconfig: KUBECONFIG, cloud, tls: { certificatePem: 'CERT', privateKeyPem: 'KEY' } }),
    // Kubernetes mocks only: any cloud resource would have no mock and fail the run.
    { project: PLATFORM_PROJECT, stack: 'onprem-platform', behaviour: withKubernetesMocks() },
  );
}

const notKubernetes = (resources: readonly MockedResource[]) =>
  resources.map((r) => r.type).filter((t) => !/^(kubernetes:|lookout:k8s:|pulumi:providers:kubernetes$)/.test(t));
const named = (resources: readonly MockedResource[], type: string, name: string) =>
  resources.find((r) => r.type === type && r.inputs.metadata?.name === name);

describe('the platform stack with another provider’s settings', () => {
  it('runs on an S3-compatible store with keys, an existing storage class and a NodePort gateway, registering nothing but Kubernetes', async () => {
    const run = await platformWith(s3Compatible);
    expect(notKubernetes(run.resources)).toEqual([]);
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    // The storage class is the user's: none is made, every volume claims it.
    expect(run.resources.filter((r) => r.type === 'kubernetes:storage.k8s.io/v1:StorageClass')).toEqual([]);
    const claims = run.resources
      .filter((r) => r.type === 'kubernetes:apps/v1:StatefulSet')
      .flatMap((r) => r.inputs.spec.volumeClaimTemplates.map((t: { spec: { storageClassName: string } }) => t.spec.storageClassName));
    expect(claims.length).toBeGreaterThan(4);
    expect(new Set(claims)).toEqual(new Set(['local-path']));

    // The keys go into one Secret, and reach every store pod that reads a bucket (and no other) only from there.
    const secret = named(run.resources, 'kubernetes:core/v1:Secret', STORAGE_KEYS_SECRET.name)!;
    expect(secret.inputs.stringData).toEqual({ 'access-key-id': 'minio-access', 'secret-access-key': 'minio-secret' });
    const keyed = workloads(run.resources).filter((w) => w.inputs.spec.template.spec.containers[0].env?.some((e: { name: string }) => e.name === 'AWS_SECRET_ACCESS_KEY'));
    expect(keyed.map((w) => w.inputs.metadata.name).sort()).toEqual(
      [...['alertmanager', 'compactor', 'ingester', 'querier', 'ruler', 'store-gateway'].map((c) => `cortex-${c}`), 'loki-backend', 'loki-read', 'loki-write'].sort(),
    );
    const configFile = (name: string, key: string) => YAML.parse(named(run.resources, 'kubernetes:core/v1:ConfigMap', name)!.inputs.data[key]);
    const configs = { cortex: configFile('cortex', 'cortex.yaml'), loki: configFile('loki-config', 'config.yaml') };
    expect(configs.cortex.blocks_storage.s3).toEqual({
      endpoint: 'minio.storage.svc.cluster.local:9000',
      region: 'us-east-1',
      bucket_name: 'obs-metrics',
      insecure: true,
      bucket_lookup_type: 'path',
    });
    // The newest bundle's Loki reaches the bucket through its Thanos clients (ruler_storage).
    for (const s3 of [configs.loki.storage_config.object_store.s3, configs.loki.ruler_storage.s3]) {
      expect(s3).toEqual({ endpoint: 'minio.storage.svc.cluster.local:9000', region: 'us-east-1', bucket_name: 'obs-logs', insecure: true, bucket_lookup_type: 'path' });
    }
    expect(JSON.stringify(configs)).not.toContain('minio-secret');

    // The gateway sits behind the user's load balancer, whose address the stack reports.
    const service = named(run.resources, 'kubernetes:core/v1:Service', 'gateway')!;
    expect(service.inputs.spec).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [expect.objectContaining({ nodePort: 30443 })] });
    expect(run.outputs.loadBalancerHostname).toBe('lb.internal.example.com');
  });

  it('runs on GCS with Workload Identity, makes the provider’s storage class, and hands it the gateway’s address for its DNS record', async () => {
    const recorded: Array<{ domain: string; target: pulumi.Output<string> }> = [];
    const run = await platformWith(gcs(recorded));
    expect(notKubernetes(run.resources)).toEqual([]);
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    const storageClass = run.resources.find((r) => r.type === 'kubernetes:storage.k8s.io/v1:StorageClass')!;
    expect(storageClass.name).toBe('pd');
    expect(storageClass.inputs).toMatchObject({ metadata: { name: 'lookout-pd' }, provisioner: 'pd.csi.storage.gke.io', parameters: { type: 'pd-balanced' } });
    expect(named(run.resources, 'kubernetes:core/v1:ServiceAccount', 'cortex')!.inputs.metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'metrics@project.iam.gserviceaccount.com',
    });
    expect(named(run.resources, 'kubernetes:core/v1:ServiceAccount', 'loki')!.inputs.metadata.annotations).toEqual({
      'iam.gke.io/gcp-service-account': 'logs@project.iam.gserviceaccount.com',
    });
    const cortex = YAML.parse(named(run.resources, 'kubernetes:core/v1:ConfigMap', 'cortex')!.inputs.data['cortex.yaml']);
    expect(cortex.blocks_storage).toMatchObject({ backend: 'gcs', gcs: { bucket_name: 'lookout-onprem-metrics' } });
    // No keys anywhere: the identity does it.
    expect(run.resources.some((r) => r.inputs.metadata?.name === STORAGE_KEYS_SECRET.name)).toBe(false);
    expect(workloads(run.resources).every((w) => w.inputs.spec.template.spec.containers[0].env === undefined || !JSON.stringify(w.inputs).includes('AWS_'))).toBe(true);

    expect(recorded.map((r) => r.domain)).toEqual(['obs.example.com']);
    const target = await new Promise((done) => recorded[0]!.target.apply(done));
    expect(target).toBe(placeholderLoadBalancerHostname('gateway'));
    expect(run.outputs.loadBalancerHostname).toBe(target);
  });

  it('refuses S3 keys for a store on GCS before anything is registered', () => {
    const cloud = { ...gcs([]), storageKeys: { accessKeyId: 'a', secretAccessKey: 'b' } };
    expect(() =>
      platformProgram({ instance: 'onprem', config, bundle, kubeconfig: KUBECONFIG, cloud, tls: { certificatePem: 'C', privateKeyPem: 'K' } }),
    ).toThrow(/storage keys are for S3, but the metrics store's backend is gcs/);
  });
});

describe('the tenant stack', () => {
  it('puts Grafana’s volume on the storage class the provider names', async () => {
    const run = await runProgramUnderMocks(
      tenantProgram({
        instance: 'onprem',
        tenant: config.tenants[0]!,
        domain: config.dns.domain,
        bundle,
        kubeconfig: KUBECONFIG,
        storageClassName: 'local-path',
        gateway: { internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080', tenantsSecretName: 'gateway-tenants' },
        credentials: fakeTenantCredentials(config.tenants[0]!),
      }),
      { project: TENANT_PROJECT, stack: 'onprem-tenant-team-a', behaviour: withKubernetesMocks() },
    );
    expect(notKubernetes(run.resources)).toEqual([]);
    const classes = JSON.stringify(run.resources.map((r) => r.inputs)).match(/"storageClassName":"[^"]*"/g);
    expect(classes).toEqual(['"storageClassName":"local-path"']);
  });
});
