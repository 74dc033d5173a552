/**
 * `lookout upgrade <name> [-c file] [--to VERSION]`: converge the instance to a changed
 * config or a newer bundle, after showing what will change and asking. Resumable.
 */
import { loadConfig, validateInstanceName, type ResolvedConfig } from '../config/load.js';
import { configLocation } from '../config/provider-blocks.js';
import { configSchema } from '../config/schema.js';
import type { Step } from '../engine/index.js';
import { ExitCode, FailureError, UsageError } from '../errors.js';
import { withReporterSuspended } from '../progress/events.js';
import type { InstanceRecord } from '../state/instance-record.js';
import { requireInstance } from '../state/instance-state.js';
import { printResult } from './output.js';
import { parseParallel } from './parallel-option.js';
import type { CommandSession } from './session.js';
import { availableBundles, loadBundle } from '../bundle/manifest.js';
import { migrationSteps, plannedMigrations, renderMigrations, type PlannedMigration } from '../bundle/migrations.js';
import type { InstanceContext } from '../steps/context.js';
import { checkBeforeCloud } from '../config/checks.js';
import { renderUpgradeDiff, statefulReplacements, statefulRollouts, upgradeDiff, type UpgradeDiff } from './upgrade-diff.js';

export interface UpgradeOptions {
  name: string;
  config?: string;
  to?: string;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
  /** `--parallel`: tenant stacks installed at the same time. */
  parallel?: string;
  /** Change nothing: report what is pending and exit 0 (nothing) or 3 (something). */
  check?: boolean;
}

/** Compares calendar bundle versions (`2026.11.0`) numerically. */
export function compareBundleVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The config the upgrade converges to: the new file (or the recorded one), at the target bundle. */
export async function targetConfig(record: InstanceRecord, opts: UpgradeOptions): Promise<ResolvedConfig> {
  let config = opts.config ? await loadConfig(opts.config, { provider: record.provider, name: record.name }) : record.config;
  if (opts.to !== undefined) config = { ...config, bundle: opts.to };
  const wellFormed = /^\d{4}\.\d{1,2}\.\d+$/.test(config.bundle);
  // A downgrade is named as such, before "not shipped by this lookout".
  if (wellFormed && compareBundleVersions(config.bundle, record.bundle) < 0) {
    throw new UsageError(`bundle ${config.bundle} is older than the installed ${record.bundle}; downgrades are not supported`, {
      hint: `Keep bundle: ${record.bundle} (or newer) in the config.`,
    });
  }
  if (opts.to !== undefined) {
    const parsed = configSchema.shape.bundle.safeParse(opts.to);
    if (!parsed.success) {
      throw new UsageError(`--to: ${parsed.error.issues[0]?.message ?? 'is not a bundle version'}, found "${opts.to}"`);
    }
  }
  const location = configLocation(config);
  if (location && location.value !== record.region) {
    throw new UsageError(`${location.field}: the instance lives in ${record.region}, the config says ${location.value}`, {
      hint: 'The region of an instance cannot change; create a new instance for another region.',
    });
  }
  return config;
}

/** What an upgrade would change, computed offline from the record, the config and the bundles. */
export interface PendingUpgrade {
  from: string;
  to: string;
  diff: UpgradeDiff;
  migrations: PlannedMigration[];
  /** The newest bundle this lookout ships, when it is newer than the target. */
  newerBundle?: string;
}

export function pendingUpgrade(record: InstanceRecord, config: ResolvedConfig): PendingUpgrade {
  const diff = upgradeDiff({ config: record.config, bundle: loadBundle(record.bundle) }, { config, bundle: loadBundle(config.bundle) });
  const newest = availableBundles().at(-1)!;
  return {
    from: record.bundle,
    to: config.bundle,
    diff,
    migrations: plannedMigrations(record.bundle, config.bundle),
    ...(compareBundleVersions(newest, config.bundle) > 0 ? { newerBundle: newest } : {}),
  };
}

export function nothingPending(p: PendingUpgrade): boolean {
  const d = p.diff;
  return p.from === p.to && d.components.length === 0 && d.config.length === 0 && d.tenantsAdded.length === 0 && d.tenantsRemoved.length === 0;
}

/** The preview lines shown before asking: versions with their upstream notes, config, tenants, rollouts, migrations. */
export function previewLines(p: PendingUpgrade): string[] {
  const lines = renderUpgradeDiff(p.diff);
  const [from, to] = [loadBundle(p.from), loadBundle(p.to)];
  const lokiConfigChanged = from.components.loki.ruleStorage !== to.components.loki.ruleStorage;
  const replacements = statefulReplacements(from, to);
  const rollouts = statefulRollouts(p.diff, lokiConfigChanged, replacements.map((r) => r.workload));
  if (replacements.length || rollouts.length) lines.push('Stateful workloads:', ...replacements.map((r) => r.line), ...rollouts);
  lines.push(...renderMigrations(p.migrations));
  return lines;
}

