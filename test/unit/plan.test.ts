/**
 * `lookout plan` on the shipped example configs: the real programs under mocks, counted per
 * type against what each config asks for, and the JSON form a script would consume.
 */
import { AWS_COST_BASIS, estimateAwsCost } from '../../src/providers/aws/cost.js';
import { renderPlan } from '../../src/plan/render.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { buildPlan, type Plan } from '../../src/plan/plan.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

async function planOf(file: string, name: string): Promise<{ plan: Plan; azs: number; nats: number }> {
  const config = await loadConfig(`${root}${file}`, { provider: 'aws', name });
  const plan = await buildPlan(config);
  const azs = config.aws!.availabilityZones;
  return { plan, azs, nats: config.aws!.natGateways === 'single' ? 1 : azs };
}

describe.each([
  ['examples/aws.yaml', 'prod'],
  ['examples/aws-small.yaml', 'demo'],
])('plan of %s', (file, name) => {
  it('counts per type follow the config', async () => {
    const { plan, azs, nats } = await planOf(file, name);
    const infra = plan.stacks.find((s) => s.layer === 'infra')!;
    expect(infra.stack).toBe(`${name}-infra`);
    const t = infra.byType;
    expect(t['aws:ec2/subnet:Subnet']).toBe(2 * azs);
    expect(t['aws:ec2/natGateway:NatGateway']).toBe(nats);
    expect(t['aws:ec2/eip:Eip']).toBe(nats);
    expect(t['aws:eks/cluster:Cluster']).toBe(1);
    expect(t['aws:eks/nodeGroup:NodeGroup']).toBe(1);
    expect(t['aws:eks/addon:Addon']).toBe(5);
    expect(t['aws:s3/bucket:Bucket']).toBe(3);
    expect(t['aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock']).toBe(3);
    // Metrics store (blocks), its ruler and Alertmanager (rules bucket), log store.
    expect(t['aws:eks/podIdentityAssociation:PodIdentityAssociation']).toBe(4);
    expect(t['aws:route53/zone:Zone']).toBe(1);
    expect(infra.resourceCount).toBe(Object.values(t).reduce((a, b) => a + b, 0));
    expect(plan.totalResources).toBe(plan.stacks.reduce((n, s) => n + s.resourceCount, 0));
  });

  it('names the cluster, the zone and an endpoint set for every tenant plus system', async () => {
    const { plan } = await planOf(file, name);
    expect(plan.cluster.name).toBe(`lookout-${name}`);
    const config = await loadConfig(`${root}${file}`, { provider: 'aws', name });
    expect(plan.endpoints.map((e) => e.tenant)).toEqual(['system', ...config.tenants.map((t) => t.name)]);
    for (const e of plan.endpoints) {
      expect(e.remoteWrite).toBe(`https://${e.tenant}.${config.dns.domain}/api/v1/push`);
    }
    expect(plan.cost.totalMonthlyUsd).toBeGreaterThan(0);
  });
});

describe('lookout plan --json', () => {
  it('prints one result with every resource type and name', async () => {
    const { stdout } = await run(process.execPath, [`${root}bin/lookout`, 'plan', 'aws', 'prod', '-c', `${root}examples/aws.yaml`, '--json']);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const { type, plan } = JSON.parse(lines[0]!) as { type: string; plan: Plan };
    expect(type).toBe('result');
    const resources = plan.stacks.flatMap((s) => s.resources);
    expect(resources.length).toBe(plan.totalResources);
    for (const r of resources) {
      expect(r.type).toMatch(/^[a-z0-9-]+:[\w/.-]+:\w+|^pulumi:providers:\w+$/);
      expect(r.name).not.toBe('');
    }
    expect(resources).toContainEqual(expect.objectContaining({ type: 'aws:eks/cluster:Cluster' }));
  });
});

describe('lookout plan gcp', () => {
  it('plans offline, with no credentials: a GKE cluster, every tenant endpoint and a cost at list prices with what it leaves out', async () => {
    const env = { ...process.env, GOOGLE_APPLICATION_CREDENTIALS: '/nonexistent', CLOUDSDK_CONFIG: '/nonexistent' };
    const { stdout } = await run(process.execPath, [`${root}bin/lookout`, 'plan', 'gcp', 'demo', '-c', `${root}examples/gcp-small.yaml`, '--json'], { env });
    const { plan } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { plan: Plan };
    const infra = plan.stacks.find((s) => s.layer === 'infra')!;
    expect(infra.byType['gcp:container/cluster:Cluster']).toBe(1);
    expect(infra.byType['gcp:storage/bucket:Bucket']).toBe(3);
    expect(plan.stacks.map((s) => s.layer)).toEqual(['infra', 'platform', 'tenant', 'tenant']);
    expect(plan.endpoints.map((e) => e.remoteWrite)).toEqual(['https://system.demo.example.com/api/v1/push', 'https://dev.demo.example.com/api/v1/push']);
    expect(plan.cost).toMatchObject({ pricesFrom: 'us-central1', region: 'europe-west1' });
    expect(plan.cost.lines.map((l) => l.item)).toEqual(
      expect.arrayContaining(['GKE cluster management ×1', '2 × e2-standard-2 nodes', 'network load balancer forwarding rule ×1']),
    );
    expect(plan.cost.excludes).toContain('GCS storage and operations');
    // --json carries the estimated critical path of create, from the network to the last step.
    expect(plan.criticalPath.links[0]).toMatchObject({ kind: 'resource', type: 'gcp:compute/network:Network' });
    expect(plan.criticalPath.links.at(-1)).toMatchObject({ kind: 'step', name: 'verify' });
    expect(plan.cost.totalMonthlyUsd).toBe(Math.round(plan.cost.lines.reduce((s, l) => s + l.monthlyUsd, 0) * 100) / 100);
  });

  it('says when a machine type has no known price instead of guessing', async () => {
    const { estimateGcpCost } = await import('../../src/providers/gcp/cost.js');
    const config = await loadConfig(`${root}examples/gcp-small.yaml`, { provider: 'gcp', name: 'demo' });
    const cost = estimateGcpCost([], { ...config.gcp!, nodes: { ...config.gcp!.nodes, machineType: 'c4-standard-8' } });
    expect(cost.notes).toContain('no list price known for c4-standard-8; nodes are not in the total');
    expect(cost.lines.map((l) => l.item)).not.toContain('2 × c4-standard-8 nodes');
  });
});

describe('the cost estimate', () => {
  const nodes = { instanceType: 'm7i.large', desired: 2, diskGiB: 50 };

  it("says plainly when its prices are not the instance region's", () => {
    const cost = estimateAwsCost([], nodes, 'eu-west-1');
    expect(cost).toMatchObject({ pricesFrom: 'us-east-1', region: 'eu-west-1' });
    expect(cost.notes[0]).toMatch(/^these are us-east-1 prices, not eu-west-1's: lookout has no price list for eu-west-1/);
    expect(estimateAwsCost([], nodes, 'us-east-1').notes).toEqual([]);
  });

  it('and the rendered plan says it next to the total', async () => {
    const { plan } = await planOf('examples/aws-small.yaml', 'demo');
    expect(plan.cost.region).toBe(plan.region);
    const text = renderPlan(plan, { costBasis: AWS_COST_BASIS });
    if (plan.region === 'us-east-1') expect(text).toContain('(us-east-1 on-demand list prices)');
    else expect(text).toContain(`(us-east-1 on-demand list prices, NOT ${plan.region}'s)`);
  });
});
