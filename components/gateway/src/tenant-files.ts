/**
 * The per-tenant files of the shared `gateway-tenants` Secret. Each tenant stack owns exactly
 * two keys of it (through a server-side-apply SecretPatch), and the gateway includes them into
 * its `map` blocks:
 *
 * - `tokens-<tenant>.conf`: bearer token → tenant entries;
 * - `tenant-<tenant>.conf`: the entry that makes `<tenant>.<domain>` a known host.
 *
 * Tokens and tenant names are interpolated into nginx config, so both are validated against
 * strict alphabets here, before anything is written.
 */
import { directive, serializeNginx, type Node, comment } from './nginx-syntax.js';
import { TOKEN_SCOPES, type TokenScope } from './scopes.js';
import { ipv4CidrRegex, isIpv4Cidr } from './client-cidrs.js';

// For sizing a tenant's allow-list before rendering it (the CLI's budget check).
export { isIpv4Cidr };

/** Tenant names are DNS labels (they become hosts and namespace suffixes). */
export const TENANT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Characters of a bearer token: opaque, URL- and config-safe. */
export const TOKEN_ALPHABET = /^[A-Za-z0-9_-]+$/;

/**
 * Shortest token accepted. Tokens are secrets compared by nginx; a short one would be guessable
 * (the tenant component generates far longer ones).
 */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Longest token accepted: longer buys nothing, and every token must fit one bucket of the
 * gateway's map hash (see MAP_HASH_BUCKET_SIZE in nginx-config.ts).
 */
export const MAX_TOKEN_LENGTH = 200;

/**
 * Prefixes of the keys in the two tenant maps. The map sources are prefixed the same way, so a
 * key can never be one of the `map` block's keywords (`default`, `include`, `hostnames`,
 * `volatile`), whatever the tenant or token is called.
 */
export const TOKEN_KEY_PREFIX = 'token=';
export const TENANT_KEY_PREFIX = 'tenant=';

export function assertTenantName(tenant: string): void {
  if (!TENANT_NAME.test(tenant)) {
    throw new Error(`gateway: tenant name ${JSON.stringify(tenant)} is not a DNS label (lowercase letters, digits and '-', at most 63)`);
  }
}

/** Refuses a token that could change the meaning of the nginx config it is written into. */
export function assertToken(tenant: string, token: string, index: number): void {
  // The message names the position, never the token: it is a secret.
  const where = `gateway: token #${index + 1} of tenant ${tenant}`;
  if (!TOKEN_ALPHABET.test(token)) throw new Error(`${where} has characters outside [A-Za-z0-9_-]`);
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${where} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  if (token.length > MAX_TOKEN_LENGTH) throw new Error(`${where} is longer than ${MAX_TOKEN_LENGTH} characters`);
}

/** Key of the Secret (and file name in the mounted directory) holding a tenant's tokens. */
export function tokensFileName(tenant: string): string {
  assertTenantName(tenant);
  return `tokens-${tenant}.conf`;
}

/** Key of the Secret (and file name) marking a tenant as existing. */
export function tenantFileName(tenant: string): string {
  assertTenantName(tenant);
  return `tenant-${tenant}.conf`;
}

/** Key of the Secret (and file name) holding a tenant's own client allow-list, when it has one. */
export function clientsFileName(tenant: string): string {
  assertTenantName(tenant);
  return `clients-${tenant}.conf`;
}

/** Glob patterns of the kinds of files, as the nginx config includes them. */
export const TOKENS_FILE_GLOB = 'tokens-*.conf';
export const TENANT_FILE_GLOB = 'tenant-*.conf';
export const CLIENTS_FILE_GLOB = 'clients-*.conf';

/**
 * The contents of `clients-<tenant>.conf`: the tenant's own client allow-list, replacing the
 * instance's. Keys are "<tenant> <client address>"; the first entry admits the listed networks,
 * the second refuses every other address for this tenant (map regexes apply in order).
 */
