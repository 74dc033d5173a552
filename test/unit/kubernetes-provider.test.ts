/**
 * The kubernetes provider without a cluster: its config block, reading the user's kubeconfig
 * (and never putting its credentials in the stacks' kubeconfig), kube-token, the platform's
 * settings (keys from the environment, egress to the store, the gateway's exposure, the owner
 * label on every object), preflight's judgements on the API's answers, and a certificate the
 * user provides. The same provider against a real API server: test/engine/kubernetes-create.test.ts.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/bundle/manifest.js';
import { parseConfigText, type ResolvedConfig } from '../../src/config/load.js';
import { ConfigError, FailureError, UsageError } from '../../src/errors.js';
import { runProgramUnderMocks } from '../../src/plan/mock-runtime.js';
import { fileStore } from '../../src/pulumi/diy-store.js';
import type { ApiResponse, KubeApi } from '../../src/providers/kubernetes/api.js';
import { kubernetesClusterLayers, objectStorageEgress, type KubernetesInfra } from '../../src/providers/kubernetes/cluster.js';
import { kubernetesKubeToken } from '../../src/providers/kubernetes/kube-token.js';
import { readKubeContext } from '../../src/providers/kubernetes/kubeconfig.js';
import { planKubernetes } from '../../src/providers/kubernetes/plan.js';
import { checkPermissions, instanceNamespaces, kubernetesPreflight } from '../../src/providers/kubernetes/preflight.js';
import { OWNER_LABEL } from '../../src/providers/kubernetes/settings.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { instanceCertificateNames } from '../../src/tls/certificate.js';
import { storeProvidedCertificate } from '../../src/tls/provided.js';
import { platformProgram, PLATFORM_PROJECT } from '../../stacks/platform.js';
import { tenantProgram, TENANT_PROJECT } from '../../stacks/tenant.js';
import { selfSignedCertificate } from '../support/self-signed.js';
import { fakeTenantCredentials } from '../support/tenant-credentials.js';

const root = new URL('../..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'lookout-k8s-provider-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const example = readFileSync(join(root, 'examples/kubernetes.yaml'), 'utf8');
const load = (text: string, name = 'obs') => parseConfigText(text, 'lookout.yaml', { provider: 'kubernetes', name });

function issuesOf(text: string) {
  try {
    load(text);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

/** The example with its kubernetes block changed. */
function exampleWith(change: (k: Record<string, any>) => void): string {
  const doc = YAML.parse(example) as Record<string, any>;
  change(doc.kubernetes);
  return YAML.stringify(doc);
}

describe('the kubernetes config block', () => {
  it('loads the example with its defaults', () => {
    const config = load(example);
    expect(config.kubernetes?.context).toBe('prod-eu');
    expect(config.kubernetes?.objectStorage.accessKeyIdEnv).toBe('LOOKOUT_S3_ACCESS_KEY_ID');
    expect(config.kubernetes?.gateway.service).toBe('LoadBalancer');
  });

  it('requires the block, and an address for a gateway behind the user’s own load balancer', () => {
    const doc = YAML.parse(example) as Record<string, unknown>;
    delete doc.kubernetes;
    expect(issuesOf(YAML.stringify(doc))).toEqual([expect.stringMatching(/^kubernetes: required field is missing \(the provider is kubernetes\)/)]);
    expect(issuesOf(exampleWith((k) => (k.gateway = { service: 'NodePort' })))).toEqual([
      expect.stringMatching(/^kubernetes\.gateway\.address: is required when service is NodePort/),
    ]);
    expect(issuesOf(exampleWith((k) => (k.gateway = { service: 'ClusterIP', address: 'lb.example.com', nodePort: 30443 })))).toEqual([
      'kubernetes.gateway.nodePort: applies only when service is NodePort, not ClusterIP',
    ]);
  });

  it('takes the object store’s base URL only, and environment variable names for its keys', () => {
    expect(issuesOf(exampleWith((k) => (k.objectStorage.endpoint = 'https://s3.example.com/bucket')))).toEqual([
      expect.stringMatching(/^kubernetes\.objectStorage\.endpoint: must be the S3 API’s base URL/),
    ]);
    const issues = issuesOf(exampleWith((k) => (k.objectStorage.secretAccessKeyEnv = 'wJalrXUtnFEMI/K7MDENG')));
    expect(issues).toEqual([expect.stringMatching(/^kubernetes\.objectStorage\.secretAccessKeyEnv: must be the name of an environment variable/)]);
    // What was given where a variable name belongs may be the secret itself: it is never echoed.
    expect(issues.join('\n')).not.toContain('wJalrXUtnFEMI');
  });

  it('names the object store’s key variables among the secrets every command checks before the cluster', async () => {
    const { checkBeforeCloud } = await import('../../src/config/checks.js');
    const config = load(example);
    const err = await checkBeforeCloud(config, { file: 'lookout.yaml', purpose: 'apply', env: { LOOKOUT_TSIG_SECRET: 'c2VjcmV0', LOOKOUT_S3_ACCESS_KEY_ID: 'AKID' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'kubernetes.objectStorage.secretAccessKeyEnv: the environment variable LOOKOUT_S3_SECRET_ACCESS_KEY it names is not set',
    ]);
    const warnings = await checkBeforeCloud(config, { file: 'lookout.yaml', purpose: 'plan', env: {} });
    expect(warnings).toContain('kubernetes.objectStorage.accessKeyIdEnv: the environment variable LOOKOUT_S3_ACCESS_KEY_ID it names is not set; create will refuse to start until it is');
  });

  it('needs at least one cluster CIDR (where the API server and kubelets are)', () => {
    expect(issuesOf(exampleWith((k) => (k.clusterCidrs = [])))).toEqual([expect.stringMatching(/^kubernetes\.clusterCidrs: /)]);
  });
});

/** A kubeconfig like kwokctl's: client certificate files next to it. */
function writeKubeconfig(dir: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
  const path = join(dir, 'kubeconfig');
  writeFileSync(
    path,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:6443/', 'certificate-authority': 'ca.crt', ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'test', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'test',
    }),
  );
  return path;
}

