/**
 * The upgrade's preview of the cluster's stacks, the platform's and each tenant's: the engine's
 * own diff against the running cluster (resources created, updated, replaced and deleted, and
 * what forces each replacement), with the stateful workloads called out for what their change
 * is and what protects their data. It runs once the infrastructure the stacks need is in place,
 * changes nothing in the cluster, and asks again before the platform changes when the engine
 * would replace or delete anything in any stack.
 */
import type { Step } from '../engine/index.js';
import { FailureError } from '../errors.js';
import { RESERVED_TENANTS, stackNames } from '../naming.js';
import type { RecordedInfra } from '../providers/types.js';
import type { PreviewStep } from '../pulumi/workspace.js';
import { STATEFUL_WORKLOADS } from '../commands/upgrade-diff.js';
import type { InstanceContext } from './context.js';
import { DEFAULT_TENANT_PARALLELISM } from './tenant-parallelism.js';
import type { PlatformStepOutputs } from './cluster-steps.js';
import type { TenantCredentials } from '../tenants/credentials.js';

/** The engine reports a replacement as three steps; the preview shows it once, as `replace`. */
const SHOWN_OPS = ['create', 'update', 'replace', 'delete'] as const;

const nameOf = (urn: string) => urn.slice(urn.lastIndexOf('::') + 2);

/**
 * What replacing a StatefulSet does (see @lookout/kube's immutable-fields): it is deleted and
 * created again under the same name, so every pod finds its own volume again; but all pods
 * stop at once, and the claims, which outlive it, keep the size and class they were made with.
 */
function statefulSetReplacementNote(protection: string | undefined): string {
  return (
    '    stateful: the StatefulSet is deleted and created again under its name: all its pods stop together (not one at a time) and start again; ' +
    'existing volumes are reattached as they are (same claims, same data, their old size and storage class): a new claim template applies only to volumes created from now on' +
    (protection ? `; what protects the data meanwhile: ${protection}` : '')
  );
}

/** What the engine would do, one line per resource, stateful workloads flagged. */
export function renderEngineDiff(stack: string, steps: readonly PreviewStep[]): { lines: string[]; destructive: boolean } {
  const shown = steps.filter((s) => (SHOWN_OPS as readonly string[]).includes(s.op));
  const counts = SHOWN_OPS.map((op) => [op, shown.filter((s) => s.op === op).length] as const).filter(([, n]) => n > 0);
  const lines = [`Stack ${stack}: ${counts.length ? counts.map(([op, n]) => `${n} to ${op}`).join(', ') : 'no changes'}.`];
  for (const s of shown) {
    const name = s.objectName ?? nameOf(s.urn);
    const isStatefulSet = s.type === 'kubernetes:apps/v1:StatefulSet';
    const stateful = isStatefulSet ? STATEFUL_WORKLOADS.find((w) => w.workload === name) : undefined;
    let line = `  ${s.op} ${s.type} ${name}`;
    if (s.op === 'replace') line += ` (replaced because ${s.replaceKeys.length ? s.replaceKeys.join(', ') : 'the provider requires it'} changed)`;
    else if (s.op === 'update' && s.diffs.length) line += ` (${s.diffs.join(', ')})`;
    lines.push(line);
    if (stateful && s.op === 'update') lines.push(`    stateful: rolling replacement of its pods, one at a time, volumes kept; protected by ${stateful.protection}`);
    if (isStatefulSet && s.op === 'replace') lines.push(statefulSetReplacementNote(stateful?.protection));
  }
  return { lines, destructive: shown.some((s) => s.op === 'replace' || s.op === 'delete') };
}

/** One stack to preview: its name, and the engine's preview of it. */
export interface StackToPreview {
  stack: string;
  preview(): Promise<readonly PreviewStep[]>;
}

/**
 * Previews the stacks, up to `concurrency` at once (each is an engine run of its own, as the
 * tenant steps that follow are), and renders each one's diff in the order given; tenant stacks
 * the upgrade removes are named, since they are destroyed rather than previewed.
 */
