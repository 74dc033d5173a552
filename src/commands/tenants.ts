/**
 * `lookout tenant add|remove|list` and `lookout token create|revoke|list`: day-two changes to
 * tenants and tokens. Each edits the `-c` file (comments and layout kept, src/tenants/config-edit.ts),
 * validates the whole result like any config, then applies only what changed:
 *
 * - a tenant added or removed: the platform stack (the stores' runtime overrides, whose size
 *   does not grow with the tenants' stacks) and that tenant's stack;
 * - a token created or revoked: that tenant's stack, whose only change is its entry in the
 *   gateway's token map (the gateway reloads it gracefully, without a restart).
 *
 * No other tenant's stack runs, so the cost does not grow with the number of tenants. The
 * applied config is recorded, so a later `upgrade -c` with a file that lacks the change shows it
 * in its preview before undoing it.
 */
import { readFile } from 'node:fs/promises';
import { parseConfigText, validateInstanceName, type ResolvedConfig } from '../config/load.js';
import type { TenantConfig } from '../config/schema.js';
import { tokenSpec, type TokenScope } from '../config/tokens.js';
import type { Journal, Step } from '../engine/index.js';
import { UsageError } from '../errors.js';
import type { InstanceRecord } from '../state/instance-record.js';
import { requireInstance } from '../state/instance-state.js';
import type { InstanceContext } from '../steps/context.js';
import { escapeForTerminal } from '../terminal-text.js';
import { addTenant, addToken, removeTenant, removeToken, type NewToken } from '../tenants/config-edit.js';
import { printResult } from './output.js';

interface Common {
  instance: string;
  config?: string;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
}

export type TenantChange =
  | { kind: 'tenant-add'; tenant: string }
  | { kind: 'tenant-remove'; tenant: string }
  | { kind: 'token'; tenant: string };

/** Tokens within this many days of expiry are flagged by `list` (and alerted on by the system tenant). */
export const EXPIRY_WARNING_DAYS = 14;

type ClusterSteps = typeof import('../steps/cluster-steps.js');
type RecordedStep = typeof import('../steps/recorded.js').recordedStep;

/**
 * The steps of one change: the recorded outputs it builds on, then only the stacks it touches.
 * Exported so a test can show that no other tenant's stack is among them, whatever their number.
 */
export function tenantChangeSteps(c: InstanceContext, journal: Journal | undefined, change: TenantChange, cluster: ClusterSteps, recorded: RecordedStep): Step[] {
  const base = [recorded(journal, 'infra', 'infrastructure outputs'), recorded(journal, 'tls', 'certificate')];
  const tenant = () => {
    const config = c.config.tenants.find((t) => t.name === change.tenant);
    if (!config) throw new Error(`tenant ${change.tenant} is not in the config being applied`);
    return config;
  };
  switch (change.kind) {
    // The system tenant's alerts list tokens about to expire: reloaded whenever tokens change.
    case 'tenant-add':
      return [...base, cluster.platformStep(c), cluster.tenantStep(c, tenant()), cluster.systemAlertingStep(c)];
    case 'tenant-remove':
      return [...base, cluster.platformStep(c), cluster.tenantRemoveStep(c, change.tenant)];
    case 'token':
      return [...base, recorded(journal, 'platform', 'platform outputs'), cluster.tenantStep(c, tenant()), cluster.systemAlertingStep(c)];
  }
}

function requireConfigFile(opts: Common, command: string): string {
  if (!opts.config) {
    throw new UsageError(`${command} needs -c/--config: the lookout.yaml it edits`, { hint: 'The file stays the single source of truth; pass the one you apply with `upgrade`.' });
  }
  return opts.config;
}

/**
 * Edits the file, validates it, applies the change and records the applied config. A change
 * already in the file but not yet applied (an interrupted run) is applied without editing again.
 */
