/**
 * Upgrades from every shipped bundle to the newest, under Pulumi mocks: the path and its
 * migrations are complete, the platform and tenant programs plan cleanly at both ends, and
 * the resources that change are exactly the expected ones. A new bundle without an entry in
 * UPGRADE_PATHS fails the guard: every bundle ships with a tested upgrade path to it.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { availableBundles, loadBundle, type BundleManifest } from '../../src/bundle/manifest.js';
import { bundlePath, MIGRATIONS, plannedMigrations } from '../../src/bundle/migrations.js';
import { createAwsMockBehaviour } from '../../src/providers/aws/mocks.js';
import { withKubernetesMocks } from '../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks, type MockedResource } from '../../src/plan/mock-runtime.js';
import { awsClusterLayers } from '../../src/providers/aws/cluster.js';
import { platformProgram, PLATFORM_PROJECT } from '../../stacks/platform.js';
import { tenantProgram, TENANT_PROJECT } from '../../stacks/tenant.js';
import { fakeTenantCredentials } from '../support/tenant-credentials.js';

import { AWS_RECORDED_INFRA } from '../support/aws-infra.js';
const root = new URL('../..', import.meta.url).pathname;
const infra = AWS_RECORDED_INFRA;
const behaviour = withKubernetesMocks({ cloud: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }) });

/**
 * What an upgrade from each shipped bundle to the newest changes in the platform stack
 * (`<type> <name>`), and the migrations it runs. Add the new bundle's line here when you add
 * a bundle (docs/releasing.md): the guard below fails until you do.
 */
const UPGRADE_PATHS: Record<string, { platformChanges: string[]; migrations: string[] }> = {
  '2026.11.0': {
    // New images roll every workload in place (none is replaced); Loki's config changes with
    // the move to ruler_storage; Cortex's config does not. Everything else only gets the new
    // version label.
    platformChanges: [
      'update kubernetes:apps/v1:DaemonSet node-exporter',
      'update kubernetes:apps/v1:Deployment cortex-distributor',
      'update kubernetes:apps/v1:Deployment cortex-overrides-exporter',
      'update kubernetes:apps/v1:Deployment cortex-querier',
      'update kubernetes:apps/v1:Deployment cortex-query-frontend',
      'update kubernetes:apps/v1:Deployment cortex-ruler',
      'update kubernetes:apps/v1:Deployment gateway',
      'update kubernetes:apps/v1:Deployment kube-state-metrics',
      'update kubernetes:apps/v1:Deployment loki-read',
      'update kubernetes:apps/v1:StatefulSet cortex-alertmanager',
      'update kubernetes:apps/v1:StatefulSet cortex-compactor',
      'update kubernetes:apps/v1:StatefulSet cortex-ingester',
      'update kubernetes:apps/v1:StatefulSet cortex-store-gateway',
      'update kubernetes:apps/v1:StatefulSet loki-backend',
      'update kubernetes:apps/v1:StatefulSet loki-write',
      'update kubernetes:core/v1:ConfigMap loki-config',
    ],
    migrations: ['loki-ruler-storage'],
  },
};

async function platformRun(config: ResolvedConfig, bundle: BundleManifest) {
  const layers = awsClusterLayers(config.name, infra);
  return runProgramUnderMocks(
    platformProgram({ instance: config.name, config, bundle, kubeconfig: layers.kubeconfig, cloud: layers.platform, tls: { certificatePem: 'CERT', privateKeyPem: 'KEY' } }),
    { project: PLATFORM_PROJECT, stack: `${config.name}-platform`, behaviour },
  );
}

async function tenantRun(config: ResolvedConfig, bundle: BundleManifest, tenant: ResolvedConfig['tenants'][number] | 'system') {
  const layers = awsClusterLayers(config.name, infra);
  return runProgramUnderMocks(
    tenantProgram({
      instance: config.name,
      tenant,
      domain: config.dns.domain,
      bundle,
      kubeconfig: layers.kubeconfig,
      storageClassName: layers.platform.storageClass.name,
      gateway: { internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080', tenantsSecretName: 'gateway-tenants' },
      credentials: fakeTenantCredentials(tenant),
    }),
    { project: TENANT_PROJECT, stack: `${config.name}-tenant-${tenant === 'system' ? 'system' : tenant.name}`, behaviour },
  );
}

const VERSION_LABEL = 'app.kubernetes.io/version';

/** The inputs without the version label, which every object of a component carries. */
function withoutVersionLabel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVersionLabel);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== VERSION_LABEL).map(([k, v]) => [k, withoutVersionLabel(v)]));
  }
  return value;
}

