/**
 * The offline plan: the real stack programs run under Pulumi mocks, and what they register
 * is what `create` would build. No credentials, no network, no engine.
 */
import type { ResolvedConfig } from '../config/load.js';
import { stackNames } from '../naming.js';
import { loadProvider, type ProviderId } from '../providers/registry.js';
import type { CostEstimate } from './cost.js';
import { criticalPath, type CriticalPath } from './critical-path.js';
import { allTenantEndpoints, type TenantEndpoints } from './endpoints.js';
import { runProgramUnderMocks, topLevelComponentOf, type MockedResource } from './mock-runtime.js';
import { silentReporter, type Reporter } from '../progress/events.js';

export type Layer = 'infra' | 'platform' | 'tenant';

export interface PlannedStack {
  stack: string;
  layer: Layer;
  tenant?: string;
  resourceCount: number;
  /** Resource count per type token. */
  byType: Record<string, number>;
  /** Resource count per top-level component (the building block it belongs to). */
  byComponent: Record<string, number>;
  resources: Array<{ type: string; name: string; component: string }>;
}

export interface Plan {
  instance: string;
  provider: ProviderId;
  region: string;
  bundle: string;
  /** Component → pinned image of the bundle. */
  components: Record<string, string>;
  stacks: PlannedStack[];
  totalResources: number;
  cluster: { name: string; kubernetesVersion: string; apiAllowedCidrs: string[]; nodes: string };
  dns: { domain: string; delegation: string };
  endpoints: TenantEndpoints[];
  cost: CostEstimate;
  /** The estimated critical path of `create`: the infra stack's longest chain, then the cluster steps. */
  criticalPath: CriticalPath;
}

function tally(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of [...values].sort()) out[v] = (out[v] ?? 0) + 1;
  return out;
}

export function summarizeStack(stack: string, layer: Layer, resources: readonly MockedResource[], tenant?: string): PlannedStack {
  const rows = resources.map((r) => ({ type: r.type, name: r.name, component: topLevelComponentOf(r, resources) }));
  return {
    stack,
    layer,
    ...(tenant === undefined ? {} : { tenant }),
    resourceCount: rows.length,
    byType: tally(rows.map((r) => r.type)),
    byComponent: tally(rows.map((r) => r.component)),
    resources: rows,
  };
}

/** One stack of the plan with everything its program registered, for `plan --render`. */
export interface PlannedStackRun {
  stack: string;
  layer: Layer;
  tenant?: string;
  resources: MockedResource[];
}

/** Progress of the plan as steps: each program run is one, the tenants' one saying which tenant. */
function planProgress(reporter: Reporter) {
  const started = new Map<string, number>();
  return {
    start(step: string, title: string) {
      started.set(step, Date.now());
      reporter.emit({ type: 'step-started', step, title, attempt: 1 });
    },
    progress(step: string, message: string) {
      reporter.emit({ type: 'step-progress', step, message });
    },
    done(step: string, title: string) {
      reporter.emit({ type: 'step-done', step, title, durationMs: Date.now() - (started.get(step) ?? Date.now()) });
    },
  };
}

export async function buildPlan(config: ResolvedConfig, reporter: Reporter = silentReporter): Promise<Plan> {
  return (await buildPlanWithResources(config, reporter)).plan;
}

