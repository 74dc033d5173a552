/**
 * Tenants' credentials: each API token and Grafana's datasource token and admin password are
 * generated once, here, and kept in the instance's encrypted secret store, never in plain
 * text anywhere. A resumed or repeated run reuses them, so no token ever changes under a
 * user; a token whose name leaves the config is dropped (revoked); a removed tenant's entry
 * is deleted with it.
 *
 * Instances created before this lived with `@pulumi/random` resources in their tenant stacks:
 * `adopt` takes those values over, so upgrading changes no token and no password.
 */
import { newAdminPassword, newToken } from '@lookout/tenant';
import type { SecretStore } from '../state/secret-store.js';

export interface StoredToken {
  value: string;
  /** ISO time the token was generated (or adopted). */
  createdAt: string;
}

export interface StoredTenantCredentials {
  tokens: Record<string, StoredToken>;
  grafana: { datasourceToken: string; adminPassword: string };
  createdAt: string;
}

/** What the tenant stack program takes. */
export interface TenantCredentials {
  tokens: Record<string, string>;
  grafana: { datasourceToken: string; adminPassword: string };
  /** Token name → ISO time it was generated (expiries count from there). */
  tokensCreatedAt?: Record<string, string>;
}

/** Values an older tenant stack holds, to keep rather than regenerate. */
export interface AdoptableCredentials {
  tokens?: Record<string, string>;
  grafanaAdminPassword?: string;
}

export function credentialsKey(tenant: string): string {
  return `tenant-credentials:${tenant}`;
}

function plain(stored: StoredTenantCredentials): TenantCredentials {
  return {
    tokens: Object.fromEntries(Object.entries(stored.tokens).map(([name, t]) => [name, t.value])),
    grafana: { ...stored.grafana },
    tokensCreatedAt: Object.fromEntries(Object.entries(stored.tokens).map(([name, t]) => [name, t.createdAt])),
  };
}

/**
 * The tenant's credentials for exactly `tokenNames`: existing ones kept, missing ones
 * generated, others dropped. Writes the store only when something changed.
 */
export async function ensureTenantCredentials(
  store: SecretStore,
  tenant: string,
  tokenNames: readonly string[],
  o: { now?: () => Date; adopt?: () => Promise<AdoptableCredentials | undefined> } = {},
): Promise<TenantCredentials> {
  const now = () => (o.now ?? (() => new Date()))().toISOString();
  const existing = await store.get<StoredTenantCredentials>(credentialsKey(tenant));
  const adopted = existing ? undefined : await o.adopt?.();
  const base: StoredTenantCredentials = existing ?? {
    tokens: {},
    grafana: { datasourceToken: newToken(tenant), adminPassword: adopted?.grafanaAdminPassword ?? newAdminPassword() },
    createdAt: now(),
  };
  const tokens: Record<string, StoredToken> = {};
  for (const name of tokenNames) {
    tokens[name] = base.tokens[name] ?? { value: adopted?.tokens?.[name] ?? newToken(tenant), createdAt: now() };
  }
  const next: StoredTenantCredentials = { ...base, tokens };
  const changed = !existing || JSON.stringify(Object.keys(existing.tokens).sort()) !== JSON.stringify([...tokenNames].sort());
  if (changed) await store.set(credentialsKey(tenant), next);
  return plain(next);
}

/** The tenant's stored credentials, if it has any. */
export async function readTenantCredentials(store: SecretStore, tenant: string): Promise<TenantCredentials | undefined> {
  const stored = await store.get<StoredTenantCredentials>(credentialsKey(tenant));
  return stored ? plain(stored) : undefined;
}

/** The tenant's tokens with their creation times (values included: callers decide what to show). */
export async function readStoredTokens(store: SecretStore, tenant: string): Promise<Record<string, StoredToken> | undefined> {
  return (await store.get<StoredTenantCredentials>(credentialsKey(tenant)))?.tokens;
}

/** Forgets a removed tenant's credentials: its tokens can never be accepted again. */
export async function deleteTenantCredentials(store: SecretStore, tenant: string): Promise<void> {
  await store.delete(credentialsKey(tenant));
}