export async function previewStacks(
  stacks: readonly StackToPreview[],
  removed: readonly string[] = [],
  concurrency = 1,
): Promise<{ lines: string[]; destructive: boolean; changes: Record<string, Record<string, number>> }> {
  const { default: pMap } = await import('p-map');
  const previews = await pMap(stacks, (s) => s.preview(), { concurrency: Math.max(1, concurrency) });
  const lines: string[] = [];
  const changes: Record<string, Record<string, number>> = {};
  let destructive = false;
  for (const [i, s] of stacks.entries()) {
    const steps = previews[i]!;
    const shown = renderEngineDiff(s.stack, steps);
    lines.push(...shown.lines);
    destructive ||= shown.destructive;
    changes[s.stack] = Object.fromEntries(SHOWN_OPS.map((op) => [op, steps.filter((x) => x.op === op).length]).filter(([, n]) => n !== 0));
  }
  for (const stack of removed) {
    // Named, not asked about again: the tenant's removal was in the preview the user confirmed.
    lines.push(`Stack ${stack}: destroyed with its tenant, after the platform is applied.`);
  }
  return { lines, destructive, changes };
}

export function clusterPreviewStep(c: InstanceContext): Step<{ changes: Record<string, Record<string, number>> }> {
  return {
    name: 'preview:cluster',
    title: 'Preview the platform and tenant stacks against the cluster',
    alwaysRun: true,
    async run(ctx) {
      const [{ openClusterStack, secretStore }, cluster, { ensureTenantCredentials }, { tenantTokenNames }] = await Promise.all([
        import('./context.js'),
        import('./cluster-steps.js'),
        import('../tenants/credentials.js'),
        import('../../stacks/tenant.js'),
      ]);
      const infra = ctx.outputsOf<RecordedInfra>('infra');
      const names = stackNames(c.name);
      const platform = await cluster.openPlatformStack(c, infra, 'preview:cluster');
      // Tenant programs take the gateway's settings from the platform as it runs now.
      const running = (await platform.outputs()) as unknown as PlatformStepOutputs;
      const tenant = (t: (typeof c.config.tenants)[number] | 'system'): StackToPreview => {
        const name = t === 'system' ? RESERVED_TENANTS[0] : t.name;
        return {
          stack: names.tenant(name),
          async preview() {
            let credentials: TenantCredentials | undefined;
            const program = async () => (await cluster.tenantProgramFor(c, t, infra, running, credentials!))();
            const stack = await openClusterStack(c, { tenant: name }, program, { step: 'preview:cluster' });
            // The same credentials the tenant step will use: kept ones, or generated once and kept (a new tenant's).
            credentials = await ensureTenantCredentials(await secretStore(c), name, tenantTokenNames(t), { adopt: () => cluster.credentialsInOutputs(stack) });
            return (await stack.preview({ signal: ctx.signal })).steps ?? [];
          },
        };
      };
      const removed = cluster.removedTenants(c.record?.config.tenants, c.config.tenants).map((name) => names.tenant(name));
      const { lines, destructive, changes } = await previewStacks(
        [
          { stack: names.platform, preview: async () => (await platform.preview({ signal: ctx.signal })).steps ?? [] },
          tenant('system'),
          ...c.config.tenants.map((t) => tenant(t)),
        ],
        removed,
        c.tenantParallelism ?? DEFAULT_TENANT_PARALLELISM,
      );
      ctx.log('info', lines.join('\n'));
      if (destructive && !c.yes) {
        const [{ confirm }, { withReporterSuspended }] = await Promise.all([import('../commands/session.js'), import('../progress/events.js')]);
        const ok = await withReporterSuspended(c.session.reporter, () => confirm('The engine would replace or delete the resources above. Continue?'));
        if (!ok) throw new FailureError('upgrade stopped before the platform changed', { hint: 'Run it again when you are ready, or with --yes.' });
      }
      return { changes };
    },
  };
}
