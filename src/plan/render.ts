/** Human rendering of a plan: per layer and component, then names, endpoints and cost. */
import type { Plan, PlannedStack } from './plan.js';
import { formatDuration } from './critical-path.js';

function table(rows: Array<[string, string]>, indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(width)}  ${b}`);
}

/** `lookout:k8s:Gateway` → `Gateway`; plain resources keep their type token. */
function componentLabel(component: string): string {
  return component.startsWith('lookout:') ? component.split(':').pop()! : component;
}

function renderStack(s: PlannedStack): string[] {
  const lines = [`${s.layer === 'tenant' ? `Tenant ${s.tenant}` : s.layer[0]!.toUpperCase() + s.layer.slice(1)} (stack ${s.stack}): ${s.resourceCount} resources`];
  for (const [component, n] of Object.entries(s.byComponent).sort((a, b) => b[1] - a[1])) {
    lines.push(`  ${componentLabel(component)}: ${n}`);
    const types: Record<string, number> = {};
    for (const r of s.resources) if (r.component === component) types[r.type] = (types[r.type] ?? 0) + 1;
    lines.push(...table(Object.entries(types).map(([t, c]) => [t, String(c)]), '      '));
  }
  return lines;
}

/** `costBasis` says what the provider's prices are, e.g. "us-east-1 on-demand list prices". */
export function renderPlan(plan: Plan, o: { costBasis: string }): string {
  const out: string[] = [];
  out.push(`Plan for ${plan.provider} instance "${plan.instance}" in ${plan.region}, bundle ${plan.bundle}`);
  out.push(`Offline: computed from the stack programs under mocks; nothing was created.`);
  out.push(`Bundle ${plan.bundle}: ${Object.entries(plan.components).map(([name, image]) => `${name} ${image.split(':').pop()}`).join(', ')}`, '');
  const tenantStacks = plan.stacks.filter((s) => s.layer === 'tenant');
  for (const s of plan.stacks.filter((s) => s.layer !== 'tenant')) out.push(...renderStack(s), '');
  if (tenantStacks.length > 0) {
    // Tenant stacks share one shape; show the first in full and the rest as counts.
    out.push(...renderStack(tenantStacks[0]!));
    for (const s of tenantStacks.slice(1)) out.push(`Tenant ${s.tenant} (stack ${s.stack}): ${s.resourceCount} resources`);
    out.push('');
  }
  out.push(`Total: ${plan.totalResources} resources in ${plan.stacks.length} stack${plan.stacks.length === 1 ? '' : 's'}`, '');
  out.push('Cluster');
  out.push(
    ...table([
      ['name', plan.cluster.name],
      ['Kubernetes', plan.cluster.kubernetesVersion],
      ['nodes', plan.cluster.nodes],
      ['API reachable from', plan.cluster.apiAllowedCidrs.join(', ')],
    ]),
    '',
  );
  out.push('DNS');
  out.push(...table([['zone', plan.dns.domain], ['delegation', plan.dns.delegation]]), '');
  out.push('Tenant endpoints (one host per tenant; APIs by path)');
  for (const e of plan.endpoints) {
    out.push(`  ${e.tenant}  https://${e.host}`);
    out.push(
      ...table(
        [
          ['remote write', e.remoteWrite],
          ['PromQL', e.promql],
          ['Loki push', e.lokiPush],
          ['Grafana', e.grafana],
        ],
        '      ',
      ),
    );
  }
  out.push('');
  const { pricesFrom, region } = plan.cost;
  const basis = pricesFrom && region && pricesFrom !== region ? `${o.costBasis}, NOT ${region}'s` : o.costBasis;
  out.push(`Estimated monthly cost: about $${plan.cost.totalMonthlyUsd.toFixed(0)} (${basis})`);
  out.push(...table(plan.cost.lines.map((l) => [l.item, `$${l.monthlyUsd.toFixed(2)}`])));
  out.push(`  not included: ${plan.cost.excludes.join(', ')}`);
  for (const note of plan.cost.notes) out.push(`  note: ${note}`);
  const path = plan.criticalPath;
  out.push('', `Critical path of create (estimated from typical durations): about ${formatDuration(path.totalSeconds)}`);
  out.push(`  ${path.links.map((l) => `${l.label} ${formatDuration(l.seconds)}`).join(' → ')}`);
  out.push(`  not included: ${path.excludes.join(', ')}`);
  return out.join('\n') + '\n';
}
