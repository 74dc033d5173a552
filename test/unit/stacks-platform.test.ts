/**
 * The platform and tenant stacks, run as `plan` runs them (the real programs under mocks, on
 * the example configs): every Kubernetes object valid against the OpenAPI schemas, the
 * workload rules, the resource budgets, and that adding a tenant touches nothing but its own
 * stack and the platform's per-tenant limits.
 */
import { fakeTenantCredentials } from '../support/tenant-credentials.js';
import { describe, expect, it } from 'vitest';
import { defaultUpstreams } from '@lookout/gateway';
import { loadConfig, parseConfigText, type ResolvedConfig } from '../../src/config/load.js';
import { TENANTS_SECRET_MAX_BYTES, tenantsSecretUsage } from '../../src/config/tenant-budget.js';
import { buildPlan } from '../../src/plan/plan.js';
import { createAwsMockBehaviour } from '../../src/providers/aws/mocks.js';
import { withKubernetesMocks } from '../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks, type MockedResource } from '../../src/plan/mock-runtime.js';
import { loadBundle } from '../../src/bundle/manifest.js';
import { awsClusterLayers } from '../../src/providers/aws/cluster.js';
import { platformProgram, PLATFORM_PROJECT } from '../../stacks/platform.js';
import { tenantProgram, TENANT_PROJECT } from '../../stacks/tenant.js';
import { SERVICE_ACCOUNTS } from '@lookout/metrics-store';
import { WORKLOAD_SERVICE_ACCOUNTS } from '../../src/naming.js';
import {
  containersWithoutResources,
  kubernetesTypeOf,
  podSecurityViolations,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  kubernetesObjects,
  workloads,
} from '../support/kubernetes.js';
import { NetworkPolicies, podsOf, type PolicyPod } from '../support/network-policy.js';

import { AWS_RECORDED_INFRA } from '../support/aws-infra.js';
const root = new URL('../..', import.meta.url).pathname;
const infra = AWS_RECORDED_INFRA;
const layers = (config: ResolvedConfig) => awsClusterLayers(config.name, infra);
const behaviour = withKubernetesMocks({ cloud: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }) });

async function platformRun(config: ResolvedConfig, tenantIds?: Record<string, string>) {
  return runProgramUnderMocks(
    platformProgram({
      instance: config.name,
      ...(tenantIds ? { tenantIds } : {}),
      config,
      bundle: loadBundle(config.bundle),
      kubeconfig: layers(config).kubeconfig,
      cloud: layers(config).platform,
      tls: { certificatePem: 'CERT', privateKeyPem: 'KEY' },
    }),
    { project: PLATFORM_PROJECT, stack: `${config.name}-platform`, behaviour },
  );
}