/** `--check`: one line per pending item; the exit code says whether anything is pending. */
export function checkReport(name: string, p: PendingUpgrade): { pending: boolean; lines: string[] } {
  const lines: string[] = [];
  if (p.from !== p.to) lines.push(`bundle ${p.from} → ${p.to} is pending${p.migrations.length ? ` (migrations: ${p.migrations.map((m) => m.id).join(', ')})` : ''}`);
  else if (p.newerBundle) lines.push(`a newer bundle is available: ${p.newerBundle} (installed ${p.from}); run \`lookout upgrade ${name} --to ${p.newerBundle}\``);
  const d = p.diff;
  if (d.config.length) lines.push(`config changes are pending: ${d.config.map((c) => c.field).join(', ')}`);
  if (d.tenantsAdded.length) lines.push(`tenants to add: ${d.tenantsAdded.join(', ')}`);
  if (d.tenantsRemoved.length) lines.push(`tenants to remove: ${d.tenantsRemoved.join(', ')}`);
  const pending = lines.length > 0;
  if (!pending) lines.push(`Nothing is pending: ${name} runs bundle ${p.from}, the newest this lookout ships, with this config.`);
  return { pending, lines };
}

function describeChanges(changes: Record<string, number>): string {
  const parts = Object.entries(changes)
    .filter(([op, n]) => op !== 'same' && n > 0)
    .map(([op, n]) => `${n} to ${op}`);
  return parts.length ? parts.join(', ') : 'no changes';
}

/**
 * Shows what the upgrade changes (component versions, config, tenants, and the infra
 * stack's preview) and asks before anything is applied.
 */
function previewAndConfirmStep(c: InstanceContext, diffLines: string[], yes: boolean): Step<{ changes: Record<string, number> }> {
  return {
    name: 'confirm',
    title: 'Preview the changes',
    alwaysRun: true,
    async run(ctx) {
      const preview = await c.provider.previewInfra(c, ctx);
      const summary = describeChanges(preview.changes);
      const infraChanged = summary !== 'no changes';
      if (infraChanged && preview.diffText) ctx.log('info', preview.diffText.trimEnd());
      ctx.log('info', [...diffLines, `Infrastructure: ${summary}.`].join('\n'));
      const anything = infraChanged || !diffLines[0]?.startsWith('No component');
      if (anything && !yes) {
        const { confirm } = await import('./session.js');
        const ok = await withReporterSuspended(c.session.reporter, () => confirm(`Apply these changes to ${c.name}?`));
        if (!ok) {
          throw new FailureError('upgrade cancelled: nothing was changed', { hint: 'Run it again when you are ready, or with --yes.' });
        }
      }
      return { changes: preview.changes };
    },
  };
}

/**
 * The provider's infra steps with the confirmation before anything changes: after its
 * `preflight` (the preview needs the preflight's outputs, and it changes nothing).
 */
export function upgradeInfraSteps(infraSteps: Step[], confirm: Step): Step[] {
  const preflight = infraSteps.findIndex((s) => s.name === 'preflight');
  return [...infraSteps.slice(0, preflight + 1), confirm, ...infraSteps.slice(preflight + 1)];
}

/**
 * The cluster steps in the order that keeps data safe: what migrations must record runs
 * before the platform changes; the platform (stores first, in one stack) and the tenants are
 * applied; then the migrations move or check what they recorded; then everything is verified.
 */
export function upgradeClusterSteps(cluster: Step[], migrations: { before: Step[]; after: Step[] }): Step[] {
  const found = cluster.findIndex((s) => s.name === 'verify');
  const verify = found === -1 ? cluster.length : found;
  return [...migrations.before, ...cluster.slice(0, verify), ...migrations.after, ...cluster.slice(verify)];
}

/**
 * The bundle an interrupted `upgrade --to X` was moving to, while its run is unfinished: a
 * plain `upgrade` resumes toward it rather than back toward the bundle still recorded (which
 * would roll back what the interrupted run already applied).
 */
export function interruptedUpgradeTarget(record: InstanceRecord, upgradeRun: { status: string } | undefined): string | undefined {
  if (!record.upgradingTo || record.upgradingTo === record.bundle) return undefined;
  return upgradeRun && upgradeRun.status !== 'done' ? record.upgradingTo : undefined;
}

export function resumingMessage(name: string, installed: string, target: string, explicit: boolean): string {
  return `Resuming the interrupted upgrade of ${name} to bundle ${target}${explicit ? '' : ' (no --to given: the interrupted run\'s target)'}; ${name} records bundle ${installed} until it finishes.`;
}