describe('the user’s kubeconfig', () => {
  const dir = mkdtempSync(join(work, 'kc-'));
  writeFileSync(join(dir, 'client.crt'), 'CLIENT CERT PEM');
  writeFileSync(join(dir, 'client.key'), 'CLIENT KEY PEM');
  const path = writeKubeconfig(dir, { 'client-certificate': 'client.crt', 'client-key': 'client.key' });

  it('reads a context’s server and CA, with relative files resolved next to the kubeconfig', async () => {
    const ctx = await readKubeContext(path, 'test');
    expect(ctx.cluster).toEqual({ server: 'https://127.0.0.1:6443', certificateAuthorityData: Buffer.from('CA PEM').toString('base64') });
  });

  it('names the contexts it has when the config names another', async () => {
    const err = await readKubeContext(path, 'prod').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(`kubernetes.context: the kubeconfig ${path} has no context "prod" (it has: test)`);
  });

  it('refuses a cluster that skips TLS verification: credentials would go to anyone', async () => {
    const other = mkdtempSync(join(work, 'kc-'));
    const p = writeKubeconfig(other, { token: 't' }, { 'insecure-skip-tls-verify': true });
    await expect(readKubeContext(p, 'test')).rejects.toThrow(/skips TLS verification/);
  });

  it('gives the stacks a kubeconfig with no credential: kube-token reads them from the user’s file on each call', async () => {
    const ctx = await readKubeContext(path, 'test');
    const infra: KubernetesInfra = {
      context: 'test',
      server: ctx.cluster.server,
      certificateAuthorityData: ctx.cluster.certificateAuthorityData!,
      version: 'v1.34.4',
      storageClass: 'standard',
      objectStorage: { endpoint: 'http://10.1.2.3:9000', region: 'us-east-1', forcePathStyle: true, buckets: { metrics: 'm', logs: 'l', rules: 'r' } },
      clusterCidrs: ['10.0.0.0/8'],
    };
    const config = load(example).kubernetes!;
    const layers = kubernetesClusterLayers('obs', infra, config, { LOOKOUT_S3_ACCESS_KEY_ID: 'AKID', LOOKOUT_S3_SECRET_ACCESS_KEY: 'SECRET' });
    const kubeconfig = JSON.parse(layers.kubeconfig);
    expect(layers.kubeconfig).not.toContain('CLIENT');
    expect(layers.kubeconfig).not.toContain(dir);
    expect(kubeconfig.users[0].user.exec.args).toEqual(['kube-token', '--provider', 'kubernetes', '--context', 'test']);

    const credential = JSON.parse(await kubernetesKubeToken(['--context', 'test'], { LOOKOUT_KUBECONFIG: path }));
    expect(credential).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      kind: 'ExecCredential',
      status: { clientCertificateData: 'CLIENT CERT PEM', clientKeyData: 'CLIENT KEY PEM' },
    });
    await expect(kubernetesKubeToken(['--context', 'test'], {})).rejects.toThrow(/LOOKOUT_KUBECONFIG is not set/);
  });

  it('passes on what the user’s own exec plugin answers', async () => {
    const other = mkdtempSync(join(work, 'kc-'));
    const plugin = join(other, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"from-plugin-'"$GREETING"'","expirationTimestamp":"2030-01-01T00:00:00Z"}}'\n`);
    chmodSync(plugin, 0o700);
    const p = writeKubeconfig(other, { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: './plugin.sh', env: [{ name: 'GREETING', value: 'hi' }] } });
    const credential = JSON.parse(await kubernetesKubeToken(['--context', 'test'], { LOOKOUT_KUBECONFIG: p }));
    expect(credential.status).toEqual({ token: 'from-plugin-hi', expirationTimestamp: '2030-01-01T00:00:00Z' });
  });
});

