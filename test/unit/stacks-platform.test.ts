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
import {
  containersWithoutResources,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  kubernetesObjects,
} from '../support/kubernetes.js';

const root = new URL('../..', import.meta.url).pathname;
/** What the AWS infra step records, as the cluster layers read it. */
const infra = {
  clusterName: 'lookout-prod',
  clusterEndpoint: 'https://example.eks.amazonaws.com',
  clusterCertificateAuthority: 'Q0E=',
  region: 'eu-west-1',
  buckets: { metrics: 'lookout-prod-metrics-0123abcd', logs: 'lookout-prod-logs-0123abcd', rules: 'lookout-prod-rules-0123abcd' },
  zoneId: 'Z1',
  roleArns: { metricsStore: 'arn:aws:iam::123456789012:role/lookout-prod-metrics-store' },
};
const layers = (config: ResolvedConfig) => awsClusterLayers(config.name, infra);
const behaviour = withKubernetesMocks({ cloud: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }) });

async function platformRun(config: ResolvedConfig) {
  return runProgramUnderMocks(
    platformProgram({
      instance: config.name,
      config,
      bundle: loadBundle(config.bundle),
      kubeconfig: layers(config).kubeconfig,
      cloud: layers(config).platform,
      tls: { certificatePem: 'CERT', privateKeyPem: 'KEY' },
    }),
    { project: PLATFORM_PROJECT, stack: `${config.name}-platform`, behaviour },
  );
}

async function tenantRun(config: ResolvedConfig, tenant: ResolvedConfig['tenants'][number] | 'system') {
  return runProgramUnderMocks(
    tenantProgram({
      instance: config.name,
      tenant,
      domain: config.dns.domain,
      bundle: loadBundle(config.bundle),
      kubeconfig: layers(config).kubeconfig,
      storageClassName: layers(config).platform.storageClass.name,
      gateway: { internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080', tenantsSecretName: 'gateway-tenants' },
      credentials: fakeTenantCredentials(tenant),
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
    expect(tenantsSecretUsage(withTokens.tenants)?.bytes).toBe(bytes);
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
    expect(fits).toBeGreaterThan(7_000);
    expect(() => parseConfigText(configWith(fits), 'x.yaml', { provider: 'aws', name: 'prod' })).not.toThrow();
    expect(() => parseConfigText(configWith(fits + 1), 'x.yaml', { provider: 'aws', name: 'prod' })).toThrow(
      /tenants\[0\]\.tokens: these [\d,]+ tokens need 1,04[89],\d{3} bytes in the gateway's shared Kubernetes Secret/,
    );
  });
});