async function editAndApply(
  opts: Common,
  command: string,
  change: TenantChange,
  edit: (text: string, file: string) => string,
  alreadyInFile: (config: ResolvedConfig) => boolean,
  after?: (c: InstanceContext) => Promise<void>,
  extraSteps: (c: InstanceContext, journal: Journal | undefined) => Step[] = () => [],
): Promise<void> {
  validateInstanceName(opts.instance);
  const file = requireConfigFile(opts, command);
  const { state, record } = await requireInstance(opts.instance, opts.state);
  if (record.status === 'destroyed') throw new UsageError(`instance "${opts.instance}" was destroyed`);
  const expect = { provider: record.provider, name: record.name };
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`-c/--config: cannot read ${file} (${err.code ?? err.message})`);
  });
  const current = parseConfigText(text, file, expect);
  const nextText = alreadyInFile(current) ? text : edit(text, file);
  const config = parseConfigText(nextText, file, expect);
  const unrelated = otherDifferences(record.config, current, change.tenant);
  const { writeFileAtomic } = await import('../fs-atomic.js');
  if (nextText !== text) await writeFileAtomic(file, nextText, { mode: 0o644 });

  const [{ openSession }, { runSteps }, { contextFromRecord }, { recordedStep }, cluster] = await Promise.all([
    import('./session.js'),
    import('../engine/index.js'),
    import('../steps/context.js'),
    import('../steps/recorded.js'),
    import('../steps/cluster-steps.js'),
  ]);
  const journal = await state.readJournal();
  const session = await openSession({
    instance: opts.instance,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout upgrade ${opts.instance} -c ${file}\` to finish applying ${file}.`,
  });
  try {
    if (unrelated.length) session.log('warn', `${file} has other changes that this command does not apply (${unrelated.join(', ')}); \`lookout upgrade ${opts.instance} -c ${file}\` applies them.`);
    // Only this change is applied: the recorded config with this tenant as the file has it.
    const applied = withTenantFrom(record.config, config, change.tenant);
    const c = { ...(await contextFromRecord(record, session, { yes: Boolean(opts.yes) })), config: applied, configFile: file };
    await runSteps({
      instance: opts.instance,
      command,
      steps: [...recordedOnceApplied(tenantChangeSteps(c, journal, change, cluster, recordedStep), () => state.updateRecord({ config: applied })), ...extraSteps(c, journal)],
      store: state,
      reporter: session.reporter,
      signal: session.signal,
      resume: 'unfinished',
    });
    session.close();
    await after?.(c);
  } finally {
    session.close();
  }
}

/**
 * The change's steps with one that records the applied config as soon as its stacks are applied,
 * before the steps that only load alerting or delete data: the tenant and its tokens exist from
 * then on, so `list` and the next command see them even if a later step fails or is interrupted.
 */
export function recordedOnceApplied(steps: Step[], record: () => Promise<unknown>): Step[] {
  const recording: Step<{ recorded: true }> = {
    name: 'record-config',
    title: 'Record the applied config',
    alwaysRun: true,
    async run() {
      await record();
      return { recorded: true };
    },
  };
  const at = steps.findIndex((s) => s.name === 'system-alerting');
  return at < 0 ? [...steps, recording] : [...steps.slice(0, at), recording, ...steps.slice(at)];
}

/** The record's config with tenant `name` as in `from` (added, changed, or removed). */
export function withTenantFrom(recorded: ResolvedConfig, from: ResolvedConfig, name: string): ResolvedConfig {
  const wanted = from.tenants.find((t) => t.name === name);
  const others = recorded.tenants.filter((t) => t.name !== name);
  const index = recorded.tenants.findIndex((t) => t.name === name);
  const tenants = wanted ? [...others.slice(0, index < 0 ? others.length : index), wanted, ...others.slice(index < 0 ? others.length : index)] : others;
  return { ...recorded, tenants };
}

/** Top-level fields (and other tenants) where the file differs from what was applied. */
export function otherDifferences(recorded: ResolvedConfig, file: ResolvedConfig, tenant: string): string[] {
  const out: string[] = [];
  for (const key of new Set([...Object.keys(recorded), ...Object.keys(file)]) as Set<keyof ResolvedConfig>) {
    if (key === 'tenants') continue;
    if (JSON.stringify(recorded[key]) !== JSON.stringify(file[key])) out.push(key);
  }
  const byName = (c: ResolvedConfig) => new Map(c.tenants.filter((t) => t.name !== tenant).map((t) => [t.name, JSON.stringify(t)]));
  const a = byName(recorded);
  const b = byName(file);
  for (const name of new Set([...a.keys(), ...b.keys()])) if (a.get(name) !== b.get(name)) out.push(`tenants[${name}]`);
  return out;
}

function parseScope(scope: string | undefined): TokenScope | undefined {
  if (scope === undefined) return undefined;
  if (!['write', 'read', 'admin', 'all'].includes(scope)) throw new UsageError(`--scope: must be one of write, read, admin, all, found "${scope}"`);
  return scope as TokenScope;
}

function parseDays(days: string | undefined): number | undefined {
  if (days === undefined) return undefined;
  const n = Number(days);
  if (!Number.isInteger(n) || n < 1 || n > 3650) throw new UsageError(`--expires-in-days: must be a whole number of days from 1 to 3650, found "${days}"`);
  return n;
}

// ---------------------------------------------------------------------------------------------