/**
 * Fields whose change makes the Kubernetes provider replace the object (delete and create):
 * immutable in the API (a StatefulSet's selector, serviceName and volumeClaimTemplates, a
 * Deployment's selector), or, for a Service, its clusterIP.
 */
const REPLACE_FIELDS = ['spec.selector', 'spec.serviceName', 'spec.volumeClaimTemplates', 'spec.clusterIP'];
const at = (value: unknown, path: string) => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], value);

/**
 * What the upgrade does to each resource, as the preview shows it: `create`, `delete`,
 * `replace` (naming the immutable field), `update` (a spec or data change), and `relabel`
 * (only the version label changes: an in-place metadata update).
 */
function changed(before: readonly MockedResource[], after: readonly MockedResource[]): string[] {
  const old = new Map(before.map((r) => [r.urn, r.inputs]));
  const now = new Set(after.map((r) => r.urn));
  const label = (r: MockedResource) => `${r.type} ${r.inputs.metadata?.name ?? r.name}`;
  const out = [...before.filter((r) => !now.has(r.urn)).map((r) => `delete ${label(r)}`)];
  for (const r of after) {
    const prior = old.get(r.urn);
    if (prior === undefined) out.push(`create ${label(r)}`);
    else if (JSON.stringify(prior) === JSON.stringify(r.inputs)) continue;
    else {
      const replaced = REPLACE_FIELDS.filter((f) => JSON.stringify(at(prior, f)) !== JSON.stringify(at(r.inputs, f)));
      if (replaced.length) out.push(`replace ${label(r)} (${replaced.join(', ')})`);
      else if (JSON.stringify(withoutVersionLabel(prior)) === JSON.stringify(withoutVersionLabel(r.inputs))) out.push(`relabel ${label(r)}`);
      else out.push(`update ${label(r)}`);
    }
  }
  return out.sort();
}

const shipped = availableBundles();
const newest = shipped.at(-1)!;

describe('the shipped bundles', () => {
  it('chain: each names the one before it as previous, and the first none', () => {
    expect(loadBundle(shipped[0]!).previous).toBeNull();
    for (let i = 1; i < shipped.length; i++) expect(loadBundle(shipped[i]!).previous, shipped[i]).toBe(shipped[i - 1]);
  });

  it('guard: every bundle but the newest has a tested upgrade path to the newest, and no stale entry is left', () => {
    expect(Object.keys(UPGRADE_PATHS).sort()).toEqual(shipped.slice(0, -1).sort());
  });
});

describe.each(shipped.slice(0, -1))('upgrade from %s to the newest bundle', (from) => {
  const expected = UPGRADE_PATHS[from];

  it('follows the chain, and every migration on it is implemented', () => {
    const path = bundlePath(from, newest);
    expect(path.at(-1)!.version).toBe(newest);
    const planned = plannedMigrations(from, newest);
    expect(planned.map((m) => m.id)).toEqual(expected?.migrations);
    for (const m of planned) expect(MIGRATIONS[m.id], m.id).toBeDefined();
  });

  it('plans cleanly at both ends, and changes exactly the expected platform resources and no tenant stack', async () => {
    const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
    const before = await platformRun(config, loadBundle(from));
    const after = await platformRun({ ...config, bundle: newest }, loadBundle(newest));
    const changes = changed(before.resources, after.resources);
    expect(changes.filter((c) => !c.startsWith('relabel '))).toEqual(expected?.platformChanges);
    // Nothing is recreated that did not need to be: every other change is the version label.
    expect(changes.filter((c) => /^(create|delete|replace) /.test(c))).toEqual(expected?.platformChanges.filter((c) => /^(create|delete|replace) /.test(c)));
    for (const tenant of ['system' as const, ...config.tenants]) {
      const a = await tenantRun(config, loadBundle(from), tenant);
      const b = await tenantRun({ ...config, bundle: newest }, loadBundle(newest), tenant);
      expect(changed(a.resources, b.resources), tenant === 'system' ? tenant : tenant.name).toEqual(
        loadBundle(from).components.grafana.image.tag === loadBundle(newest).components.grafana.image.tag ? [] : expect.anything(),
      );
    }
  });
});
