/**
 * A rough monthly cost of the fixed parts of an AWS instance, so `plan` can say what running it
 * will cost before anything exists. List prices (USD, us-east-1, on-demand) change slowly;
 * usage-driven costs (storage, data transfer, logs) are named but not guessed.
 */
import { HOURS_PER_MONTH, costEstimate, countLoadBalancerServices, countOfType, type CostEstimate } from '../../plan/cost.js';
import type { MockedResource } from '../../plan/mock-runtime.js';

/** The only region whose prices are below; for others the estimate says so rather than presenting these as theirs. */
export const PRICE_REGION = 'us-east-1';

/** What the prices below are. */
export const AWS_COST_BASIS = `${PRICE_REGION} on-demand list prices`;

/** On-demand $/hour of common node types. Unknown types are reported, not guessed. */
const EC2_HOURLY: Record<string, number> = {
  't3.large': 0.0832,
  't3.xlarge': 0.1664,
  'm5.large': 0.096,
  'm5.xlarge': 0.192,
  'm5.2xlarge': 0.384,
  'm6i.large': 0.096,
  'm6i.xlarge': 0.192,
  'm6i.2xlarge': 0.384,
  'm7i.large': 0.1008,
  'm7i.xlarge': 0.2016,
  'm7i.2xlarge': 0.4032,
  'm6g.xlarge': 0.154,
  'm7g.large': 0.0816,
  'm7g.xlarge': 0.1632,
  'm7g.2xlarge': 0.3264,
  'c7i.xlarge': 0.1785,
  'r6i.xlarge': 0.252,
  'r7i.xlarge': 0.2646,
};

const PRICES = {
  eksClusterHourly: 0.1,
  natGatewayHourly: 0.045,
  publicIpv4Hourly: 0.005,
  gp3PerGiBMonth: 0.08,
  kmsKeyMonth: 1,
  hostedZoneMonth: 0.5,
  nlbHourly: 0.0225,
};

export function estimateAwsCost(
  resources: readonly MockedResource[],
  nodes: { instanceType: string; desired: number; diskGiB: number },
  region: string,
): CostEstimate {
  const notes: string[] = [];
  if (region !== PRICE_REGION) {
    notes.push(
      `these are ${PRICE_REGION} prices, not ${region}'s: lookout has no price list for ${region}, and prices differ between ` +
        `regions; check the AWS pricing pages for ${region}`,
    );
  }
  const lines: Array<{ item: string; monthlyUsd: number }> = [];
  const add = (item: string, monthlyUsd: number) => lines.push({ item, monthlyUsd });

  const clusters = countOfType(resources, 'aws:eks/cluster:Cluster');
  add(`EKS control plane ×${clusters}`, clusters * PRICES.eksClusterHourly * HOURS_PER_MONTH);

  const hourly = EC2_HOURLY[nodes.instanceType];
  if (hourly === undefined) notes.push(`no list price known for ${nodes.instanceType}; nodes are not in the total`);
  else add(`${nodes.desired} × ${nodes.instanceType} nodes`, nodes.desired * hourly * HOURS_PER_MONTH);
  add(`${nodes.desired} × ${nodes.diskGiB} GiB gp3 node volumes`, nodes.desired * nodes.diskGiB * PRICES.gp3PerGiBMonth);

  const nats = countOfType(resources, 'aws:ec2/natGateway:NatGateway');
  add(`NAT gateway ×${nats} (before data processing)`, nats * PRICES.natGatewayHourly * HOURS_PER_MONTH);
  const eips = countOfType(resources, 'aws:ec2/eip:Eip');
  add(`public IPv4 address ×${eips}`, eips * PRICES.publicIpv4Hourly * HOURS_PER_MONTH);

  const keys = countOfType(resources, 'aws:kms/key:Key');
  add(`KMS key ×${keys}`, keys * PRICES.kmsKeyMonth);
  const zones = countOfType(resources, 'aws:route53/zone:Zone');
  add(`Route53 hosted zone ×${zones}`, zones * PRICES.hostedZoneMonth);

  const lbs = countLoadBalancerServices(resources);
  add(`network load balancer ×${lbs} (before LCUs)`, lbs * PRICES.nlbHourly * HOURS_PER_MONTH);

  return {
    pricesFrom: PRICE_REGION,
    region,
    ...costEstimate(lines, {
      excludes: ['S3 storage and requests', 'data transfer and NAT data processing', 'CloudWatch control-plane logs', 'persistent volumes'],
      notes,
    }),
  };
}