export interface TenantAddOptions extends Common {
  tenant: string;
  /** `name` or `name:scope`, repeatable. */
  token?: string[];
  allowedCidr?: string[];
}

export function parseTokenFlag(flag: string): NewToken {
  const [name = '', scope] = flag.split(':');
  return { name, ...(scope ? { scope: parseScope(scope)! } : {}) };
}

export async function tenantAddCommand(opts: TenantAddOptions): Promise<void> {
  const tokens = opts.token?.map(parseTokenFlag);
  await editAndApply(
    opts,
    'tenant-add',
    { kind: 'tenant-add', tenant: opts.tenant },
    (text, file) => addTenant(text, file, { name: opts.tenant, ...(tokens ? { tokens } : {}), ...(opts.allowedCidr ? { allowedCidrs: opts.allowedCidr } : {}) }),
    (config) => config.tenants.some((t) => t.name === opts.tenant),
  );
  printResult(opts, { type: 'result', instance: opts.instance, tenant: opts.tenant, added: true }, () =>
    `\nTenant ${opts.tenant} is installed. Its tokens: \`lookout token list ${opts.instance} ${opts.tenant}\`; show one with --show-tokens.\n`,
  );
}

export interface TenantRemoveOptions extends Common {
  tenant: string;
  deleteData?: boolean;
}

/**
 * Deletes the removed tenant's objects under its id's prefixes (src/tenants/delete-data.ts). A
 * step, so an interrupted deletion is resumed by running the command again.
 */
function deleteDataStep(c: InstanceContext, journal: Journal | undefined, tenant: string): Step<{ deleted: Array<{ what: string; bucket: string; deletedObjects: number }> }> {
  return {
    name: `tenant-delete-data:${tenant}`,
    title: `Delete the data of tenant ${tenant} from the buckets`,
    async run(ctx) {
      const record = c.record!;
      const [{ latestOutputs }, { secretStore }, { TENANT_IDS_KEY }, { deleteTenantData, tenantDataLocations }, { loadProvider }] = await Promise.all([
        import('../steps/recorded.js'),
        import('../steps/context.js'),
        import('../tenants/tenant-ids.js'),
        import('../tenants/delete-data.js'),
        import('../providers/registry.js'),
      ]);
      const infra = latestOutputs<Record<string, unknown>>(journal, 'infra');
      const provider = await loadProvider(record.provider);
      if (!infra || !provider.tenantDataStore) throw new UsageError('--delete-data: this instance has no recorded buckets');
      const store = await provider.tenantDataStore(record, infra);
      const registry = (await (await secretStore(c)).get<Record<string, { id: string }>>(TENANT_IDS_KEY)) ?? {};
      // A tenant removed before ids were recorded kept its data under its name.
      const id = registry[tenant]?.id ?? tenant;
      const reports = await deleteTenantData(store.objects, tenantDataLocations(id, store.buckets), {
        signal: ctx.signal,
        onProgress: (r) => ctx.progress({ message: `${r.what}: ${r.deletedObjects} objects deleted from ${r.bucket}` }),
      });
      for (const r of reports) ctx.log('info', `${r.what}: deleted ${r.deletedObjects} objects under ${store.url(r.bucket, r.prefix)}`);
      return { deleted: reports.map(({ what, bucket, deletedObjects }) => ({ what, bucket, deletedObjects })) };
    },
  };
}

/** What stops working when a tenant goes: said before asking. */
export function removalWarning(instance: string, tenant: TenantConfig, domain: string, deleteData = false): string {
  const tokens = tenant.tokens.map((t) => tokenSpec(t).name);
  return [
    `Removing tenant ${tenant.name} of ${instance}:`,
    `  - https://${tenant.name}.${domain}/ stops answering: its Grafana (dashboards, users) is deleted;`,
    `  - its ${tokens.length} token(s) stop working at once: ${tokens.join(', ')};`,
    deleteData
      ? '  - its data is deleted from the buckets (metric blocks, log chunks and index, rules, Alertmanager config): this cannot be undone.'
      : '  - its data stays in the buckets until retention ends, and is never shown to a tenant added later under the same name.',
  ].join('\n');
}

