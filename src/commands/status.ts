/**
 * `lookout status <name>`: the instance record, the journal of its runs and the outputs its
 * steps recorded. It reads the instance's state only (local files, or the shared bucket), so
 * it needs no passphrase, and credentials only for a shared state.
 */
import { validateInstanceName } from '../config/load.js';
import { describeLockHolder, type Journal, type LockInfo, type RunRecord } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { instancePaths } from '../paths.js';
import { formatDuration } from '../progress/reporters.js';
import type { InstanceRecord } from '../state/instance-record.js';
import { requireInstance } from '../state/instance-state.js';
import { printResult } from './output.js';
import { availableBundles, componentVersions, loadBundle } from '../bundle/manifest.js';
import { allTenantEndpoints } from '../plan/endpoints.js';
import { latestOutputs } from '../steps/recorded.js';
import type { TlsOutputs } from '../steps/tls-steps.js';
import type { PlatformStepOutputs } from '../steps/cluster-steps.js';
import type { CloudProvider } from '../providers/types.js';

export interface StatusOptions {
  name: string;
  json?: boolean;
  state?: string;
  debug?: boolean;
  /** Run the verify probe against every tenant now (needs credentials and the passphrase). */
  verify?: boolean;
  /** Print every tenant's tokens (the user asked for secrets). */
  showTokens?: boolean;
}

const STATUS_MARK: Record<string, string> = { done: '✓', failed: '✗', interrupted: '■', started: '…' };

function renderRun(run: RunRecord): string[] {
  const took = run.finishedAt ? ` in ${formatDuration(Date.parse(run.finishedAt) - Date.parse(run.startedAt))}` : '';
  const lines = [`  ${run.command}: ${run.status}${took} (run ${run.runId}, started ${run.startedAt}, ${run.invocations} invocation${run.invocations === 1 ? '' : 's'})`];
  for (const step of run.steps) {
    const mark = STATUS_MARK[step.status] ?? '?';
    lines.push(`    ${mark} ${step.title}${step.status === 'done' ? '' : ` — ${step.status}`}${step.error ? `: ${step.error}` : ''}`);
    if (step.hint && step.status !== 'done') lines.push(`        hint: ${step.hint}`);
  }
  return lines;
}

function infraOutputsOf(journal: Journal | undefined): Record<string, unknown> | undefined {
  for (const run of [...(journal?.runs ?? [])].sort((a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt))) {
    const infra = run.steps.find((s) => s.name === 'infra' && s.status === 'done');
    if (infra?.outputs) return infra.outputs as Record<string, unknown>;
  }
  return undefined;
}

/** Days from `now` until `iso`, rounded down. */
export function daysUntil(iso: string, now = new Date()): number {
  return Math.floor((Date.parse(iso) - now.getTime()) / 86_400_000);
}

