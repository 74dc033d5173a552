/**
 * The upgrade's preview of the platform stack: the engine's own diff against the running
 * cluster (resources created, updated, replaced and deleted, and what forces each
 * replacement), with the stateful workloads called out for what their change is and what
 * protects their data. It runs once the infrastructure the platform needs is in place, changes
 * nothing, and asks again before the platform changes when the engine would replace or
 * delete anything.
 */
import type { Step } from '../engine/index.js';
import { FailureError } from '../errors.js';
import { stackNames } from '../naming.js';
import type { RecordedInfra } from '../providers/types.js';
import type { PreviewStep } from '../pulumi/workspace.js';
import { STATEFUL_WORKLOADS } from '../commands/upgrade-diff.js';
import type { InstanceContext } from './context.js';

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

export function clusterPreviewStep(c: InstanceContext): Step<{ changes: Record<string, number> }> {
  return {
    name: 'preview:platform',
    title: 'Preview the platform stack against the cluster',
    alwaysRun: true,
    async run(ctx) {
      const { openPlatformStack } = await import('./cluster-steps.js');
      const stack = await openPlatformStack(c, ctx.outputsOf<RecordedInfra>('infra'), 'preview:platform');
      const preview = await stack.preview({ signal: ctx.signal });
      const { lines, destructive } = renderEngineDiff(stackNames(c.name).platform, preview.steps ?? []);
      ctx.log('info', lines.join('\n'));
      if (destructive && !c.yes) {
        const [{ confirm }, { withReporterSuspended }] = await Promise.all([import('../commands/session.js'), import('../progress/events.js')]);
        const ok = await withReporterSuspended(c.session.reporter, () => confirm('The engine would replace or delete the resources above. Continue?'));
        if (!ok) throw new FailureError('upgrade stopped before the platform changed', { hint: 'Run it again when you are ready, or with --yes.' });
      }
      return { changes: preview.changes };
    },
  };
}