describe('the platform’s settings in a user’s cluster', () => {
  const config = load(example);
  const infra: KubernetesInfra = {
    context: 'prod-eu',
    server: 'https://10.0.0.1:6443',
    version: 'v1.34.4',
    storageClass: 'standard',
    objectStorage: { endpoint: 'https://s3.example.com', region: 'us-east-1', forcePathStyle: true, buckets: { metrics: 'obs-metrics', logs: 'obs-logs', rules: 'obs-rules' } },
    clusterCidrs: ['10.0.0.0/16'],
  };

  it('reads the object store’s keys from the variables the config names, and names one that is not set', () => {
    const layers = kubernetesClusterLayers('obs', infra, config.kubernetes!, { LOOKOUT_S3_ACCESS_KEY_ID: 'AKID', LOOKOUT_S3_SECRET_ACCESS_KEY: 'SECRET' });
    expect(layers.platform.storageKeys).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'SECRET' });
    expect(layers.platform.metricsStore.storage).toEqual({ backend: 's3', region: 'us-east-1', endpoint: 's3.example.com', forcePathStyle: true, blocksBucket: 'obs-metrics', rulesBucket: 'obs-rules' });
    expect(layers.platform.storageClass).toEqual({ name: 'standard' });
    expect(layers.platform.ownerLabels).toEqual({ [OWNER_LABEL]: 'obs' });
    expect(() => kubernetesClusterLayers('obs', infra, config.kubernetes!, { LOOKOUT_S3_ACCESS_KEY_ID: 'AKID' })).toThrow(
      /kubernetes\.objectStorage\.secretAccessKeyEnv: the environment variable LOOKOUT_S3_SECRET_ACCESS_KEY is not set/,
    );
  });

  it('lets the stores reach a store at an IP on that address and port only, and a named one on its port', () => {
    expect(objectStorageEgress({ endpoint: 'http://10.1.2.3:9000' }, [])).toEqual([{ to: [{ ipBlock: { cidr: '10.1.2.3/32' } }], ports: [{ protocol: 'TCP', port: 9000 }] }]);
    const named = objectStorageEgress({ endpoint: 'https://s3.example.com' }, ['10.0.0.0/16']);
    expect(named[0]!.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    expect((named[0]!.to as Array<{ ipBlock: { cidr: string; except: string[] } }>)[0]!.ipBlock.cidr).toBe('0.0.0.0/0');
    expect(objectStorageEgress({ endpoint: 'https://s3.example.com', egressCidrs: ['192.168.5.0/24'] }, [])[0]!.to).toEqual([{ ipBlock: { cidr: '192.168.5.0/24' } }]);
  });

  it('exposes the gateway as configured, behind the user’s address', () => {
    const nodePort = load(exampleWith((k) => (k.gateway = { service: 'NodePort', nodePort: 30443, address: 'lb.example.com' })));
    const layers = kubernetesClusterLayers('obs', infra, nodePort.kubernetes!, { LOOKOUT_S3_ACCESS_KEY_ID: 'a', LOOKOUT_S3_SECRET_ACCESS_KEY: 'b' });
    expect(layers.platform.gateway).toEqual({
      service: { type: 'NodePort', annotations: {}, externalTrafficPolicy: 'Local', nodePort: 30443 },
      address: 'lb.example.com',
    });
  });
});