export async function tenantRemoveCommand(opts: TenantRemoveOptions): Promise<void> {
  const { record } = await requireInstance(opts.instance, opts.state);
  if (opts.tenant === 'system') throw new UsageError('the system tenant holds the platform’s own telemetry and cannot be removed');
  if (opts.deleteData) {
    const { loadProvider, providerTitle } = await import('../providers/registry.js');
    if (!(await loadProvider(record.provider)).tenantDataStore) {
      throw new UsageError(`--delete-data: deleting one tenant's data is not built yet for ${providerTitle(record.provider)} instances`, {
        hint: 'Remove the tenant without --delete-data: its data stays in the buckets until retention ends, and a tenant added later under the same name never sees it.',
      });
    }
  }
  const tenant = record.config.tenants.find((t) => t.name === opts.tenant);
  if (tenant && !opts.yes) {
    const { confirmByTyping } = await import('./session.js');
    process.stderr.write(`${escapeForTerminal(removalWarning(opts.instance, tenant, record.config.dns.domain, Boolean(opts.deleteData)))}\n`);
    if (!(await confirmByTyping(`Remove tenant ${opts.tenant}?`, opts.instance))) throw new UsageError('tenant remove cancelled: nothing was changed');
  }
  await editAndApply(
    opts,
    'tenant-remove',
    { kind: 'tenant-remove', tenant: opts.tenant },
    (text, file) => removeTenant(text, file, opts.tenant),
    (config) => !config.tenants.some((t) => t.name === opts.tenant),
    undefined,
    (c, journal) => (opts.deleteData ? [deleteDataStep(c, journal, opts.tenant)] : []),
  );
  printResult(opts, { type: 'result', instance: opts.instance, tenant: opts.tenant, removed: true, dataDeleted: Boolean(opts.deleteData) }, () =>
    `\nTenant ${opts.tenant} is removed.${opts.deleteData ? ' Its data is deleted from the buckets (see the step log for what).' : ' Its data stays in the buckets until retention ends; a tenant added later under this name never sees it.'}\n`,
  );
}

export interface TokenCreateOptions extends Common {
  tenant: string;
  token: string;
  scope?: string;
  expiresInDays?: string;
}

export async function tokenCreateCommand(opts: TokenCreateOptions): Promise<void> {
  const token: NewToken = {
    name: opts.token,
    ...(parseScope(opts.scope) ? { scope: parseScope(opts.scope)! } : {}),
    ...(parseDays(opts.expiresInDays) !== undefined ? { expiresInDays: parseDays(opts.expiresInDays)! } : {}),
  };
  let value = '';
  await editAndApply(
    opts,
    'token-create',
    { kind: 'token', tenant: opts.tenant },
    (text, file) => addToken(text, file, opts.tenant, token),
    (config) => Boolean(config.tenants.find((t) => t.name === opts.tenant)?.tokens.some((t) => tokenSpec(t).name === opts.token)),
    async (c) => {
      const [{ readTenantCredentials }, { secretStore }] = await Promise.all([import('../tenants/credentials.js'), import('../steps/context.js')]);
      value = (await readTenantCredentials(await secretStore(c), opts.tenant))?.tokens[opts.token] ?? '';
    },
  );
  // Printed once, here; afterwards only `token list --show-tokens` shows it.
  printResult(opts, { type: 'result', instance: opts.instance, tenant: opts.tenant, token: { name: opts.token, scope: token.scope ?? 'all', value } }, () =>
    `\nToken ${opts.token} of tenant ${opts.tenant} (scope ${token.scope ?? 'all'}${token.expiresInDays ? `, expires in ${token.expiresInDays} days` : ''}):\n\n  ${value}\n\nIt is shown only now; store it in your secret manager.\n`,
  );
}

export interface TokenRevokeOptions extends Common {
  tenant: string;
  token: string;
}

export async function tokenRevokeCommand(opts: TokenRevokeOptions): Promise<void> {
  await editAndApply(
    opts,
    'token-revoke',
    { kind: 'token', tenant: opts.tenant },
    (text, file) => removeToken(text, file, opts.tenant, opts.token),
    (config) => !config.tenants.find((t) => t.name === opts.tenant)?.tokens.some((t) => tokenSpec(t).name === opts.token),
  );
  printResult(opts, { type: 'result', instance: opts.instance, tenant: opts.tenant, revoked: opts.token }, () =>
    `\nToken ${opts.token} of tenant ${opts.tenant} is revoked: the gateway refuses it from its next reload (seconds).\n`,
  );
}

// ---------------------------------------------------------------------------------------------
// Listing.

export interface TokenListing {
  name: string;
  scope: TokenScope;
  createdAt?: string;
  expiresAt?: string;
  /** Expires within EXPIRY_WARNING_DAYS (or has expired). */
  expiringSoon: boolean;
  value?: string;
}

export interface TenantListing {
  name: string;
  endpoints: import('../plan/endpoints.js').TenantEndpoints;
  retention: TenantConfig['retention'];
  limits: TenantConfig['limits'];
  allowedCidrs?: string[];
  tokens: TokenListing[];
}

