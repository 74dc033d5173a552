/**
 * Migration `loki-ruler-storage` (bundle 2026.12.0): Loki reads its rule groups from
 * `ruler_storage` instead of the deprecated `ruler.storage`. The new store reads the same keys
 * (`rules/<tenant>/<base64url namespace>/<base64url group>`, Loki v3.7.6), so no object is
 * copied; what this migration adds is proof. Before the platform changes it records every
 * tenant's Loki rule groups through the gateway (encrypted, in the instance's secret store);
 * after the cluster stacks are applied it lists them again through the new store and writes
 * back any group that is missing. Both steps are journal steps: a rerun after an interrupt
 * keeps the record taken before the change.
 */
import YAML from 'yaml';
import type { Step, StepContext } from '../engine/index.js';
import { FailureError } from '../errors.js';
import { RESERVED_TENANTS, tenantHost } from '../naming.js';
import type { InstanceContext } from '../steps/context.js';
import type { MigrationSteps } from './migrations.js';

export const MIGRATION_ID = 'loki-ruler-storage';
/** Where the record lives in the secret store until the check has passed. */
export const RECORD_KEY = `migration:${MIGRATION_ID}`;

export type RuleGroup = { name: string } & Record<string, unknown>;
/** Namespace → its rule groups, as Loki's `GET /loki/api/v1/rules` lists them. */
export type TenantRules = Record<string, RuleGroup[]>;
/** Tenant → its rules. */
export type RuleInventory = Record<string, TenantRules>;

/** The Loki ruler API of each tenant, as the migration uses it. */
export interface LokiRulesApi {
  list(tenant: string): Promise<TenantRules>;
  write(tenant: string, namespace: string, group: RuleGroup): Promise<void>;
}

export async function recordRuleGroups(api: LokiRulesApi, tenants: readonly string[]): Promise<RuleInventory> {
  const inventory: RuleInventory = {};
  for (const tenant of tenants) inventory[tenant] = await api.list(tenant);
  return inventory;
}

function missingGroups(recorded: TenantRules, now: TenantRules): Array<{ namespace: string; group: RuleGroup }> {
  const missing: Array<{ namespace: string; group: RuleGroup }> = [];
  for (const [namespace, groups] of Object.entries(recorded)) {
    const present = new Set((now[namespace] ?? []).map((g) => g.name));
    for (const group of groups) if (!present.has(group.name)) missing.push({ namespace, group });
  }
  return missing;
}

/**
 * Checks that every recorded group is listed again, and writes back those that are not.
 * Returns the groups checked and those restored (`tenant/namespace/group`).
 */
export async function restoreMissingGroups(api: LokiRulesApi, inventory: RuleInventory): Promise<{ checked: number; restored: string[] }> {
  let checked = 0;
  const restored: string[] = [];
  for (const [tenant, recorded] of Object.entries(inventory)) {
    checked += Object.values(recorded).reduce((n, gs) => n + gs.length, 0);
    const missing = missingGroups(recorded, await api.list(tenant));
    for (const { namespace, group } of missing) {
      await api.write(tenant, namespace, group);
      restored.push(`${tenant}/${namespace}/${group.name}`);
    }
    const still = missingGroups(recorded, await api.list(tenant));
    if (still.length > 0) {
      throw new FailureError(`Loki does not list ${still.length} rule group(s) of tenant ${tenant} after the move to ruler_storage, even after writing them again`, {
        hint: 'Check the loki-backend logs in namespace lookout, then run the upgrade again: the record taken before the change is kept until this check passes.',
      });
    }
  }
  return { checked, restored };
}

/** Parses Loki's rule listing; a tenant without rules gets 404 "no rule groups found". */
export function parseRuleListing(status: number, body: string): TenantRules | undefined {
  if (status === 404 && /no rule groups found/i.test(body)) return {};
  if (status !== 200) return undefined;
  const parsed = (YAML.parse(body) ?? {}) as TenantRules;
  return parsed;
}

export interface RulesApiOptions {
  /** The tenant's virtual host at the gateway. */
  host(tenant: string): string;
  /** A token of the tenant (the gateway sets X-Scope-OrgID from it). */
  token(tenant: string): Promise<string>;
  signal: AbortSignal;
  onWaiting(message: string): void;
  /** How long to wait for the ruler while its pods roll. Default: every 5 s, for 5 minutes. */
  timing?: { intervalMs: number; deadlineMs: number };
}

