/**
 * What an upgrade changes, computed offline before anything is touched: component versions
 * between the two bundles, config fields, and tenants added or removed.
 */
import type { BundleManifest } from '../bundle/manifest.js';
import type { ResolvedConfig } from '../config/load.js';

function flatten(value: unknown, path: string, out: Map<string, string>): void {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
    return;
  }
  out.set(path, JSON.stringify(value));
}

export interface ComponentChange {
  component: string;
  from: string;
  to: string;
  /** What was verified upstream for the new version, and what changed there that matters. */
  upstream?: { verified: string; notes: string[] };
}

export interface UpgradeDiff {
  components: ComponentChange[];
  config: Array<{ field: string; from?: string; to?: string }>;
  tenantsAdded: string[];
  tenantsRemoved: string[];
}

export function upgradeDiff(from: { config: ResolvedConfig; bundle: BundleManifest }, to: { config: ResolvedConfig; bundle: BundleManifest }): UpgradeDiff {
  const components = Object.keys(to.bundle.components)
    .map((name) => {
      const key = name as keyof BundleManifest['components'];
      const a = from.bundle.components[key]?.image;
      const b = to.bundle.components[key].image;
      const upstream = to.bundle.components[key].upstream;
      return {
        component: name,
        from: a ? `${a.tag}${a.digest ? `@${a.digest}` : ''}` : '(new)',
        to: `${b.tag}${b.digest ? `@${b.digest}` : ''}`,
        ...(upstream ? { upstream } : {}),
      };
    })
    .filter((c) => c.from !== c.to);

  const before = new Map<string, string>();
  const after = new Map<string, string>();
  const { tenants: tenantsBefore, ...restBefore } = from.config;
  const { tenants: tenantsAfter, ...restAfter } = to.config;
  flatten(restBefore, '', before);
  flatten(restAfter, '', after);
  const byName = (ts: ResolvedConfig['tenants']) => new Map(ts.map((t) => [t.name, t]));
  const [tb, ta] = [byName(tenantsBefore), byName(tenantsAfter)];
  for (const [name, t] of ta) if (tb.has(name)) flatten(t, `tenants[${name}]`, after);
  for (const [name, t] of tb) if (ta.has(name)) flatten(t, `tenants[${name}]`, before);

  const config: UpgradeDiff['config'] = [];
  for (const field of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(field);
    const b = after.get(field);
    if (a !== b) config.push({ field, ...(a === undefined ? {} : { from: a }), ...(b === undefined ? {} : { to: b }) });
  }
  return {
    components,
    config,
    tenantsAdded: [...ta.keys()].filter((n) => !tb.has(n)),
    tenantsRemoved: [...tb.keys()].filter((n) => !ta.has(n)),
  };
}

export function renderUpgradeDiff(diff: UpgradeDiff): string[] {
  const lines: string[] = [];
  if (diff.components.length) {
    lines.push('Component versions:');
    for (const c of diff.components) {
      lines.push(`  ${c.component}: ${c.from} → ${c.to}`);
      if (c.upstream) lines.push(`    upstream: ${c.upstream.verified}`, ...c.upstream.notes.map((n) => `    - ${n}`));
    }
  }
  if (diff.config.length) {
    lines.push('Config:');
    for (const c of diff.config) lines.push(`  ${c.field}: ${c.from ?? '(unset)'} → ${c.to ?? '(unset)'}`);
  }
  if (diff.tenantsAdded.length) lines.push(`Tenants added: ${diff.tenantsAdded.join(', ')}`);
  if (diff.tenantsRemoved.length) lines.push(`Tenants removed (their stacks and tokens go; data stays until retention ends): ${diff.tenantsRemoved.join(', ')}`);
  if (lines.length === 0) lines.push('No component or config changes.');
  return lines;
}

/**
 * The stateful workloads whose pods an upgrade between these bundles rolls, and what keeps
 * their data while it does. Their StatefulSets are updated in place (never deleted), one pod
 * at a time, and keep their volumes, unless a field the API server cannot update changes
 * (see statefulReplacements). `sizing` is where the bundle sizes each one.
 */
export const STATEFUL_WORKLOADS = [
  { component: 'cortex', workload: 'cortex-ingester', sizing: ['cortex', 'ingester'], protection: 'WAL on its volume, replication factor 3: a restarting ingester replays its WAL, and the other two hold every series' },
  { component: 'cortex', workload: 'cortex-store-gateway', sizing: ['cortex', 'storeGateway'], protection: 'blocks stay in the bucket; the other replicas serve queries while one re-syncs' },
  { component: 'cortex', workload: 'cortex-compactor', sizing: ['cortex', 'compactor'], protection: 'blocks stay in the bucket; compaction resumes where it stopped' },
  { component: 'cortex', workload: 'cortex-alertmanager', sizing: ['cortex', 'alertmanager'], protection: 'state replicated across 3 replicas and stored in the bucket' },
  { component: 'loki', workload: 'loki-write', sizing: ['loki', 'write'], protection: 'WAL on its volume, replication factor 3, chunks flushed on shutdown' },
  { component: 'loki', workload: 'loki-backend', sizing: ['loki', 'backend'], protection: 'index, rules and delete requests stay in the bucket; the ruler is sharded over the other replicas' },
] as const;

type StatefulWorkload = (typeof STATEFUL_WORKLOADS)[number];

function volumeSize(bundle: BundleManifest, w: StatefulWorkload): string | undefined {
  const [store, target] = w.sizing;
  return (bundle.sizing[store] as Record<string, { storage?: string }>)[target]?.storage;
}

/**
 * Stateful workloads whose volume size differs between the bundles. A StatefulSet's volume
 * claim template cannot be updated, so each is replaced: deleted and created again under its
 * name (see @lookout/kube's immutable-fields), all its pods at once, and its existing volumes
 * reattached at their old size.
 */
export function statefulReplacements(from: BundleManifest, to: BundleManifest): Array<{ workload: string; from?: string; to?: string; line: string }> {
  return STATEFUL_WORKLOADS.flatMap((w) => {
    const [a, b] = [volumeSize(from, w), volumeSize(to, w)];
    if (a === b) return [];
    return [
      {
        workload: w.workload,
        ...(a ? { from: a } : {}),
        ...(b ? { to: b } : {}),
        line:
          `  ${w.workload}: replaced, not rolled (its volume size ${a ?? '(unset)'} → ${b ?? '(unset)'} is a claim template change the API server refuses to update): ` +
          `deleted and created again under its name, all its pods stop together; its existing volumes are reattached and keep ${a ?? 'their size'}, volumes created from now on get ${b ?? 'the default'}; ` +
          `what protects the data: ${w.protection}`,
      },
    ];
  });
}

/** Rolling replacements of stateful pods that the component changes cause (not those `replaced`). */
export function statefulRollouts(diff: Pick<UpgradeDiff, 'components'>, lokiConfigChanged = false, replaced: readonly string[] = []): string[] {
  const changed = new Set(diff.components.map((c) => c.component));
  if (lokiConfigChanged) changed.add('loki');
  return STATEFUL_WORKLOADS.filter((w) => changed.has(w.component) && !replaced.includes(w.workload)).map(
    (w) => `  ${w.workload}: rolling replacement of its pods, one at a time (StatefulSet updated in place, volumes kept); what protects the data: ${w.protection}`,
  );
}