describe('the offline plan in a user’s cluster', () => {
  it('registers only Kubernetes objects, each labelled with the instance, and selectors untouched', async () => {
    const config = load(example);
    const plan = await planKubernetes(config);
    expect(plan.resources).toEqual([]);
    const bundle = loadBundle(config.bundle);
    const platform = await runProgramUnderMocks(
      platformProgram({ instance: 'obs', config, bundle, kubeconfig: plan.cluster.kubeconfig, cloud: plan.cluster.platform, tls: { certificatePem: 'C', privateKeyPem: 'K' } }),
      { project: PLATFORM_PROJECT, stack: 'obs-platform', behaviour: plan.clusterMocks },
    );
    const tenant = await runProgramUnderMocks(
      tenantProgram({
        instance: 'obs',
        tenant: config.tenants[0]!,
        domain: config.dns.domain,
        bundle,
        kubeconfig: plan.cluster.kubeconfig,
        storageClassName: plan.cluster.platform.storageClass.name,
        ownerLabels: plan.cluster.platform.ownerLabels!,
        gateway: { internalUrl: String(platform.outputs.gatewayInternalUrl), tenantsSecretName: String(platform.outputs.tenantsSecretName) },
        credentials: fakeTenantCredentials(config.tenants[0]!),
      }),
      { project: TENANT_PROJECT, stack: 'obs-tenant-production', behaviour: plan.clusterMocks },
    );
    const objects = [...platform.resources, ...tenant.resources].filter((r) => r.type.startsWith('kubernetes:'));
    expect(objects.length).toBeGreaterThan(50);
    const unlabelled = objects.filter((r) => !r.type.endsWith('Patch') && r.inputs.metadata?.labels?.[OWNER_LABEL] !== 'obs');
    expect(unlabelled.map((r) => `${r.type} ${r.name}`)).toEqual([]);
    // The patch of the platform's Secret keeps the platform's labels, not its own.
    const patches = objects.filter((r) => r.type.endsWith('Patch'));
    expect(patches.length).toBeGreaterThan(0);
    for (const p of patches) expect(p.inputs.metadata?.labels?.[OWNER_LABEL]).toBeUndefined();
    for (const w of objects.filter((r) => r.type === 'kubernetes:apps/v1:Deployment' || r.type === 'kubernetes:apps/v1:StatefulSet')) {
      expect(w.inputs.spec.selector.matchLabels[OWNER_LABEL], w.name).toBeUndefined();
      expect(w.inputs.spec.template.metadata.labels[OWNER_LABEL], w.name).toBeUndefined();
    }
    // The storage keys are in one Secret, as secrets, and nowhere in the stores' configs.
    const keysSecret = platform.resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata?.name === 'object-storage-keys');
    expect(keysSecret).toBeDefined();
    const configMaps = JSON.stringify(platform.resources.filter((r) => r.type === 'kubernetes:core/v1:ConfigMap').map((r) => r.inputs));
    expect(configMaps).not.toContain('plan: read from');
  }, 60_000);
});

/** A KubeApi that answers from a table, as the preflight sees the API server. */
function fakeApi(answer: (method: string, path: string, body: any) => ApiResponse<unknown>): KubeApi & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    call: async (method: string, path: string, body?: unknown) => {
      calls.push(`${method} ${path}`);
      return answer(method, path, body);
    },
    get: async (path: string) => {
      calls.push(`GET ${path}`);
      const res = answer('GET', path, undefined);
      if (res.status >= 300) throw new FailureError(`GET ${path}: ${res.status}`);
      return res.body;
    },
    close: () => {},
  } as unknown as KubeApi & { calls: string[] };
}

function clusterAnswers(over: { version?: string; deny?: (attrs: any) => boolean; namespaces?: Record<string, Record<string, string>>; storageClasses?: string[] } = {}) {
  return (method: string, path: string, body: any): ApiResponse<unknown> => {
    if (path === '/version') return { status: 200, body: { gitVersion: over.version ?? 'v1.34.4' } };
    if (path.endsWith('/selfsubjectaccessreviews')) return { status: 201, body: { status: { allowed: !(over.deny?.(body.spec.resourceAttributes) ?? false) } } };
    const sc = /\/storageclasses\/(.+)$/.exec(path);
    if (sc) return (over.storageClasses ?? ['standard']).includes(sc[1]!) ? { status: 200, body: {} } : { status: 404, body: {} };
    if (path.endsWith('/storageclasses')) return { status: 200, body: { items: (over.storageClasses ?? ['standard']).map((name) => ({ metadata: { name } })) } };
    const ns = /^\/api\/v1\/namespaces\/(.+)$/.exec(path);
    if (ns) {
      const labels = over.namespaces?.[ns[1]!];
      return labels ? { status: 200, body: { metadata: { labels } } } : { status: 404, body: {} };
    }
    throw new Error(`unexpected ${method} ${path}`);
  };
}