export function renderTenantClientEntries(tenant: string, cidrs: readonly string[]): string {
  assertTenantName(tenant);
  if (cidrs.length === 0) throw new Error(`gateway: the client allow-list of tenant ${tenant} is empty`);
  for (const cidr of cidrs) {
    if (!isIpv4Cidr(cidr)) throw new Error(`gateway: tenant ${tenant}'s allowed client ${JSON.stringify(cidr)} is not an IPv4 CIDR (a tenant's own list is IPv4 only)`);
  }
  return serializeNginx([
    comment(`Clients tenant ${tenant} admits to its APIs: ${cidrs.join(', ')}; written by its tenant stack.`),
    directive(`~^${tenant} (?:${cidrs.map(ipv4CidrRegex).join('|')})$`, 'allow'),
    directive(`~^${tenant} `, 'deny'),
  ]);
}

/**
 * A token as the gateway sees it. A plain string is a token of scope `all` that never expires,
 * written in the entry format gateways have always read.
 */
export interface GatewayToken {
  value: string;
  /** Default `all`. */
  scope?: TokenScope;
  /** Unix time (seconds) from which the gateway refuses the token with 401. */
  expiresAt?: number;
}

/**
 * The tenant id a request of this tenant carries upstream (`X-Scope-OrgID`), when it is not the
 * tenant's name: a re-created tenant gets a new one, so the stores never show it old data.
 * Cortex and Loki accept `[A-Za-z0-9!._*'()-]`; a `.` can never be part of a tenant name, so
 * `<name>.<generation>` can never be another tenant's name.
 */
export const ORG_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[1-9][0-9]{0,8})?$/;

/** The highest generation ORG_ID admits (nine digits): the longest id a tenant can have is `<name>.999999999`. */
export const MAX_ORG_ID_GENERATION = 999_999_999;

/** Expiry times are written as exactly ten digits (the gateway compares them digit by digit with `$msec`). */
const MIN_EXPIRY = 1_000_000_000;
const MAX_EXPIRY = 9_999_999_999;

function normalizeToken(token: string | GatewayToken): Required<Pick<GatewayToken, 'value' | 'scope'>> & Pick<GatewayToken, 'expiresAt'> {
  return typeof token === 'string' ? { value: token, scope: 'all' } : { scope: 'all', ...token };
}

/**
 * The map value of one token. The old form `<tenant>:<token>` (scope `all`, no expiry, the
 * tenant's name as its id) is kept for such tokens, so a gateway config and tenant files of
 * different versions still agree; otherwise `<tenant>:<token>:<scope>:<expiry or ->:<org id>`.
 */
function tokenEntryValue(tenant: string, token: ReturnType<typeof normalizeToken>, orgId: string): string {
  if (token.scope === 'all' && token.expiresAt === undefined && orgId === tenant) return `${tenant}:${token.value}`;
  return `${tenant}:${token.value}:${token.scope}:${token.expiresAt ?? '-'}:${orgId}`;
}

/**
 * The contents of `tokens-<tenant>.conf`: one entry per token. nginx compares `map` string keys
 * case-insensitively, so each entry's value carries the token itself as well as the tenant; the
 * config then checks the exact (case-sensitive) match with a backreference, and a token with
 * its case changed is refused. The value also carries the token's scope, expiry and the
 * tenant's id (see tokenEntryValue).
 */
export function renderTokenMapEntries(tenant: string, tokens: readonly (string | GatewayToken)[], options: { orgId?: string } = {}): string {
  assertTenantName(tenant);
  const orgId = options.orgId ?? tenant;
  if (!ORG_ID.test(orgId) || !(orgId === tenant || orgId.startsWith(`${tenant}.`))) {
    throw new Error(`gateway: tenant id ${JSON.stringify(orgId)} of tenant ${tenant} is not ${tenant} or ${tenant}.<generation>`);
  }
  const seen = new Set<string>();
  const normalized = tokens.map((raw, index) => {
    const token = normalizeToken(raw);
    assertToken(tenant, token.value, index);
    if (seen.has(token.value)) throw new Error(`gateway: token #${index + 1} of tenant ${tenant} is listed twice`);
    seen.add(token.value);
    if (!(TOKEN_SCOPES as readonly string[]).includes(token.scope)) throw new Error(`gateway: token #${index + 1} of tenant ${tenant} has an unknown scope`);
    if (token.expiresAt !== undefined && !(Number.isInteger(token.expiresAt) && token.expiresAt >= MIN_EXPIRY && token.expiresAt <= MAX_EXPIRY)) {
      throw new Error(`gateway: token #${index + 1} of tenant ${tenant} has an expiry that is not a ten-digit Unix time`);
    }
    return token;
  });
  const nodes: Node[] = [
    comment(`Bearer tokens of tenant ${tenant}; written by its tenant stack, included by the gateway.`),
    ...normalized.map((token) => directive(`${TOKEN_KEY_PREFIX}${token.value}`, tokenEntryValue(tenant, token, orgId))),
  ];
  return serializeNginx(nodes);
}

