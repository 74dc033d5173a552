/**
 * Immutable tenant ids. The stores key a tenant's data by the id the gateway sends as
 * `X-Scope-OrgID`, and retention deletes it only weeks later, so a name removed and added again
 * must not get its old id back: it would see its predecessor's data. Each name therefore has a
 * generation, recorded in the instance's state (its encrypted store) when the tenant is created:
 * generation 1 is the bare name (what every tenant had before ids existed, so their data stays
 * theirs), and each re-creation after a removal takes the next one, `<name>.<generation>`
 * (a `.` is never part of a name, so an id is never another tenant's name).
 *
 * Limitation: a name removed before this registry existed left no record, so its first
 * re-creation gets generation 1 again; `tenant remove --delete-data` is the answer there.
 */
import type { SecretStore } from '../state/secret-store.js';

export const TENANT_IDS_KEY = 'tenant-ids';

export interface TenantIdRecord {
  generation: number;
  id: string;
  createdAt: string;
  /** Set when the tenant was removed: the next creation takes a new generation. */
  removedAt?: string;
}

export type TenantIds = Record<string, TenantIdRecord>;

export function tenantIdOf(name: string, generation: number): string {
  return generation === 1 ? name : `${name}.${generation}`;
}

/** The registry with every name in `names` holding a live id; new and re-created names get the next generation. */
export function allocateTenantIds(registry: TenantIds, names: readonly string[], now: Date): TenantIds {
  const next: TenantIds = { ...registry };
  for (const name of names) {
    const current = next[name];
    if (current && current.removedAt === undefined) continue;
    const generation = (current?.generation ?? 0) + 1;
    next[name] = { generation, id: tenantIdOf(name, generation), createdAt: now.toISOString() };
  }
  return next;
}

/** The registry with `name` marked removed (its generation is kept, never reused). */
export function retireTenantId(registry: TenantIds, name: string, now: Date): TenantIds {
  const current = registry[name];
  if (!current || current.removedAt !== undefined) return registry;
  return { ...registry, [name]: { ...current, removedAt: now.toISOString() } };
}

/** Allocates ids for `names` in the store (written only when something changed); name → id. */
export async function ensureTenantIds(store: SecretStore, names: readonly string[], now = new Date()): Promise<Record<string, string>> {
  // One read-change-write: tenant steps running at the same time each ensure their own id.
  const registry = await store.update<TenantIds>(TENANT_IDS_KEY, (current) => {
    const before = current ?? {};
    const next = allocateTenantIds(before, names, now);
    return JSON.stringify(next) !== JSON.stringify(before) ? next : undefined;
  });
  return Object.fromEntries(names.map((n) => [n, registry![n]!.id]));
}

export async function retireTenantIdIn(store: SecretStore, name: string, now = new Date()): Promise<void> {
  await store.update<TenantIds>(TENANT_IDS_KEY, (current) => {
    if (!current) return undefined;
    const next = retireTenantId(current, name, now);
    return next !== current ? next : undefined;
  });
}
