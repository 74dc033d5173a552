/**
 * A rough monthly cost of the fixed parts of a GCP instance, so `plan` can say what running it
 * will cost before anything exists. List prices (USD, us-central1, on demand, no committed-use
 * or sustained-use discounts) change slowly; usage-driven costs are named but not guessed.
 */
import { HOURS_PER_MONTH, costEstimate, countLoadBalancerServices, countOfType, type CostEstimate } from '../../plan/cost.js';
import type { MockedResource } from '../../plan/mock-runtime.js';
import type { GcpConfig } from './config.js';

/** The only region whose prices are below; for others the estimate says so rather than presenting these as theirs. */
export const PRICE_REGION = 'us-central1';

export const GCP_COST_BASIS = `${PRICE_REGION} on-demand list prices`;

/** On-demand $/hour of common machine types. Unknown types are reported, not guessed. */
const MACHINE_HOURLY: Record<string, number> = {
  'e2-standard-2': 0.067006,
  'e2-standard-4': 0.134012,
  'e2-standard-8': 0.268024,
  'e2-standard-16': 0.536048,
  'e2-highmem-4': 0.180904,
  'n2-standard-2': 0.097118,
  'n2-standard-4': 0.194236,
  'n2-standard-8': 0.388472,
  'n2-highmem-4': 0.262028,
};

const DISK_PER_GIB_MONTH: Record<GcpConfig['nodes']['diskType'], number> = {
  'pd-balanced': 0.1,
  'pd-ssd': 0.17,
  'pd-standard': 0.04,
};

const PRICES = {
  gkeClusterHourly: 0.1,
  /** Cloud NAT gateway, per VM using it (up to 32 VMs). */
  natPerVmHourly: 0.0014,
  externalIpHourly: 0.005,
  /** Per active key version. */
  kmsKeyVersionMonth: 0.06,
  managedZoneMonth: 0.2,
  forwardingRuleHourly: 0.025,
};

export function estimateGcpCost(resources: readonly MockedResource[], gcp: GcpConfig): CostEstimate {
  const notes: string[] = [];
  if (gcp.region !== PRICE_REGION) {
    notes.push(
      `these are ${PRICE_REGION} prices, not ${gcp.region}'s: lookout has no price list for ${gcp.region}, and prices differ between ` +
        `regions; check the Google Cloud pricing pages for ${gcp.region}`,
    );
  }
  const nodes = gcp.nodes.min;
  notes.push(`nodes are counted at the autoscaler's minimum, ${nodes}; GKE may run up to ${gcp.nodes.max} under load`);
  const lines: Array<{ item: string; monthlyUsd: number }> = [];
  const add = (item: string, monthlyUsd: number) => lines.push({ item, monthlyUsd });

  const clusters = countOfType(resources, 'gcp:container/cluster:Cluster');
  add(`GKE cluster management ×${clusters}`, clusters * PRICES.gkeClusterHourly * HOURS_PER_MONTH);
  if (gcp.zone !== undefined) notes.push('GKE’s free tier credits the management fee of one zonal cluster per billing account; the total does not assume it');

  const hourly = MACHINE_HOURLY[gcp.nodes.machineType];
  if (hourly === undefined) notes.push(`no list price known for ${gcp.nodes.machineType}; nodes are not in the total`);
  else add(`${nodes} × ${gcp.nodes.machineType} nodes`, nodes * hourly * HOURS_PER_MONTH);
  add(`${nodes} × ${gcp.nodes.diskGiB} GiB ${gcp.nodes.diskType} boot disks`, nodes * gcp.nodes.diskGiB * DISK_PER_GIB_MONTH[gcp.nodes.diskType]);

  const nats = countOfType(resources, 'gcp:compute/routerNat:RouterNat');
  add(`Cloud NAT ×${nats} for ${nodes} nodes (before data processing)`, nats * nodes * PRICES.natPerVmHourly * HOURS_PER_MONTH);
  add(`NAT external IP ×${nats}`, nats * PRICES.externalIpHourly * HOURS_PER_MONTH);

  const keys = countOfType(resources, 'gcp:kms/cryptoKey:CryptoKey');
  add(`Cloud KMS key ×${keys} (one version)`, keys * PRICES.kmsKeyVersionMonth);
  const zones = countOfType(resources, 'gcp:dns/managedZone:ManagedZone');
  add(`Cloud DNS managed zone ×${zones}`, zones * PRICES.managedZoneMonth);

  const lbs = countLoadBalancerServices(resources);
  add(`network load balancer forwarding rule ×${lbs}`, lbs * PRICES.forwardingRuleHourly * HOURS_PER_MONTH);
  add(`load balancer external IP ×${lbs}`, lbs * PRICES.externalIpHourly * HOURS_PER_MONTH);

  return {
    pricesFrom: PRICE_REGION,
    region: gcp.region,
    ...costEstimate(lines, {
      excludes: [
        'GCS storage and operations',
        'data transfer, NAT and load balancer data processing',
        'Cloud Logging and Monitoring of the cluster beyond the free allotment',
        'persistent volumes',
        'KMS key versions after rotation (one more every 90 days) and operations',
      ],
      notes,
    }),
  };
}