async function tenantRun(
  config: ResolvedConfig,
  tenant: ResolvedConfig['tenants'][number] | 'system',
  tenantId?: string,
  credentials = fakeTenantCredentials(tenant),
) {
  return runProgramUnderMocks(
    tenantProgram({
      instance: config.name,
      ...(tenantId ? { tenantId } : {}),
      tenant,
      domain: config.dns.domain,
      bundle: loadBundle(config.bundle),
      kubeconfig: layers(config).kubeconfig,
      storageClassName: layers(config).platform.storageClass.name,
      gateway: { internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080', tenantsSecretName: 'gateway-tenants' },
      credentials,
    }),
    { project: TENANT_PROJECT, stack: `${config.name}-tenant-${tenant === 'system' ? 'system' : tenant.name}`, behaviour },
  );
}

function byUrn(resources: readonly MockedResource[]): Map<string, string> {
  return new Map(resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
}

describe.each([
  ['examples/aws.yaml', 'prod'],
  ['examples/aws-small.yaml', 'demo'],
])('cluster layers of %s', (file, name) => {
  it('render only valid Kubernetes objects that follow the workload rules', async () => {
    const config = await loadConfig(`${root}${file}`, { provider: 'aws', name });
    const plan = await buildPlan(config);
    expect(plan.stacks.map((s) => s.layer)).toEqual(['infra', 'platform', ...Array(config.tenants.length + 1).fill('tenant')]);
    const platform = await platformRun(config);
    const tenants = await Promise.all(['system' as const, ...config.tenants].map((t) => tenantRun(config, t)));
    const all = [...platform.resources, ...tenants.flatMap((t) => t.resources)];
    // The checks see a real number of objects: a regression that renders nothing fails here.
    expect(kubernetesObjects(all).length).toBeGreaterThan(60);
    expect(validateKubernetesObjects(all)).toEqual([]);
    expect(containersWithoutResources(all)).toEqual([]);
    expect(unexpectedPrivilegedContainers(all)).toEqual([]);
    expect(servingWorkloadsWithoutPdb(all)).toEqual([]);
  });
});

describe('resource budgets', () => {
  it('keep the platform stack within 150 resources and a one-token tenant within 15 state entries', async () => {
    const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const platform = await platformRun(config);
    expect(platform.resources.length).toBeLessThanOrEqual(150);
    const oneToken = await tenantRun(config, { ...config.tenants[0]!, tokens: ['default'] });
    // The state also holds the stack itself.
    expect(oneToken.resources.length + 1).toBeLessThanOrEqual(15);
    // Tokens are data of the tenant's gateway entry, not resources: more tokens, same stack size.
    const threeTokens = await tenantRun(config, { ...config.tenants[0]!, tokens: ['a', 'b', 'c'] });
    expect(threeTokens.resources.length).toBe(oneToken.resources.length);
    expect(threeTokens.resources.some((r) => r.type.startsWith('random:'))).toBe(false);
  });
});

describe('adding a tenant', () => {
  it('changes only the limits ConfigMaps in the platform stack and no other tenant stack', async () => {
    const base = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const added: ResolvedConfig = { ...base, tenants: [...base.tenants, { ...base.tenants[1]!, name: 'newcomer' }] };
    const afterRun = await platformRun(added);
    const [before, after] = [byUrn((await platformRun(base)).resources), byUrn(afterRun.resources)];
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    const changed = afterRun.resources.filter((r) => after.get(r.urn) !== before.get(r.urn));
    expect(changed.map((r) => `${r.type} ${r.inputs.metadata?.name}`).sort()).toEqual([
      'kubernetes:core/v1:ConfigMap cortex-runtime',
      'kubernetes:core/v1:ConfigMap loki-runtime',
    ]);
    for (const tenant of base.tenants) {
      // A tenant's stack depends on its own config only.
      const a = byUrn((await tenantRun(base, tenant)).resources);
      const b = byUrn((await tenantRun(added, tenant)).resources);
      expect(b).toEqual(a);
    }
  });
});

describe('a re-created tenant (stack graph)', () => {
  it('is known to the stores and the gateway only by its new id: limits and token map say acme.2, never acme', async () => {
    const base = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const tenant = base.tenants[0]!;
    const id = `${tenant.name}.2`;
    const platform = await platformRun(base, { [tenant.name]: id });
    for (const name of ['cortex-runtime', 'loki-runtime']) {
      const data = JSON.stringify(platform.resources.find((r) => r.inputs.metadata?.name === name)!.inputs.data);
      expect(data, name).toContain(`${id}`);
      expect(data.replaceAll(id, ''), `${name} still knows the old id`).not.toMatch(new RegExp(`\\b${tenant.name}\\b(?!-)`));
    }
    const run = await tenantRun(base, tenant, id);
    const patch = run.resources.find((r) => r.type === 'kubernetes:core/v1:SecretPatch')!;
    const tokens = Buffer.from(patch.inputs.data[`tokens-${tenant.name}.conf`], 'base64').toString();
    const entries = tokens.split('\n').filter((l) => l.startsWith('token='));
    expect(entries.length).toBeGreaterThan(1);
    for (const entry of entries) expect(entry).toMatch(new RegExp(`:${id.replace('.', '\\.')};$`));
  });
});

describe('the gateway and the stores', () => {
  it('agree on every upstream address', async () => {
    const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const platform = await platformRun(config);
    const upstreams = defaultUpstreams('lookout');
    const services = platform.resources
      .filter((r) => r.type === 'kubernetes:core/v1:Service')
      .map((r) => `http://${r.inputs.metadata.name}.${r.inputs.metadata.namespace}.svc.cluster.local:${r.inputs.spec.ports[0].port}`);
    for (const key of ['distributor', 'queryFrontend', 'ruler', 'alertmanager', 'lokiWrite', 'lokiRead', 'lokiBackend'] as const) {
      expect(services, key).toContain(upstreams[key]);
    }
  });
});

describe('isolation of the platform', async () => {
  const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
  const platform = await platformRun(config);
  const tenant = await tenantRun(config, config.tenants[0]!);
  const all = [...platform.resources, ...tenant.resources];
  const objects = kubernetesObjects(all);
  const namespaces = new Map(objects.filter((r) => kubernetesTypeOf(r.type)!.kind === 'Namespace').map((r) => [r.inputs.metadata.name, r.inputs.metadata.labels]));
  const policies = new NetworkPolicies(all);
  const pods = podsOf(all);
  const pod = (key: string): PolicyPod => {
    const found = pods.get(key);
    if (!found) throw new Error(`no pod ${key}; pods: ${[...pods.keys()].join(', ')}`);
    return found;
  };
  const kubeDns: PolicyPod = { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const IMDS = { ip: '169.254.169.254' };
  const POD_IDENTITY_AGENT = { ip: '169.254.170.23' };
  const NODE = { ip: '10.0.17.4' }; // in the VPC: a node, or a pod of the VPC CNI
  const SERVICE_IP = { ip: '172.20.31.7' }; // in the Service CIDR
  const INTERNET = { ip: '203.0.113.9' }; // a webhook receiver
  const S3 = { ip: '52.218.1.1' };

  it('runs the platform namespace at Pod Security restricted, and only the collector and node-exporter in a privileged namespace of their own', () => {
    expect(namespaces.get('lookout')?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(namespaces.get('lookout')?.['pod-security.kubernetes.io/warn']).toBe('restricted');
    expect(namespaces.get('lookout-node')?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const levelOf = (ns: string) => namespaces.get(ns)?.['pod-security.kubernetes.io/enforce'] as 'privileged' | 'baseline' | 'restricted';
    const inNode = workloads(all).filter((w) => w.inputs.metadata.namespace === 'lookout-node').map((w) => w.inputs.metadata.name).sort();
    expect(inNode).toEqual(['alloy', 'node-exporter']);
    const violations = workloads(all).flatMap((w) => podSecurityViolations(w, levelOf(w.inputs.metadata.namespace)));
    expect(violations).toEqual([]);
    // The checker is real: the two host workloads would break restricted and baseline.
    const hostWorkloads = workloads(all).filter((w) => w.inputs.metadata.namespace === 'lookout-node');
    for (const w of hostWorkloads) expect(podSecurityViolations(w, 'baseline').join('\n')).toMatch(/hostPath volume/);
  });

  it('gives the ruler and the Alertmanager service accounts of their own, with their own roles, and mounts no token where nothing uses it', () => {
    const accounts = objects.filter((r) => kubernetesTypeOf(r.type)!.kind === 'ServiceAccount' && r.inputs.metadata.namespace === 'lookout');
    const roleOf = (name: string) => accounts.find((a) => a.inputs.metadata.name === name)?.inputs.metadata.annotations?.['eks.amazonaws.com/role-arn'];
    expect(roleOf('cortex')).toBe('arn:aws:iam::123456789012:role/lookout-prod-metrics-store');
    expect(roleOf('cortex-ruler')).toBe('arn:aws:iam::123456789012:role/lookout-prod-ruler');
    expect(roleOf('cortex-alertmanager')).toBe('arn:aws:iam::123456789012:role/lookout-prod-alertmanager');
    // The infra stack binds its roles to the same names the metrics store runs its pods as.
    expect([WORKLOAD_SERVICE_ACCOUNTS.metricsStore.name, WORKLOAD_SERVICE_ACCOUNTS.ruler.name, WORKLOAD_SERVICE_ACCOUNTS.alertmanager.name]).toEqual([
      SERVICE_ACCOUNTS.blocks,
      SERVICE_ACCOUNTS.ruler,
      SERVICE_ACCOUNTS.alertmanager,
    ]);
    const saOf = (key: string) => workloads(all).find((w) => `${w.inputs.metadata.namespace}/${w.inputs.metadata.name}` === key)!.inputs.spec.template.spec;
    expect(saOf('lookout/cortex-ruler').serviceAccountName).toBe('cortex-ruler');
    expect(saOf('lookout/cortex-alertmanager').serviceAccountName).toBe('cortex-alertmanager');
    // A token only where something uses it: the cloud identities (the pod identity webhook
    // needs it), the collector and kube-state-metrics (the API server).
    const withToken = workloads(all)
      .filter((w) => w.inputs.spec.template.spec.automountServiceAccountToken !== false)
      .map((w) => `${w.inputs.metadata.namespace}/${w.inputs.metadata.name}`)
      .sort();
    expect(withToken).toEqual(
      ['alertmanager', 'compactor', 'ingester', 'querier', 'ruler', 'store-gateway'].map((c) => `lookout/cortex-${c}`).concat(['lookout/kube-state-metrics', 'lookout/loki-backend', 'lookout/loki-read', 'lookout/loki-write', 'lookout-node/alloy']).sort(),
    );
  });

  it('keeps a tenant-steered Alertmanager from calling into the cluster, while it can still notify the internet', () => {
    const am = pod('lookout/cortex-alertmanager');
    // The issue's reproduction: an ingester's /ingester/shutdown, Loki's /flush.
    expect(policies.allows(am, { pod: pod('lookout/cortex-ingester') }, 8080)).toBe(false);
    expect(policies.allows(am, { pod: pod('lookout/loki-write') }, 3100)).toBe(false);
    expect(policies.allows(am, { pod: pod('lookout/loki-backend') }, 3100)).toBe(false);
    expect(policies.allows(am, { pod: pod('lookout/gateway') }, 8080)).toBe(false);
    for (const address of [IMDS, NODE, SERVICE_IP, { ip: '127.0.0.1' }, { ip: '0.0.0.0' }, { ip: '100.64.3.3' }, { ip: '192.168.1.1' }]) {
      expect(policies.allows(am, address, 8080), address.ip).toBe(false);
      expect(policies.allows(am, address, 443), address.ip).toBe(false);
    }
    // Receivers on the internet, on any port; its peers; DNS.
    expect(policies.allows(am, INTERNET, 443)).toBe(true);
    expect(policies.allows(am, INTERNET, 8080)).toBe(true);
    expect(policies.allows(am, { pod: am }, 9095)).toBe(true);
    expect(policies.allows(am, { pod: kubeDns }, 53, 'UDP')).toBe(true);
  });

  it('lets each Cortex and Loki workload reach what it calls and nothing else', () => {
    const p = (name: string) => pod(`lookout/${name}`);
    const allowed: Array<[string, string | { ip: string }, number, boolean]> = [
      ['cortex-distributor', 'cortex-ingester', 9095, true],
      ['cortex-distributor', 'cortex-ingester', 8080, false],
      ['cortex-distributor', S3 as never, 443, false],
      ['cortex-querier', 'cortex-store-gateway', 9095, true],
      ['cortex-querier', 'cortex-query-frontend', 9095, true],
      ['cortex-ruler', 'cortex-alertmanager', 8080, true],
      ['cortex-ruler', 'cortex-query-frontend', 9095, true],
      ['cortex-ruler', 'cortex-ingester', 8080, false],
      ['cortex-ruler', 'cortex-store-gateway', 9095, false],
      ['cortex-ruler', INTERNET as never, 8080, false],
      ['cortex-ingester', S3 as never, 443, true],
      ['cortex-ingester', POD_IDENTITY_AGENT as never, 80, true],
      ['cortex-ingester', IMDS as never, 80, false],
      ['cortex-query-frontend', 'cortex-querier', 9095, false],
      ['cortex-overrides-exporter', S3 as never, 443, false],
      ['loki-write', 'loki-backend', 9095, true],
      ['loki-read', 'loki-backend', 3100, true],
      ['loki-backend', 'cortex-alertmanager', 8080, true],
      ['loki-write', 'cortex-alertmanager', 8080, false],
      ['loki-read', 'cortex-ingester', 9095, false],
      ['loki-write', POD_IDENTITY_AGENT as never, 80, true],
      ['loki-write', IMDS as never, 80, false],
      ['gateway', 'cortex-distributor', 8080, true],
      ['gateway', 'loki-write', 3100, true],
      ['gateway', 'cortex-ingester', 8080, false],
      ['gateway', 'loki-backend', 9095, false],
      ['gateway', IMDS as never, 80, false],
      ['gateway', INTERNET as never, 443, false],
      ['kube-state-metrics', SERVICE_IP as never, 443, true],
      ['kube-state-metrics', INTERNET as never, 443, false],
    ];
    for (const [from, to, port, expected] of allowed) {
      const destination = typeof to === 'string' ? { pod: p(to) } : to;
      expect(policies.allows(p(from), destination, port), `${from} → ${typeof to === 'string' ? to : to.ip}:${port}`).toBe(expected);
    }
    // Every platform pod resolves names.
    for (const [key, source] of pods) if (key.startsWith('lookout/')) expect(policies.allows(source, { pod: kubeDns }, 53, 'UDP'), key).toBe(true);
    // The tenant's Grafana goes through the gateway, never to a store directly.
    const grafana = pod(`tenant-${config.tenants[0]!.name}/grafana`);
    expect(policies.allows(pod('lookout/gateway'), { pod: grafana }, 3000)).toBe(true);
    expect(policies.allows(grafana, { pod: pod('lookout/gateway') }, 8080)).toBe(true);
    expect(policies.allows(grafana, { pod: pod('lookout/cortex-distributor') }, 8080)).toBe(false);
  });

  it('keeps node-exporter and the collector away from the instance metadata service, node-exporter from everything', () => {
    const exporter = pod('lookout-node/node-exporter');
    const alloy = pod('lookout-node/alloy');
    for (const address of [IMDS, POD_IDENTITY_AGENT, NODE, INTERNET]) {
      for (const port of [80, 443]) expect(policies.allows(exporter, address, port), `node-exporter → ${address.ip}:${port}`).toBe(false);
    }
    expect(policies.allows(exporter, { pod: kubeDns }, 53, 'UDP')).toBe(false);
    expect(policies.allows(alloy, { pod: exporter }, 9100)).toBe(true);
    expect(policies.allows(pod('lookout/gateway'), { pod: exporter }, 9100)).toBe(false);
    expect(policies.allows(alloy, IMDS, 80)).toBe(false);
    expect(policies.allows(alloy, INTERNET, 443)).toBe(false);
    // What it does need: kubelets, the API server, the platform's pods and its stores.
    expect(policies.allows(alloy, NODE, 10250)).toBe(true);
    expect(policies.allows(alloy, SERVICE_IP, 443)).toBe(true);
    expect(policies.allows(alloy, { pod: pod('lookout/cortex-distributor') }, 8080)).toBe(true);
    expect(policies.allows(alloy, { pod: pod('lookout/loki-write') }, 3100)).toBe(true);
    expect(policies.allows(alloy, { pod: pod('lookout/cortex-ingester') }, 8080)).toBe(true);
    expect(policies.allows(alloy, { pod: pod('lookout/gateway') }, 8443)).toBe(true);
    expect(policies.allows(alloy, { pod: kubeDns }, 53, 'UDP')).toBe(true);
  });
});

describe("the gateway's shared tenants Secret", () => {
  /** The bytes of `data` as Kubernetes counts them (decoded values), per resource. */
  const dataBytes = (r: MockedResource) =>
    Object.values((r.inputs.data ?? {}) as Record<string, string>).reduce((n, v) => n + Buffer.from(v, 'base64').length, 0);

  it('is sized by validation exactly as the platform and tenant stacks fill it', async () => {
    const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const withTokens = { ...config, tenants: config.tenants.map((t, i) => ({ ...t, tokens: Array.from({ length: i + 2 }, (_, j) => `token-${j}`) })) };
    const platform = await platformRun(withTokens);
    const readme = platform.resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata?.name === 'gateway-tenants')!;
    let bytes = dataBytes(readme);
    for (const tenant of ['system' as const, ...withTokens.tenants]) {
      const run = await tenantRun(withTokens, tenant);
      const patches = run.resources.filter((r) => r.type === 'kubernetes:core/v1:SecretPatch' && r.inputs.metadata?.name === 'gateway-tenants');
      expect(patches).toHaveLength(1);
      bytes += dataBytes(patches[0]!);
    }
    // These stacks ran with each tenant's first id, its name; validation, not knowing the ids, sizes each with the longest.
    expect(tenantsSecretUsage(withTokens.tenants, { ids: Object.fromEntries(withTokens.tenants.map((t) => [t.name, t.name])) })?.bytes).toBe(bytes);
    expect(tenantsSecretUsage(withTokens.tenants)!.bytes).toBeGreaterThan(bytes);
  });

  it('sizes scoped and expiring tokens, a re-created tenant’s id and an allow-list from the entries the tenant stacks render', async () => {
    const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const [first, second] = config.tenants;
    const scoped: ResolvedConfig['tenants'][number] = {
      ...first!,
      tokens: [{ name: 'agent', scope: 'write', expiresInDays: 30 }, { name: 'dash', scope: 'read' }, { name: 'ops', scope: 'admin', expiresInDays: 3650 }, 'plain'],
      allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
    };
    const recreated: ResolvedConfig['tenants'][number] = { ...second!, tokens: ['default', { name: 'ci', scope: 'all', expiresInDays: 7 }] };
    const withScopes = { ...config, tenants: [scoped, recreated] };
    const ids = { [scoped.name]: scoped.name, [recreated.name]: `${recreated.name}.12` };
    const createdAt = new Date('2026-01-01T00:00:00Z').toISOString();
    const platform = await platformRun(withScopes);
    const readme = platform.resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata?.name === 'gateway-tenants')!;
    let bytes = dataBytes(readme);
    for (const tenant of ['system' as const, ...withScopes.tenants]) {
      const fake = fakeTenantCredentials(tenant);
      const credentials = { ...fake, tokensCreatedAt: Object.fromEntries(Object.keys(fake.tokens).map((n) => [n, createdAt])) };
      const run = await tenantRun(withScopes, tenant, tenant === 'system' ? undefined : ids[tenant.name], credentials);
      const patch = run.resources.find((r) => r.type === 'kubernetes:core/v1:SecretPatch' && r.inputs.metadata?.name === 'gateway-tenants')!;
      bytes += dataBytes(patch);
    }
    // Exactly what the stacks write, once the ids are known; without them, never less.
    expect(tenantsSecretUsage(withScopes.tenants, { ids })!.bytes).toBe(bytes);
    expect(tenantsSecretUsage(withScopes.tenants)!.bytes).toBeGreaterThanOrEqual(bytes);
    // What sizing the same tenants as unscoped tokens of first-generation tenants (the old estimate) missed.
    const asPlain = withScopes.tenants.map((t) => ({ name: t.name, tokens: t.tokens.map((k) => (typeof k === 'string' ? k : k.name)) }));
    expect(tenantsSecretUsage(asPlain, { ids: { [scoped.name]: scoped.name, [recreated.name]: recreated.name } })!.bytes).toBeLessThan(bytes - 200);
  });

  it('refuses, at validation, the first token that would not fit in 1 MiB', () => {
    const configWith = (tokens: number) =>
      `aws: { region: eu-west-1, apiAllowedCidrs: [10.0.0.0/8] }\ndns: { domain: obs.example.com }\n` +
      `tenants:\n  - name: team-a\n    tokens: [${Array.from({ length: tokens }, (_, i) => `t${i}`).join(', ')}]\n`;
    // The most tokens that fit, found by bisection on the renderer's own sizes.
    const size = (tokens: number) => tenantsSecretUsage([{ name: 'team-a', tokens: Array(tokens).fill('x') }])!.bytes;
    let [fits, tooMany] = [1, 20_000];
    while (tooMany - fits > 1) {
      const mid = Math.floor((fits + tooMany) / 2);
      if (size(mid) <= TENANTS_SECRET_MAX_BYTES) fits = mid;
      else tooMany = mid;
    }
    expect(fits).toBeGreaterThan(6_500);
    expect(() => parseConfigText(configWith(fits), 'x.yaml', { provider: 'aws', name: 'prod' })).not.toThrow();
    expect(() => parseConfigText(configWith(fits + 1), 'x.yaml', { provider: 'aws', name: 'prod' })).toThrow(
      /tenants\[0\]\.tokens: these [\d,]+ tokens need 1,04[89],\d{3} bytes in the gateway's shared Kubernetes Secret/,
    );
  });
});
