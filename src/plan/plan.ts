/**
 * The offline plan: the real stack programs run under Pulumi mocks, and what they register
 * is what `create` would build. No credentials, no network, no engine.
 */
import type { ResolvedConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { awsNames, stackNames } from '../naming.js';
import { estimateAwsCost, type CostEstimate } from './cost.js';
import { allTenantEndpoints, type TenantEndpoints } from './endpoints.js';
import { runProgramUnderMocks, topLevelComponentOf, type MockedResource } from './mock-runtime.js';

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
  provider: 'aws' | 'gcp';
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

/** Placeholder identity for the offline plan; real runs use the caller's identity. */
const PLAN_ACCOUNT_ID = '123456789012';

export async function buildPlan(config: ResolvedConfig): Promise<Plan> {
  if (config.provider !== 'aws' || !config.aws) {
    throw new UsageError(`provider "${config.provider}" is not supported yet; only aws is`, {
      hint: 'GCP support is planned. Use `lookout plan aws <name> -c <file>` for now.',
    });
  }
  const aws = config.aws;
  const [{ infraAwsProgram, INFRA_AWS_PROJECT }, { createAwsMockBehaviour, mockNlbHostname }] = await Promise.all([
    import('../providers/aws/infra-stack.js'),
    import('../providers/aws/mocks.js'),
  ]);
  const names = stackNames(config.name);
  const infra = await runProgramUnderMocks(
    infraAwsProgram({
      instance: config.name,
      config,
      adminPrincipalArn: `arn:aws:iam::${PLAN_ACCOUNT_ID}:role/admin`,
      ...(config.dns.parentZone ? { parentZoneId: config.dns.parentZone } : {}),
    }),
    {
      project: INFRA_AWS_PROJECT,
      stack: names.infra,
      behaviour: createAwsMockBehaviour({ region: aws.region, accountId: PLAN_ACCOUNT_ID }),
    },
  );
  const stacks = [summarizeStack(names.infra, 'infra', infra.resources)];
  const allResources = [...infra.resources];

  // The cluster's layers, on the mocked infra outputs: what create installs after the infra.
  const [{ platformProgram, PLATFORM_PROJECT }, { tenantProgram, TENANT_PROJECT }, { withKubernetesMocks }, { loadBundle }] =
    await Promise.all([
      import('../../stacks/platform.js'),
      import('../../stacks/tenant.js'),
      import('./k8s-mocks.js'),
      import('../bundle/manifest.js'),
    ]);
  const bundle = loadBundle(config.bundle);
  const infraOutputs = infra.outputs as unknown as import('../providers/aws/infra-stack.js').InfraAwsOutputs;
  const behaviour = withKubernetesMocks({
    cloud: createAwsMockBehaviour({ region: aws.region, accountId: PLAN_ACCOUNT_ID }),
    loadBalancerIngress: (name) => ({ hostname: mockNlbHostname(name, aws.region) }),
  });
  const cluster = {
    clusterName: infraOutputs.clusterName,
    endpoint: infraOutputs.clusterEndpoint,
    certificateAuthorityData: 'UExBTg==',
    region: aws.region,
  };
  const platform = await runProgramUnderMocks(
    platformProgram({
      instance: config.name,
      config,
      bundle,
      cluster,
      storage: {
        region: aws.region,
        metricsBucket: infraOutputs.buckets.metrics,
        logsBucket: infraOutputs.buckets.logs,
        rulesBucket: infraOutputs.buckets.rules,
      },
      dns: { zoneId: infraOutputs.zoneId },
      // The offline plan never sees real key material.
      tls: { certificatePem: 'plan: certificate issued during create', privateKeyPem: 'plan: key generated during create' },
      metricsStoreRoleArn: infraOutputs.roleArns.metricsStore,
    }),
    { project: PLATFORM_PROJECT, stack: names.platform, behaviour },
  );
  stacks.push(summarizeStack(names.platform, 'platform', platform.resources));
  allResources.push(...platform.resources);

  for (const tenant of ['system' as const, ...config.tenants]) {
    const tenantName = tenant === 'system' ? 'system' : tenant.name;
    const run = await runProgramUnderMocks(
      tenantProgram({
        instance: config.name,
        tenant,
        domain: config.dns.domain,
        bundle,
        cluster,
        gateway: { internalUrl: platform.outputs.gatewayInternalUrl, tenantsSecretName: platform.outputs.tenantsSecretName },
        ...(tenant !== 'system' && tenant.grafana.oidc ? { oidcClientSecret: `plan: read from $${tenant.grafana.oidc.clientSecretEnv}` } : {}),
      }),
      { project: TENANT_PROJECT, stack: names.tenant(tenantName), behaviour },
    );
    stacks.push(summarizeStack(names.tenant(tenantName), 'tenant', run.resources, tenantName));
    allResources.push(...run.resources);
  }

  return {
    instance: config.name,
    provider: config.provider,
    region: aws.region,
    bundle: config.bundle,
    components: Object.fromEntries(Object.entries(bundle.components).map(([k, c]) => [k, `${c.image.repository}:${c.image.tag}`])),
    stacks,
    totalResources: stacks.reduce((n, s) => n + s.resourceCount, 0),
    cluster: {
      name: awsNames(config.name).clusterName,
      kubernetesVersion: aws.kubernetesVersion,
      apiAllowedCidrs: aws.apiAllowedCidrs,
      nodes: `${aws.nodes.desired} × ${aws.nodes.instanceType} (min ${aws.nodes.min}, max ${aws.nodes.max})`,
    },
    dns: {
      domain: config.dns.domain,
      delegation: config.dns.parentZone
        ? `NS records added to parent zone ${config.dns.parentZone}`
        : 'NS records added to the parent zone if it is in the account, otherwise printed for you to add',
    },
    endpoints: allTenantEndpoints(config.tenants, config.dns.domain),
    cost: estimateAwsCost(allResources, aws.nodes),
  };
}
