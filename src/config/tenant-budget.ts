/**
 * How many tenants and tokens an instance can hold. Every tenant's tokens live in one shared
 * Kubernetes Secret that the gateway mounts (`gateway-tenants`), and Kubernetes refuses a
 * Secret over 1 MiB. Past that, a tenant stack would fail after the cluster exists; here the
 * limit is a validation error instead, computed from the files exactly as the tenant stacks
 * render them (the renderer of @lookout/gateway, tokens of their real length from @lookout/tenant).
 *
 * Why not split the Secret: the gateway mounts it as one volume; several Secrets would have to
 * be listed in the gateway's pod spec, so adding a tenant would change the platform stack and
 * restart the gateway, which the one-stack-per-tenant design exists to avoid. About 2,200
 * tenants (with one token each) or 7,900 tokens in one tenant is far beyond what one instance
 * is sized for (each tenant also runs its own Grafana).
 */
import { TENANTS_SECRET_MAX_BYTES, TENANT_NAME, tenantsSecretBytes } from '@lookout/gateway/tenant-files';
import { TOKEN_RANDOM_LENGTH, formatToken, gatewayEntryTokens } from '@lookout/tenant/tokens';
import { RESERVED_TENANTS } from '../naming.js';

export { TENANTS_SECRET_MAX_BYTES };

/** The system tenant's gateway entry holds the platform's own token (stacks/tenant.ts, SYSTEM_TOKEN_NAME). */
const SYSTEM_USER_TOKENS = 1;

/** Distinct token strings of the real length; their content does not change their size. */
function tokensOfRealLength(tenant: string, userTokens: number): string[] {
  const token = (i: number) => formatToken(tenant, String(i).padStart(TOKEN_RANDOM_LENGTH, '0'));
  return gatewayEntryTokens(
    Array.from({ length: userTokens }, (_, i) => token(i)),
    token(userTokens),
  );
}

export interface SecretUsage {
  bytes: number;
  /** Bytes per tenant, in the order given (the system tenant not included). */
  perTenant: number[];
}

/**
 * The bytes the shared Secret will hold for these tenants (plus the system tenant). Undefined
 * when a tenant name is not valid: that is reported on its own, and the size would mean nothing.
 */
export function tenantsSecretUsage(tenants: ReadonlyArray<{ name: unknown; tokens: unknown }>): SecretUsage | undefined {
  const entries: Array<{ tenant: string; tokens: string[] }> = [];
  for (const t of tenants) {
    if (typeof t.name !== 'string' || !TENANT_NAME.test(t.name) || !Array.isArray(t.tokens)) return undefined;
    entries.push({ tenant: t.name, tokens: tokensOfRealLength(t.name, t.tokens.length) });
  }
  const system = { tenant: RESERVED_TENANTS[0], tokens: tokensOfRealLength(RESERVED_TENANTS[0], SYSTEM_USER_TOKENS) };
  const perTenant = entries.map((e) => tenantsSecretBytes([e]) - tenantsSecretBytes([]));
  return { bytes: tenantsSecretBytes([system, ...entries]), perTenant };
}
