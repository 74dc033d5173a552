/**
 * The estimated critical path of `create`: the longest chain of resource creations through the
 * infra stack's dependency graph, weighted by typical create durations per resource type (a
 * table per provider), then the steps that run one after another once the infrastructure
 * exists. An estimate from typical figures, never a measurement: it says what to expect and
 * which resources bound the wait.
 *
 * How the edges are derived: from the registrations of the real infra program under Pulumi's
 * mocks (mock-runtime.ts keeps each resource's `dependencies` as the SDK sent them to the
 * monitor: explicit `dependsOn`, every resource whose outputs flow into its inputs, components
 * expanded to their custom children, and a custom parent). What this misses: ordering the program
 * creates by itself (a resource registered inside an `apply` waits for that output, but records
 * no edge unless the value is also one of its inputs), waits inside a provider (for example an
 * API that becomes usable minutes after the call that enabled it), and retries. Resources of
 * the platform and tenant stacks are not in the graph: their steps count as a whole.
 */
import type { MockedResource } from './mock-runtime.js';
import { longestPath } from './longest-path.js';

/** A typical create duration of one resource type, and the name it has in the path. */
export interface CreateDuration {
  label: string;
  seconds: number;
}

/** Per Pulumi type token, e.g. `kubernetes:core/v1:Service`. */
export type CreateDurationTable = Readonly<Record<string, CreateDuration>>;

/**
 * A type the table does not know: most cloud resources are one API call that is done in
 * seconds; the slow ones (clusters, node pools, NAT) are all in the tables.
 */
export const UNKNOWN_TYPE_SECONDS = 10;

/** One link of the path: a resource of the infra stack, or a step of `create`. */
export interface CriticalPathLink {
  kind: 'resource' | 'step';
  label: string;
  seconds: number;
  /** The resource's type token and logical name, or the step's name. */
  type?: string;
  name: string;
}

export interface CriticalPath {
  totalSeconds: number;
  links: CriticalPathLink[];
  /** What the estimate leaves out, in a few words each. */
  excludes: string[];
}

/**
 * Typical durations of the steps after the infrastructure, which run one after another.
 * Lookout's own estimates for a healthy run, not measurements on a cloud: the certificate
 * waits for DNS propagation and the ACME validation; the platform for its rollouts and the
 * gateway's load balancer; each tenant for its Grafana; verify for a sample to come back.
 */
export const STEP_SECONDS = {
  kubeconfig: 5,
  /** When the zone is already delegated; a first delegation waits for the user (not counted). */
  dnsDelegation: 30,
  tls: 120,
  platform: 360,
  tenantEach: 45,
  alerting: 30,
  verify: 60,
} as const;

function resourceLink(r: MockedResource, table: CreateDurationTable): CriticalPathLink {
  const known = table[r.type];
  // Components and provider instances make no cloud call of their own.
  const free = !r.custom || r.type.startsWith('pulumi:providers:');
  return {
    kind: 'resource',
    label: known?.label ?? r.type.split(':').pop()!,
    seconds: free ? 0 : (known?.seconds ?? UNKNOWN_TYPE_SECONDS),
    type: r.type,
    name: r.name,
  };
}

/** The longest chain of creations through one stack's resources, weighted by `table`. */
export function resourceCriticalPath(resources: readonly MockedResource[], table: CreateDurationTable): CriticalPathLink[] {
  const links = new Map(resources.map((r) => [r.urn, resourceLink(r, table)]));
  const { path } = longestPath(
    resources.map((r) => ({ id: r.urn, weight: links.get(r.urn)!.seconds })),
    new Map(resources.map((r) => [r.urn, r.dependencies])),
  );
  // Zero-weight links (components) carry the order but are not worth a line.
  return path.map((urn) => links.get(urn)!).filter((l) => l.seconds > 0);
}

/** The steps after the infrastructure, as `create` runs them for this provider and config. */
export function stepLinks(o: { hasInfra: boolean; managesDnsZone: boolean; tenants: number }): CriticalPathLink[] {
  const step = (name: string, label: string, seconds: number): CriticalPathLink => ({ kind: 'step', label, seconds, name });
  return [
    ...(o.hasInfra ? [step('kubeconfig', 'kubeconfig', STEP_SECONDS.kubeconfig)] : []),
    ...(o.managesDnsZone ? [step('dns-delegation', 'DNS delegation', STEP_SECONDS.dnsDelegation)] : []),
    step('tls', 'certificate', STEP_SECONDS.tls),
    step('platform', 'platform', STEP_SECONDS.platform),
    // The system tenant and each configured one, one step each.
    step('tenants', `${o.tenants} tenants`, STEP_SECONDS.tenantEach * o.tenants),
    step('system-alerting', 'alerting', STEP_SECONDS.alerting),
    step('verify', 'verify', STEP_SECONDS.verify),
  ];
}

export function criticalPath(
  infra: readonly MockedResource[],
  table: CreateDurationTable,
  o: { managesDnsZone: boolean; tenants: number },
): CriticalPath {
  const links = [...resourceCriticalPath(infra, table), ...stepLinks({ hasInfra: infra.length > 0, ...o })];
  return {
    totalSeconds: links.reduce((s, l) => s + l.seconds, 0),
    links,
    excludes: [
      'preflight',
      ...(o.managesDnsZone ? ['waiting for a first DNS delegation'] : []),
      ...(infra.length > 0 ? ['ordering the infra program makes outside resource inputs'] : []),
      'retries',
    ],
  };
}

/** `540` → `9 min`, `45` → `45 s`: estimates need no more precision. */
export function formatDuration(seconds: number): string {
  return seconds < 60 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}
