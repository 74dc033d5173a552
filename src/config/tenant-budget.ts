/**
 * How many tenants and tokens an instance can hold. Every tenant's tokens live in one shared
 * Kubernetes Secret that the gateway mounts (`gateway-tenants`), and Kubernetes refuses a
 * Secret over 1 MiB. Past that, a tenant stack would fail after the cluster exists; here the
 * limit is a validation error instead, computed from the entries exactly as the tenant stacks
 * render them (renderTenantSecretData of @lookout/gateway: each token's entry with its scope,
 * expiry and tenant id, the tenant entry, the tenant's client allow-list; tokens of their real
 * length from @lookout/tenant).
 *
 * The config does not say which tenants were re-created (their ids live in the instance's
 * state, src/tenants/tenant-ids.ts), and a re-created tenant's every entry carries its id
 * `<name>.<generation>`. So, unless the caller knows the ids, each tenant is sized with the
 * longest id the gateway admits: the check may refuse slightly early, never too late.
 *
 * Why not split the Secret: the gateway mounts it as one volume; several Secrets would have to
 * be listed in the gateway's pod spec, so adding a tenant would change the platform stack and
 * restart the gateway, which the one-stack-per-tenant design exists to avoid. About 1,900
 * tenants (with one token each) or 6,700 tokens in one tenant is far beyond what one instance
 * is sized for (each tenant also runs its own Grafana).
 */
import { MAX_ORG_ID_GENERATION, TENANTS_SECRET_MAX_BYTES, TENANT_NAME, isIpv4Cidr, tenantsSecretBytes, type GatewayToken, type TenantSecretShare } from '@lookout/gateway/tenant-files';
import { TOKEN_RANDOM_LENGTH, formatToken, gatewayEntryTokens } from '@lookout/tenant/tokens';
import { RESERVED_TENANTS } from '../naming.js';
import { TOKEN_SCOPES, type TokenScope } from './tokens.js';

export { TENANTS_SECRET_MAX_BYTES };

/** The system tenant's gateway entry holds the platform's own token (stacks/tenant.ts, SYSTEM_TOKEN_NAME). */
const SYSTEM_USER_TOKENS = 1;

/** Any ten-digit Unix time: the gateway writes every expiry with exactly ten digits. */
const TEN_DIGIT_EXPIRY = 9_999_999_999;

/**
 * A token entry of the config as the gateway will see it, with a value of the real length (its
 * content does not change the size). Undefined when the entry is not valid: reported on its own.
 */
function gatewayTokenOf(tenant: string, entry: unknown, index: number): string | GatewayToken | undefined {
  const value = formatToken(tenant, String(index).padStart(TOKEN_RANDOM_LENGTH, '0'));
  if (typeof entry === 'string') return value;
  if (typeof entry !== 'object' || entry === null) return undefined;
  const { scope = 'all', expiresInDays } = entry as { scope?: unknown; expiresInDays?: unknown };
  if (!(TOKEN_SCOPES as readonly unknown[]).includes(scope)) return undefined;
  if (expiresInDays !== undefined && typeof expiresInDays !== 'number') return undefined;
  return { value, scope: scope as TokenScope, ...(expiresInDays !== undefined ? { expiresAt: TEN_DIGIT_EXPIRY } : {}) };
}

/** The tenant's Secret share; undefined when its name, tokens or allow-list are not valid. */
function shareOf(t: { name: unknown; tokens: unknown; allowedCidrs?: unknown }, orgId: string | undefined): TenantSecretShare | undefined {
  if (typeof t.name !== 'string' || !TENANT_NAME.test(t.name) || !Array.isArray(t.tokens)) return undefined;
  const name = t.name;
  const user = t.tokens.map((entry, i) => gatewayTokenOf(name, entry, i));
  if (user.some((token) => token === undefined)) return undefined;
  const cidrs = t.allowedCidrs;
  if (cidrs !== undefined && !(Array.isArray(cidrs) && cidrs.length > 0 && cidrs.every((c) => typeof c === 'string' && isIpv4Cidr(c)))) return undefined;
  return {
    tenant: name,
    // Grafana's own token is unscoped and never expires (gatewayEntryTokens puts it last).
    tokens: gatewayEntryTokens(user as Array<string | GatewayToken>, formatToken(name, String(user.length).padStart(TOKEN_RANDOM_LENGTH, '0'))),
    orgId: orgId ?? `${name}.${MAX_ORG_ID_GENERATION}`,
    ...(cidrs ? { allowedCidrs: cidrs as string[] } : {}),
  };
}

export interface SecretUsage {
  bytes: number;
  /** Bytes per tenant, in the order given (the system tenant not included). */
  perTenant: number[];
}

/**
 * The bytes the shared Secret will hold for these tenants (plus the system tenant). `ids` maps
 * a tenant's name to its id where known (`<name>` or `<name>.<generation>`); any other tenant
 * is sized with the longest id it could have. Undefined when a tenant is not valid: that is
 * reported on its own, and the size would mean nothing.
 */
export function tenantsSecretUsage(
  tenants: ReadonlyArray<{ name: unknown; tokens: unknown; allowedCidrs?: unknown }>,
  options: { ids?: Readonly<Record<string, string>> } = {},
): SecretUsage | undefined {
  const shares: TenantSecretShare[] = [];
  for (const t of tenants) {
    const share = shareOf(t, typeof t.name === 'string' ? options.ids?.[t.name] : undefined);
    if (!share) return undefined;
    shares.push(share);
  }
  // The system tenant is never removed, so its id is always its name.
  const systemName = RESERVED_TENANTS[0];
  const system = shareOf({ name: systemName, tokens: Array(SYSTEM_USER_TOKENS).fill(systemName) }, systemName)!;
  const perTenant = shares.map((s) => tenantsSecretBytes([s]) - tenantsSecretBytes([]));
  return { bytes: tenantsSecretBytes([system, ...shares]), perTenant };
}