describe('preflight in a user’s cluster', () => {
  const config = load(example) as ResolvedConfig;
  const writable = { checkWritable: async () => {} };

  it('passes a cluster that allows everything, asking one review per verb, resource and namespace', async () => {
    const api = fakeApi(clusterAnswers({ namespaces: { lookout: { [OWNER_LABEL]: 'obs' } } }));
    const written: string[] = [];
    const result = await kubernetesPreflight(config, { api, s3: { checkWritable: async (bucket) => void written.push(bucket) } });
    expect(result.version).toBe('v1.34.4');
    expect(result.ownNamespaces).toEqual(['lookout']);
    expect(instanceNamespaces(config)).toEqual(['lookout', 'lookout-node', 'tenant-system', 'tenant-production', 'tenant-staging']);
    expect(api.calls.filter((c) => c.endsWith('selfsubjectaccessreviews'))).toHaveLength(result.permissionsChecked);
    expect(result.permissionsChecked).toBeGreaterThan(5 * 60);
    expect(written).toEqual(['obs-metrics', 'obs-logs', 'obs-rules']);
  });

  it('names every permission that is denied', async () => {
    const api = fakeApi(clusterAnswers({ deny: (a) => (a.resource === 'clusterroles' && a.verb === 'create') || (a.resource === 'networkpolicies' && a.namespace === 'tenant-staging' && a.verb === 'delete') }));
    const err = await checkPermissions(api, instanceNamespaces(config)).catch((e: unknown) => e as FailureError);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as Error).message).toBe(
      'the identity of kubernetes.context lacks 2 permissions Lookout needs: create clusterroles.rbac.authorization.k8s.io, delete networkpolicies.networking.k8s.io in tenant-staging',
    );
  });

  it('refuses an unsupported version, a missing storage class, an unwritable bucket and a namespace of someone else', async () => {
    await expect(kubernetesPreflight(config, { api: fakeApi(clusterAnswers({ version: 'v1.27.3' })), s3: writable })).rejects.toThrow(
      'the cluster runs Kubernetes v1.27.3; Lookout supports 1.29 to 1.35',
    );
    await expect(kubernetesPreflight(config, { api: fakeApi(clusterAnswers({ storageClasses: ['gp2'] })), s3: writable })).rejects.toThrow(
      'kubernetes.storageClass: the cluster has no StorageClass "standard" (it has: gp2)',
    );
    const denied = { checkWritable: async (bucket: string) => { if (bucket === 'obs-logs') throw new Error('Access Denied'); } };
    await expect(kubernetesPreflight(config, { api: fakeApi(clusterAnswers()), s3: denied })).rejects.toThrow(
      'the logs bucket obs-logs at https://s3.example.com cannot be written with the keys in LOOKOUT_S3_ACCESS_KEY_ID/LOOKOUT_S3_SECRET_ACCESS_KEY: Access Denied',
    );
    const taken = fakeApi(clusterAnswers({ namespaces: { 'tenant-staging': {}, lookout: { [OWNER_LABEL]: 'other' } } }));
    await expect(kubernetesPreflight(config, { api: taken, s3: writable })).rejects.toThrow(
      'namespaces lookout (instance "other"), tenant-staging already exist and do not belong to instance "obs"',
    );
  });
});

describe('a certificate the user provides', () => {
  const names = instanceCertificateNames('obs.example.com');

  it('is stored once when it covers the names and matches its key, then reused', async () => {
    const store = new SecretStore(fileStore(join(work, 'cert-a')), 'obs', 'pw');
    const pair = await selfSignedCertificate(['obs.example.com', '*.obs.example.com'], { days: 365 });
    const first = await storeProvidedCertificate(store, pair, names);
    expect(first.reused).toBe(false);
    expect(first.info.names).toEqual(names);
    expect((await storeProvidedCertificate(store, pair, names)).reused).toBe(true);
  });

  it('refuses one that misses a name, or a key of another certificate', async () => {
    const store = new SecretStore(fileStore(join(work, 'cert-b')), 'obs', 'pw');
    const narrow = await selfSignedCertificate(['obs.example.com']);
    await expect(storeProvidedCertificate(store, narrow, names)).rejects.toThrow('the provided certificate does not cover *.obs.example.com (it covers obs.example.com)');
    const other = await selfSignedCertificate(['obs.example.com', '*.obs.example.com']);
    await expect(storeProvidedCertificate(store, { certificatePem: other.certificatePem, privateKeyPem: narrow.privateKeyPem }, names)).rejects.toThrow(
      'the provided private key does not belong to the provided certificate',
    );
  });
});