/** Loki's ruler API (`/loki/api/v1/rules`) through a probe client, waiting while it is unavailable. */
export async function rulesApiOver(client: import('../verify/client.js').ProbeClient, o: RulesApiOptions): Promise<LokiRulesApi> {
  const { waitFor, TimeoutError } = await import('../wait-for.js');
  const timing = o.timing ?? { intervalMs: 5_000, deadlineMs: 5 * 60_000 };
  return {
    async list(tenant) {
      let last = 'no answer';
      let rules: TenantRules | undefined;
      const attempt = async () => {
        try {
          const res = await client.request({ method: 'GET', host: o.host(tenant), path: '/loki/api/v1/rules', token: await o.token(tenant), signal: o.signal });
          last = `HTTP ${res.status}`;
          rules = parseRuleListing(res.status, res.body.toString('utf8'));
          // 5xx and 429 while the backend pods roll: wait. Anything else is an answer.
          if (!rules && res.status < 500 && res.status !== 429) {
            throw new FailureError(`Loki's rule API refused to list tenant ${tenant}'s rules (${last})`, {
              hint: 'Check the gateway and the loki-backend pods in namespace lookout, then run the upgrade again.',
            });
          }
        } catch (err) {
          if (err instanceof FailureError || o.signal.aborted) throw err;
          last = (err as Error).message;
        }
        if (!rules) o.onWaiting(`waiting for Loki's ruler (${tenant}: ${last})`);
        return rules !== undefined;
      };
      try {
        await waitFor(attempt, { interval: timing.intervalMs, timeout: { milliseconds: timing.deadlineMs } });
      } catch (err) {
        if (err instanceof TimeoutError) {
          throw new FailureError(`Loki's rule API did not answer for tenant ${tenant} within ${Math.round(timing.deadlineMs / 1000)} s (last: ${last})`, {
            hint: 'Check the loki-backend pods in namespace lookout, then run the upgrade again.',
          });
        }
        throw err;
      }
      return rules!;
    },
    async write(tenant, namespace, group) {
      const res = await client.request({
        method: 'POST',
        host: o.host(tenant),
        path: `/loki/api/v1/rules/${encodeURIComponent(namespace)}`,
        token: await o.token(tenant),
        headers: { 'content-type': 'application/yaml' },
        body: YAML.stringify(group),
        signal: o.signal,
      });
      if (res.status >= 300) throw new FailureError(`writing back rule group ${namespace}/${group.name} of tenant ${tenant} failed: HTTP ${res.status}`);
    },
  };
}

/** The tenants' Loki ruler API through the instance's gateway, with each tenant's own token. */
async function gatewayRulesApi(c: InstanceContext, ctx: StepContext, address: string) {
  const [{ ProbeClient }, { tenantTokens }] = await Promise.all([import('../verify/client.js'), import('../steps/cluster-steps.js')]);
  const client = new ProbeClient({ address, pinnedCertificateSha256: ctx.outputsOf<{ fingerprintSha256: string }>('tls').fingerprintSha256 });
  const api = await rulesApiOver(client, {
    host: (tenant) => tenantHost(tenant, c.config.dns.domain),
    token: async (tenant) => Object.values(await tenantTokens(c, tenant))[0]!,
    signal: ctx.signal,
    onWaiting: (message) => ctx.progress({ message }),
  });
  return { api, close: () => client.close() };
}

/** The tenants that exist before the upgrade (new ones have no rules yet). */
function existingTenants(c: InstanceContext): string[] {
  return [RESERVED_TENANTS[0], ...(c.record?.config ?? c.config).tenants.map((t) => t.name)];
}

export function lokiRulerStorageMigration(c: InstanceContext): MigrationSteps {
  const record: Step<{ tenants: Record<string, number> }> = {
    name: `migrate:${MIGRATION_ID}:record`,
    title: 'Record every tenant’s Loki rule groups before the move to ruler_storage',
    async run(ctx) {
      const { openClusterStack, secretStore } = await import('../steps/context.js');
      const store = await secretStore(c);
      const kept = await store.get<RuleInventory>(RECORD_KEY);
      // A record from an interrupted earlier attempt was taken before anything changed: keep it.
      let inventory = kept;
      if (!inventory) {
        const platform = await openClusterStack(c, 'platform', async () => ({}), { step: `migrate:${MIGRATION_ID}:record` });
        const address = String((await platform.outputs()).loadBalancerHostname);
        const { api, close } = await gatewayRulesApi(c, ctx, address);
        try {
          inventory = await recordRuleGroups(api, existingTenants(c));
        } finally {
          close();
        }
        await store.set(RECORD_KEY, inventory);
      }
      return { tenants: Object.fromEntries(Object.entries(inventory).map(([t, r]) => [t, Object.values(r).flat().length])) };
    },
  };
  const check: Step<{ checked: number; restored: string[] }> = {
    name: `migrate:${MIGRATION_ID}:check`,
    title: 'Check that Loki lists every recorded rule group from ruler_storage',
    async run(ctx) {
      const { secretStore } = await import('../steps/context.js');
      const store = await secretStore(c);
      const inventory = await store.get<RuleInventory>(RECORD_KEY);
      if (!inventory) {
        ctx.log('info', 'The rule groups were checked by an earlier run of this upgrade.');
        return { checked: 0, restored: [] };
      }
      const address = ctx.outputsOf<{ loadBalancerHostname: string }>('platform').loadBalancerHostname;
      const { api, close } = await gatewayRulesApi(c, ctx, address);
      try {
        const result = await restoreMissingGroups(api, inventory);
        if (result.restored.length) ctx.log('warn', `Wrote back rule groups Loki no longer listed: ${result.restored.join(', ')}`);
        await store.delete(RECORD_KEY);
        return result;
      } finally {
        close();
      }
    },
  };
  return { before: [record as Step], after: [check as Step] };
}