/** The plan, and each stack's registered resources (inputs included); progress goes to `reporter`. */
export async function buildPlanWithResources(
  config: ResolvedConfig,
  reporter: Reporter = silentReporter,
): Promise<{ plan: Plan; runs: PlannedStackRun[] }> {
  const progress = planProgress(reporter);
  const provider = await loadProvider(config.provider);
  const names = stackNames(config.name);
  // The provider's layer first: its infra stack under its mocks, and what it gives the cluster.
  const INFRA = `Run the ${config.provider} infrastructure program offline`;
  progress.start('plan:infra', INFRA);
  const infra = await provider.plan(config);
  progress.done('plan:infra', INFRA);
  const stacks = infra.resources.length > 0 ? [summarizeStack(names.infra, 'infra', infra.resources)] : [];
  const runs: PlannedStackRun[] = infra.resources.length > 0 ? [{ stack: names.infra, layer: 'infra', resources: infra.resources }] : [];
  const allResources = [...infra.resources];

  // The cluster's layers, on the mocked infra outputs: what create installs after the infra.
  const [{ platformProgram, PLATFORM_PROJECT }, { tenantProgram, tenantTokenNames, TENANT_PROJECT }, { loadBundle }] = await Promise.all([
    import('../../stacks/platform.js'),
    import('../../stacks/tenant.js'),
    import('../bundle/manifest.js'),
  ]);
  const bundle = loadBundle(config.bundle);
  const { kubeconfig, platform: cloud } = infra.cluster;
  const behaviour = infra.clusterMocks;
  const PLATFORM = 'Run the platform program offline';
  progress.start('plan:platform', PLATFORM);
  const platform = await runProgramUnderMocks(
    platformProgram({
      instance: config.name,
      config,
      bundle,
      kubeconfig,
      cloud,
      // The offline plan never sees real key material.
      tls: { certificatePem: 'plan: certificate issued during create', privateKeyPem: 'plan: key generated during create' },
    }),
    { project: PLATFORM_PROJECT, stack: names.platform, behaviour },
  );
  progress.done('plan:platform', PLATFORM);
  stacks.push(summarizeStack(names.platform, 'platform', platform.resources));
  runs.push({ stack: names.platform, layer: 'platform', resources: platform.resources });
  allResources.push(...platform.resources);

  // The offline plan never generates real credentials: these have the shape of real ones (the
  // gateway checks it) and say what they are.
  const placeholder = (tenant: string, what: string) => `lk_${tenant}_${`PLANNED_${what}_`.padEnd(48, '0')}`;
  const plannedCredentials = (tenant: string, names: string[]) => ({
    tokens: Object.fromEntries(names.map((n) => [n, placeholder(tenant, n)])),
    grafana: { datasourceToken: placeholder(tenant, 'grafana'), adminPassword: 'PLANNEDgeneratedDuringCreate0000' },
    // Expiries count from now, as if the tokens were generated by this run.
    tokensCreatedAt: Object.fromEntries(names.map((n) => [n, new Date().toISOString()])),
  });
  const TENANTS = `Run the tenant program offline for ${config.tenants.length + 1} tenants`;
  progress.start('plan:tenants', TENANTS);
  for (const [i, tenant] of (['system' as const, ...config.tenants] as const).entries()) {
    const tenantName = tenant === 'system' ? 'system' : tenant.name;
    progress.progress('plan:tenants', `${i + 1}/${config.tenants.length + 1}: ${tenantName}`);
    const run = await runProgramUnderMocks(
      tenantProgram({
        instance: config.name,
        tenant,
        domain: config.dns.domain,
        bundle,
        kubeconfig,
        storageClassName: cloud.storageClass.name,
        ...(cloud.ownerLabels ? { ownerLabels: cloud.ownerLabels } : {}),
        gateway: { internalUrl: platform.outputs.gatewayInternalUrl, tenantsSecretName: platform.outputs.tenantsSecretName },
        ...(tenant !== 'system' && tenant.grafana.oidc ? { oidcClientSecret: `plan: read from $${tenant.grafana.oidc.clientSecretEnv}` } : {}),
        credentials: plannedCredentials(tenantName, tenantTokenNames(tenant)),
      }),
      { project: TENANT_PROJECT, stack: names.tenant(tenantName), behaviour },
    );
    stacks.push(summarizeStack(names.tenant(tenantName), 'tenant', run.resources, tenantName));
    runs.push({ stack: names.tenant(tenantName), layer: 'tenant', tenant: tenantName, resources: run.resources });
    allResources.push(...run.resources);
  }
  progress.done('plan:tenants', TENANTS);

  const plan: Plan = {
    instance: config.name,
    provider: config.provider,
    region: infra.region,
    bundle: config.bundle,
    components: Object.fromEntries(Object.entries(bundle.components).map(([k, c]) => [k, `${c.image.repository}:${c.image.tag}`])),
    stacks,
    totalResources: stacks.reduce((n, s) => n + s.resourceCount, 0),
    cluster: infra.summary,
    dns: { domain: config.dns.domain, delegation: infra.delegation },
    endpoints: allTenantEndpoints(config.tenants, config.dns.domain),
    cost: provider.estimateCost(allResources, config),
    criticalPath: criticalPath(infra.resources, provider.createDurations, {
      managesDnsZone: provider.managesDnsZone,
      tenants: config.tenants.length + 1,
    }),
  };
  return { plan, runs };
}