/** A tenant as `list` shows it, from the applied config and the tokens' creation times. */
export function tenantListing(
  tenant: TenantConfig,
  domain: string,
  stored: Record<string, { value: string; createdAt: string }> | undefined,
  o: { now: Date; showTokens: boolean; tenantEndpoints: typeof import('../plan/endpoints.js').tenantEndpoints },
): TenantListing {
  const tokens = tenant.tokens.map((entry): TokenListing => {
    const spec = tokenSpec(entry);
    const created = stored?.[spec.name]?.createdAt;
    const expires = created && spec.expiresInDays ? new Date(Date.parse(created) + spec.expiresInDays * 86_400_000) : undefined;
    return {
      name: spec.name,
      scope: spec.scope,
      ...(created ? { createdAt: created } : {}),
      ...(expires ? { expiresAt: expires.toISOString() } : {}),
      expiringSoon: expires !== undefined && expires.getTime() - o.now.getTime() < EXPIRY_WARNING_DAYS * 86_400_000,
      ...(o.showTokens && stored?.[spec.name] ? { value: stored[spec.name]!.value } : {}),
    };
  });
  return {
    name: tenant.name,
    endpoints: o.tenantEndpoints(tenant.name, domain),
    retention: tenant.retention,
    limits: tenant.limits,
    ...(tenant.allowedCidrs ? { allowedCidrs: tenant.allowedCidrs } : {}),
    tokens,
  };
}

export function renderTenantListing(t: TenantListing): string {
  const lines = [
    `${t.name}`,
    ...Object.entries(t.endpoints)
      .filter(([k]) => k !== 'tenant')
      .map(([k, v]) => `  ${k}: ${String(v)}`),
    `  retention: metrics ${t.retention.metricsDays} days, logs ${t.retention.logsDays} days`,
    `  limits: ${Object.entries(t.limits).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...(t.allowedCidrs ? [`  allowed clients: ${t.allowedCidrs.join(', ')}`] : []),
    '  tokens:',
    ...t.tokens.map(
      (k) =>
        `    ${k.name}  scope ${k.scope}  created ${k.createdAt?.slice(0, 10) ?? 'not yet'}  ${k.expiresAt ? `expires ${k.expiresAt.slice(0, 10)}` : 'never expires'}${k.expiringSoon ? '  EXPIRES SOON' : ''}${k.value ? `  ${k.value}` : ''}`,
    ),
  ];
  return lines.join('\n');
}

export interface ListOptions extends Common {
  tenant?: string;
  showTokens?: boolean;
}

async function listings(opts: ListOptions, record: InstanceRecord): Promise<TenantListing[]> {
  const tenants = record.config.tenants.filter((t) => opts.tenant === undefined || t.name === opts.tenant);
  if (opts.tenant !== undefined && tenants.length === 0) throw new UsageError(`instance ${opts.instance} has no tenant ${opts.tenant}`);
  const [{ openSession }, { contextFromRecord, secretStore }, { readStoredTokens }, { tenantEndpoints }] = await Promise.all([
    import('./session.js'),
    import('../steps/context.js'),
    import('../tenants/credentials.js'),
    import('../plan/endpoints.js'),
  ]);
  const session = await openSession({ instance: opts.instance, json: opts.json, isNewInstance: false, resumeHint: '' });
  try {
    const store = await secretStore(await contextFromRecord(record, session, { yes: true }));
    const now = new Date();
    return await Promise.all(
      tenants.map(async (t) => tenantListing(t, record.config.dns.domain, await readStoredTokens(store, t.name), { now, showTokens: Boolean(opts.showTokens), tenantEndpoints })),
    );
  } finally {
    session.close();
  }
}

export async function tenantListCommand(opts: ListOptions): Promise<void> {
  validateInstanceName(opts.instance);
  const { record } = await requireInstance(opts.instance, opts.state);
  const list = await listings(opts, record);
  printResult(opts, { type: 'result', instance: opts.instance, tenants: list }, () => `${list.map(renderTenantListing).join('\n\n')}\n`);
}

export async function tokenListCommand(opts: ListOptions & { tenant: string }): Promise<void> {
  validateInstanceName(opts.instance);
  const { record } = await requireInstance(opts.instance, opts.state);
  const [listing] = await listings(opts, record);
  printResult(opts, { type: 'result', instance: opts.instance, tenant: opts.tenant, tokens: listing!.tokens }, () =>
    `${renderTenantListing(listing!).split('\n').slice(renderTenantListing(listing!).split('\n').indexOf('  tokens:')).join('\n')}\n`,
  );
}
