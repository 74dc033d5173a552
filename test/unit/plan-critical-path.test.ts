/**
 * The critical path `plan` estimates for `create`, on the shipped examples: the infra stack's
 * longest chain follows real dependency edges of the program under mocks (network, then the
 * cluster, then its nodes), weighed by the provider's table, then the cluster steps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { STEP_SECONDS, UNKNOWN_TYPE_SECONDS } from '../../src/plan/critical-path.js';
import type { MockedResource } from '../../src/plan/mock-runtime.js';
import { buildPlanWithResources } from '../../src/plan/plan.js';
import { renderPlan } from '../../src/plan/render.js';
import { loadProvider, type ProviderId } from '../../src/providers/registry.js';

const root = new URL('../..', import.meta.url).pathname;

async function planOf(provider: ProviderId, file: string, name: string) {
  const config = await loadConfig(`${root}${file}`, { provider, name });
  const { plan, runs } = await buildPlanWithResources(config);
  const infra = runs.find((r) => r.layer === 'infra')?.resources ?? [];
  return { config, plan, infra, table: (await loadProvider(provider)).createDurations };
}

/** True when `to` waits for `from`, directly or through other resources of the stack. */
function waitsFor(resources: readonly MockedResource[], to: MockedResource, from: MockedResource): boolean {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const stack = [...to.dependencies];
  while (stack.length > 0) {
    const urn = stack.pop()!;
    if (urn === from.urn) return true;
    if (seen.has(urn)) continue;
    seen.add(urn);
    stack.push(...(byUrn.get(urn)?.dependencies ?? []));
  }
  return false;
}

const STEPS_AFTER_INFRA = ['kubeconfig', 'dns-delegation', 'tls', 'platform', 'tenants', 'system-alerting', 'verify'];

describe.each([
  { provider: 'gcp' as const, file: 'examples/gcp.yaml', network: 'gcp:compute/network:Network', cluster: 'gcp:container/cluster:Cluster', nodes: 'gcp:container/nodePool:NodePool' },
  { provider: 'aws' as const, file: 'examples/aws.yaml', network: 'aws:ec2/vpc:Vpc', cluster: 'aws:eks/cluster:Cluster', nodes: 'aws:eks/nodeGroup:NodeGroup' },
])('the critical path of create $provider', ({ provider, file, network, cluster, nodes }) => {
  it('starts at the network and goes through the cluster to its nodes, each link waiting for the one before', async () => {
    const { plan, infra } = await planOf(provider, file, 'prod');
    const resourceLinks = plan.criticalPath.links.filter((l) => l.kind === 'resource');
    const types = resourceLinks.map((l) => l.type);
    expect(types[0]).toBe(network);
    expect(types.indexOf(cluster)).toBeGreaterThan(0);
    expect(types.indexOf(nodes)).toBeGreaterThan(types.indexOf(cluster));
    // The chain is made of real edges the program registered, not of the table's order.
    const resources = resourceLinks.map((l) => infra.find((r) => r.type === l.type && r.name === l.name)!);
    for (const [i, r] of resources.entries()) if (i > 0) expect(waitsFor(infra, r, resources[i - 1]!), `${r.name} waits for ${resources[i - 1]!.name}`).toBe(true);
    // And not every resource waits for everything: the buckets do not wait for the cluster.
    const bucket = infra.find((r) => r.type.endsWith('/bucket:Bucket'))!;
    expect(waitsFor(infra, bucket, infra.find((r) => r.type === cluster)!)).toBe(false);
  });

  it('weighs each link by the provider table and adds the cluster steps in the order create runs them', async () => {
    const { plan, table, config } = await planOf(provider, file, 'prod');
    const { links, totalSeconds } = plan.criticalPath;
    for (const l of links.filter((l) => l.kind === 'resource')) expect(l.seconds).toBe(table[l.type!]?.seconds ?? UNKNOWN_TYPE_SECONDS);
    expect(links.filter((l) => l.kind === 'step').map((l) => l.name)).toEqual(STEPS_AFTER_INFRA);
    expect(links.find((l) => l.name === 'tenants')!.seconds).toBe(STEP_SECONDS.tenantEach * (config.tenants.length + 1));
    expect(totalSeconds).toBe(links.reduce((s, l) => s + l.seconds, 0));
    // The cluster is the slowest link of the infrastructure, as the table says it should be.
    const slowest = links.filter((l) => l.kind === 'resource').sort((a, b) => b.seconds - a.seconds)[0]!;
    expect(slowest.type).toBe(cluster);
  });

  it('shows in the human plan as one line and the chain', async () => {
    const { plan } = await planOf(provider, file, 'prod');
    const text = renderPlan(plan, { costBasis: 'list prices' });
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Critical path of create'));
    expect(lines[at]).toBe(`Critical path of create (estimated from typical durations): about ${Math.round(plan.criticalPath.totalSeconds / 60)} min`);
    expect(lines[at + 1]!.trim().split(' → ')).toHaveLength(plan.criticalPath.links.length);
    expect(lines[at + 1]).toContain(plan.criticalPath.links.find((l) => l.type === cluster)!.label);
  });
});

describe('the critical path of create kubernetes', () => {
  it('has no infra stack: only the cluster steps, without kubeconfig or DNS delegation', async () => {
    const { plan } = await planOf('kubernetes', 'examples/kubernetes.yaml', 'obs');
    expect(plan.criticalPath.links.map((l) => l.kind)).not.toContain('resource');
    expect(plan.criticalPath.links.map((l) => l.name)).toEqual(STEPS_AFTER_INFRA.filter((s) => s !== 'kubeconfig' && s !== 'dns-delegation'));
    expect(plan.criticalPath.excludes).not.toContain('waiting for a first DNS delegation');
  });
});

describe('the README', () => {
  it('shows the critical path exactly as plan prints it for the AWS example', async () => {
    const { plan } = await planOf('aws', 'examples/aws.yaml', 'prod');
    const printed = renderPlan(plan, { costBasis: 'list prices' }).split('\n');
    const at = printed.findIndex((l) => l.startsWith('Critical path of create'));
    expect(readFileSync(`${root}README.md`, 'utf8')).toContain(['```', ...printed.slice(at, at + 3), '```'].join('\n'));
  });
});
