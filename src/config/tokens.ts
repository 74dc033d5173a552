/**
 * Token entries of a tenant, with their defaults filled in. Apart from the schema so that the
 * tenant stack can read them without loading the config schema (and, through it, the provider
 * registry): the stacks know no provider.
 */
import type { TenantConfig } from './schema.js';

export const TOKEN_SCOPES = ['write', 'read', 'admin', 'all'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export type TokenEntry = TenantConfig['tokens'][number];

/** A token entry with its defaults filled in. */
export interface TokenSpec {
  name: string;
  scope: TokenScope;
  expiresInDays?: number;
}

export function tokenSpec(entry: TokenEntry): TokenSpec {
  if (typeof entry === 'string') return { name: entry, scope: 'all' };
  return { name: entry.name, scope: (entry.scope ?? 'all') as TokenScope, ...(entry.expiresInDays !== undefined ? { expiresInDays: entry.expiresInDays } : {}) };
}

export function tokenNames(tenant: Pick<TenantConfig, 'tokens'>): string[] {
  return tenant.tokens.map((t) => tokenSpec(t).name);
}