/** `provider` describes the recorded infrastructure (the instance's own provider). */
export function renderStatus(
  record: InstanceRecord,
  journal: Journal | undefined,
  lockHolder: string | undefined,
  provider: Pick<CloudProvider, 'describeInfra'>,
  now = new Date(),
): string {
  const infra = infraOutputsOf(journal);
  const tls = latestOutputs<TlsOutputs>(journal, 'tls');
  const platform = latestOutputs<PlatformStepOutputs>(journal, 'platform');
  const components = componentVersions(loadBundle(record.bundle));
  const newer = newerBundle(record);
  const out = [
    `Instance ${record.name}: ${record.status}`,
    `  provider    ${record.provider} ${record.region} (account ${record.accountId})`,
    `  bundle      ${record.bundle}: ${Object.entries(components).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...(newer && record.status !== 'destroyed'
      ? [`  available   bundle ${newer}: run \`lookout upgrade ${record.name} --to ${newer}\` (preview first, then it asks)`]
      : []),
    `  state       ${record.stateUrl ?? `${instancePaths(record.name).pulumiState} (local)`}`,
    `  updated     ${record.updatedAt}`,
  ];
  if (lockHolder) out.push(`  running     ${lockHolder}`);
  if (infra && record.status !== 'destroyed') {
    out.push(
      '',
      'Infrastructure',
      ...provider.describeInfra(infra, { domain: record.config.dns.domain, kubeconfigPath: instancePaths(record.name).kubeconfig, view: 'status' }),
    );
  }
  if (tls && record.status !== 'destroyed') {
    const days = daysUntil(tls.notAfter, now);
    out.push(
      '',
      'Certificate',
      `  names       ${tls.names.join(', ')}`,
      `  issuer      ${tls.issuer}${tls.selfSigned ? ' (self-signed)' : ''}`,
      `  expires     ${tls.notAfter} (${days >= 0 ? `${days} days left` : `EXPIRED ${-days} days ago`}); renewal due ${tls.renewalDue.slice(0, 10)}`,
    );
  }
  if (platform && record.status !== 'destroyed') {
    out.push('', 'Tenants', `  gateway     ${platform.loadBalancerHostname}`);
    for (const e of allTenantEndpoints(record.config.tenants, record.config.dns.domain)) out.push(`  ${e.tenant.padEnd(12)}https://${e.host}/`);
  }
  if (journal && journal.runs.length > 0) {
    out.push('', 'Runs');
    for (const run of journal.runs) out.push(...renderRun(run));
  }
  if (journal && journal.history.length > 0) {
    out.push('', 'History (newest last)');
    for (const h of journal.history.slice(-10)) {
      out.push(`  ${h.finishedAt}  ${h.command} ${h.status}${h.stoppedAt ? ` at ${h.stoppedAt}` : ''}${h.error ? `: ${h.error}` : ''}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Who holds the lock and, for a shared one, how fresh its lease is: what to judge a stuck lock by. */
export function describeLock(lock: LockInfo, now = Date.now()): string {
  const holder = describeLockHolder(lock);
  if (!lock.leaseMs || !lock.renewedAt) return holder;
  const ago = formatDuration(Math.max(0, now - Date.parse(lock.renewedAt)));
  return `${holder}, last renewed ${ago} ago by its clock (taken over once not renewed for ${formatDuration(lock.leaseMs)})`;
}

/** The newest bundle this lookout ships, when it is newer than the instance's. */
export function newerBundle(record: Pick<InstanceRecord, 'bundle'>): string | undefined {
  const shipped = availableBundles();
  const newest = shipped.at(-1)!;
  return shipped.indexOf(newest) > shipped.indexOf(record.bundle) ? newest : undefined;
}

export async function statusCommand(opts: StatusOptions): Promise<void> {
  validateInstanceName(opts.name);
  const { state, record } = await requireInstance(opts.name, opts.state);
  const [journal, lock] = await Promise.all([state.readJournal(), state.readLock()]);
  const lockHolder = lock ? describeLock(lock) : undefined;
  const tls = latestOutputs<TlsOutputs>(journal, 'tls');
  const { loadProvider } = await import('../providers/registry.js');
  const provider = await loadProvider(record.provider);
  printResult(
    opts,
    {
      type: 'result',
      instance: record,
      components: componentVersions(loadBundle(record.bundle)),
      newerBundle: newerBundle(record) ?? null,
      certificate: tls ? { ...tls, daysLeft: daysUntil(tls.notAfter) } : null,
      journal: journal ?? null,
      infra: infraOutputsOf(journal) ?? null,
      running: lockHolder ?? null,
    },
    () => renderStatus(record, journal, lockHolder, provider),
  );
  if (opts.verify || opts.showTokens) {
    if (record.status === 'destroyed') throw new UsageError(`instance "${opts.name}" was destroyed`);
    const { liveStatus } = await import('./status-live.js');
    await liveStatus(state, record, journal, { verify: Boolean(opts.verify), showTokens: Boolean(opts.showTokens), json: Boolean(opts.json) });
  }
}