export async function upgradeCommand(opts: UpgradeOptions): Promise<void> {
  validateInstanceName(opts.name);
  const parallel = parseParallel(opts.parallel);
  const tenantParallelism = parallel.limit;
  const { state, record } = await requireInstance(opts.name, opts.state);
  if (record.status === 'destroyed') {
    throw new UsageError(`instance "${opts.name}" was destroyed`, { hint: 'Create it again with `lookout create`.' });
  }
  const stateUrl = record.stateUrl;
  const journal = await state.readJournal();
  const resumeTo = interruptedUpgradeTarget(record, journal?.runs.find((r) => r.command === 'upgrade'));
  if (resumeTo && opts.to !== undefined && opts.to !== resumeTo) {
    throw new UsageError(`--to ${opts.to}: the upgrade of ${opts.name} to bundle ${resumeTo} was interrupted and has not finished; it must finish before an upgrade to ${opts.to}`, {
      hint: `Run \`lookout upgrade ${opts.name}\` (or with --to ${resumeTo}) to finish it first.`,
    });
  }
  const config = await targetConfig(record, resumeTo ? { ...opts, to: resumeTo } : opts);
  const { openSession } = await import('./session.js');

  // Everything offline first: an unknown bundle, a downgrade, a path that skips a required
  // migration or a migration this lookout lacks is refused here, before anything changes.
  const pending = pendingUpgrade(record, config);
  if (opts.check) {
    const report = checkReport(opts.name, pending);
    printResult(opts, { type: 'check', instance: opts.name, pending: report.pending, bundle: record.bundle, target: config.bundle, ...(pending.newerBundle ? { newerBundle: pending.newerBundle } : {}), lines: report.lines }, () =>
      `${report.lines.join('\n')}\n`,
    );
    if (report.pending) process.exitCode = ExitCode.pending;
    return;
  }
  // An interrupted run is resumed, never reported as "nothing to upgrade": the record moves to
  // the new bundle only when an upgrade has finished.
  const lastRun = journal?.runs.at(-1);
  if (nothingPending(pending) && record.status === 'ready' && (lastRun === undefined || lastRun.status === 'done')) {
    printResult(opts, { type: 'result', instance: opts.name, status: 'ready', bundle: record.bundle, changed: false }, () =>
      `Nothing to upgrade: ${opts.name} already runs bundle ${record.bundle} with this config.${pending.newerBundle ? ` A newer bundle is available: run \`lookout upgrade ${opts.name} --to ${pending.newerBundle}\`.` : ''}\n`,
    );
    return;
  }
  const warnings = await checkBeforeCloud(config, { file: opts.config ?? 'the recorded config', purpose: 'apply' });
  const bundle = loadBundle(config.bundle);
  const diffLines = previewLines(pending);
  const [{ runSteps }, { loadProvider }, tls, cluster, { expectedResourceCounts }, { clusterPreviewStep }] = await Promise.all([
    import('../engine/index.js'),
    import('../providers/registry.js'),
    import('../steps/tls-steps.js'),
    import('../steps/cluster-steps.js'),
    import('../plan/count-worker.js'),
    import('../steps/cluster-preview.js'),
  ]);
  const provider = await loadProvider(record.provider);
  const expectedCounts = expectedResourceCounts(config);
  expectedCounts.catch(() => {});
  const session: CommandSession = await openSession({
    instance: opts.name,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout upgrade ${opts.name}${opts.config ? ` -c ${opts.config}` : ''}\` again to resume: it carries on toward bundle ${config.bundle}.`,
  });
  try {
    if (resumeTo) session.log('warn', resumingMessage(opts.name, record.bundle, resumeTo, opts.to !== undefined));
    for (const w of warnings) session.log('warn', w);
    if (parallel.lowered) session.log('info', parallel.lowered);
    // Recorded before the first step: an interrupt from here on leaves the target for a plain `upgrade` to resume.
    const current = config.bundle !== record.bundle ? await state.updateRecord({ upgradingTo: config.bundle }) : record;
    await expectedCounts;
    const c: InstanceContext = {
      name: opts.name,
      config,
      configFile: opts.config ?? 'the recorded config',
      ...(stateUrl ? { stateUrl } : {}),
      session,
      provider,
      record: current,
      expectedCounts,
      bundle,
      yes: Boolean(opts.yes),
      tenantParallelism,
    };
    const migrations = migrationSteps(pending.migrations, c);
    const result = await runSteps({
      instance: opts.name,
      command: 'upgrade',
      steps: [
        ...upgradeInfraSteps(await provider.infraSteps(c), previewAndConfirmStep(c, diffLines, Boolean(opts.yes))),
        ...tls.certificateSteps(c),
        clusterPreviewStep(c),
        ...upgradeClusterSteps(cluster.clusterSteps(c, record.config.tenants), migrations),
      ],
      store: state,
      reporter: session.reporter,
      signal: session.signal,
      resume: 'unfinished',
    });
    await state.updateRecord({ status: 'ready', config, bundle: config.bundle, upgradingTo: undefined });
    session.close();
    printResult(opts, { type: 'result', instance: opts.name, status: 'ready', bundle: config.bundle, outputs: result.outputs }, () =>
      `\nInstance ${opts.name} is up to date (bundle ${config.bundle}); every tenant verified.\n`,
    );
  } finally {
    session.close();
  }
}
