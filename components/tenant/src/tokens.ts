/**
 * Tenant API tokens: how they look, and the random material behind them. Each token is one
 * `RandomPassword`, generated once and kept (encrypted) in the stack state, so a resumed or
 * repeated run never changes a token, and removing a token's name deletes exactly that one
 * resource: the token is revoked and no other token changes.
 */
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

/**
 * Characters of the random part. Alphanumerics only: a subset of the gateway's token alphabet
 * `[A-Za-z0-9_-]`, and nothing a shell, URL, YAML or nginx config would need to quote.
 */
export const TOKEN_RANDOM_LENGTH = 48;

/** log2(62) bits per alphanumeric character; 48 characters give about 285 bits (≥ 256 required). */
export const TOKEN_ENTROPY_BITS = Math.floor(TOKEN_RANDOM_LENGTH * Math.log2(62));

/**
 * A fixed, recognizable prefix lets secret scanners (and people) spot a leaked Lookout token
 * and tell which tenant it belongs to without a lookup.
 */
export function tokenPrefix(tenant: string): string {
  return `lk_${tenant}_`;
}

export function formatToken(tenant: string, randomPart: string): string {
  return `${tokenPrefix(tenant)}${randomPart}`;
}

/** The Pulumi resource name of a user token; one per name, so removing a name revokes exactly it. */
export function userTokenResourceName(component: string, tokenName: string): string {
  return `${component}-token-${tokenName}`;
}

/**
 * The Pulumi resource name of the random material of the tenant's own Grafana: its datasource
 * token and its admin password. Token names are DNS labels (no `_`), so this name can never
 * collide with a user token's.
 */
export function grafanaCredentialsResourceName(component: string): string {
  return `${component}-token_grafana`;
}

/** A random part for a token or password: alphanumerics only, generated once. */
export function randomSecret(name: string, length: number, opts: pulumi.CustomResourceOptions): random.RandomPassword {
  return new random.RandomPassword(
    name,
    { length, special: false, upper: true, lower: true, numeric: true, minUpper: 0, minLower: 0, minNumeric: 0 },
    opts,
  );
}

/** One token: its random material (a resource) and the token string, a secret. */
export function tenantToken(
  tenant: string,
  resourceName: string,
  opts: pulumi.CustomResourceOptions,
): { resource: random.RandomPassword; token: pulumi.Output<string> } {
  const resource = randomSecret(resourceName, TOKEN_RANDOM_LENGTH, opts);
  return { resource, token: pulumi.secret(resource.result.apply((r) => formatToken(tenant, r))) };
}
