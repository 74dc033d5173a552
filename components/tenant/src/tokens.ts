/**
 * Tenant API tokens and Grafana's credentials: how they look, and how to make them. Pure (no
 * Pulumi): the CLI sizes the gateway's shared Secret from this before anything is created
 * (`@lookout/tenant/tokens`).
 *
 * The component does not generate them: its caller does, once, and keeps them (Lookout keeps
 * them in the instance's encrypted secret store), then passes them in as secrets. A resumed or
 * repeated run therefore never changes a token, removing a token's name from the map revokes
 * exactly that one, and the component needs no provider beyond Kubernetes. (Generating them
 * inside the program would need a resource whose only job is to remember a random value, such
 * as `@pulumi/random`'s RandomPassword: one more provider plugin to install and keep in step.)
 */
import { randomInt } from 'node:crypto';

/**
 * Characters of the random part. Alphanumerics only: a subset of the gateway's token alphabet
 * `[A-Za-z0-9_-]`, and nothing a shell, URL, YAML or nginx config would need to quote.
 */
export const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const TOKEN_RANDOM_LENGTH = 48;
export const ADMIN_PASSWORD_LENGTH = 32;

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

/** `length` characters of TOKEN_ALPHABET from the system CSPRNG, uniformly (randomInt rejects biased draws). */
export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return out;
}

/** A new API token of `tenant`: `lk_<tenant>_` and 48 random alphanumerics. */
export function newToken(tenant: string): string {
  return formatToken(tenant, randomAlphanumeric(TOKEN_RANDOM_LENGTH));
}

/** A new password for Grafana's `admin` user. */
export function newAdminPassword(): string {
  return randomAlphanumeric(ADMIN_PASSWORD_LENGTH);
}

/** Whether `token` has the shape `newToken(tenant)` gives. */
export function isTenantToken(tenant: string, token: string): boolean {
  const prefix = tokenPrefix(tenant);
  return token.startsWith(prefix) && new RegExp(`^[${TOKEN_ALPHABET}]{${TOKEN_RANDOM_LENGTH}}$`).test(token.slice(prefix.length));
}

/**
 * The tokens a tenant's gateway entry holds: its users' tokens, then the one Grafana uses
 * (users never see it, so revoking a user token never breaks Grafana).
 */
export function gatewayEntryTokens<T>(userTokens: readonly T[], grafanaToken: T): T[] {
  return [...userTokens, grafanaToken];
}
