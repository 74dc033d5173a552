/**
 * The system tenant's alerts for tokens about to expire. The gateway refuses an expired token
 * by itself (its expiry is in the token map); these rules warn EXPIRY_WARNING_DAYS before, so
 * a shipper is given a new token in time. The expiry is a constant in the rule (`vector(t)`),
 * so no metric has to exist for it: the rule fires from 14 days before until the token is
 * revoked or replaced (the next apply rewrites the group).
 */
import YAML from 'yaml';
import type { TenantConfig } from '../config/schema.js';
import { tokenSpec } from '../config/tokens.js';

export const TOKEN_ALERT_GROUP = 'lookout-tokens';
export const TOKEN_EXPIRY_WARNING_DAYS = 14;

export interface ExpiringToken {
  tenant: string;
  token: string;
  /** Unix seconds. */
  expiresAt: number;
}

/** Every token with an expiry, from the config and the tokens' creation times. */
export function expiringTokens(tenants: readonly Pick<TenantConfig, 'name' | 'tokens'>[], createdAt: (tenant: string) => Record<string, string> | undefined): ExpiringToken[] {
  return tenants.flatMap((t) =>
    t.tokens.flatMap((entry) => {
      const spec = tokenSpec(entry);
      const created = createdAt(t.name)?.[spec.name];
      if (spec.expiresInDays === undefined || created === undefined) return [];
      return [{ tenant: t.name, token: spec.name, expiresAt: Math.floor(Date.parse(created) / 1000) + spec.expiresInDays * 86_400 }];
    }),
  );
}

/** The rule group (one rule per token), as the ruler's API takes a group; undefined when no token expires. */
export function renderTokenAlertGroup(tokens: readonly ExpiringToken[]): string | undefined {
  if (tokens.length === 0) return undefined;
  return YAML.stringify(
    {
      name: TOKEN_ALERT_GROUP,
      rules: tokens.map((t) => ({
        alert: 'TenantTokenExpiringSoon',
        expr: `vector(${t.expiresAt}) - time() < ${TOKEN_EXPIRY_WARNING_DAYS} * 86400`,
        labels: { severity: 'warning', tenant: t.tenant, token: t.token },
        annotations: {
          summary: `A tenant token expires within ${TOKEN_EXPIRY_WARNING_DAYS} days.`,
          description:
            `Token ${t.token} of tenant ${t.tenant} expires at ${new Date(t.expiresAt * 1000).toISOString()}` +
            ' (negative value: it has expired). Create a new one with `lookout token create`, then revoke this one.',
        },
      })),
    },
    { lineWidth: 0 },
  );
}