/** The contents of `tenant-<tenant>.conf`: `<tenant>.<domain>` is a known host. */
export function renderTenantEntry(tenant: string): string {
  assertTenantName(tenant);
  return serializeNginx([
    comment(`Tenant ${tenant} exists; written by its tenant stack, included by the gateway.`),
    directive(`${TENANT_KEY_PREFIX}${tenant}`, tenant),
  ]);
}

/**
 * Both files of a tenant as base64 Secret `data`, for the tenant stack's SecretPatch. Use
 * `data`, not `stringData`: under server-side apply a `stringData` key is owned only as the
 * write-only `stringData` field, so deleting the patch would leave the `data` key (and the
 * tokens in it) behind.
 */
export function renderTenantSecretData(
  tenant: string,
  tokens: readonly (string | GatewayToken)[],
  options: { orgId?: string; allowedCidrs?: readonly string[] } = {},
): Record<string, string> {
  return {
    ...(options.allowedCidrs ? { [clientsFileName(tenant)]: Buffer.from(renderTenantClientEntries(tenant, options.allowedCidrs)).toString('base64') } : {}),
    [tokensFileName(tenant)]: Buffer.from(renderTokenMapEntries(tenant, tokens, options)).toString('base64'),
    [tenantFileName(tenant)]: Buffer.from(renderTenantEntry(tenant)).toString('base64'),
  };
}

/**
 * The one key the platform itself writes into the shared Secret (the gateway component owns
 * it); tenant stacks add their two keys each next to it.
 */
export const TENANTS_SECRET_README = [
  'Tenant stacks add two keys each to this Secret with a server-side-apply SecretPatch:',
  'tokens-<tenant>.conf (renderTokenMapEntries) and tenant-<tenant>.conf (renderTenantEntry).',
  'The gateway reloads nginx when they change. The platform stack owns only this key.',
  '',
].join('\n');

/**
 * Kubernetes refuses a Secret whose `data` values add up to more than 1 MiB (the bytes after
 * base64 decoding; `MaxSecretSize` in the API server's validation). All tenants share one
 * Secret, so this bounds the number of tenants and tokens an instance can have.
 */
export const TENANTS_SECRET_MAX_BYTES = 1024 * 1024;

/** One tenant's share of the shared Secret, as its tenant stack renders it (renderTenantSecretData). */
export interface TenantSecretShare {
  tenant: string;
  tokens: readonly (string | GatewayToken)[];
  orgId?: string;
  allowedCidrs?: readonly string[];
}

/**
 * The bytes the shared Secret's `data` will hold for these tenants, as the API server counts
 * them: each tenant's keys rendered exactly as its tenant stack renders them (renderTenantSecretData:
 * token map entries with their scope, expiry and tenant id, the tenant entry, the client
 * allow-list), decoded, plus the platform's README. Token strings only need their real length
 * (the content of a random token does not change its size).
 */
export function tenantsSecretBytes(tenants: ReadonlyArray<TenantSecretShare>): number {
  let bytes = Buffer.byteLength(TENANTS_SECRET_README);
  for (const { tenant, tokens, orgId, allowedCidrs } of tenants) {
    const data = renderTenantSecretData(tenant, tokens, { ...(orgId ? { orgId } : {}), ...(allowedCidrs ? { allowedCidrs } : {}) });
    for (const value of Object.values(data)) bytes += Buffer.from(value, 'base64').length;
  }
  return bytes;
}
