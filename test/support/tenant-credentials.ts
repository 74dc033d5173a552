/** Deterministic stand-ins for the credentials the CLI generates, for tenant stacks under mocks. */
import { tenantTokenNames, type TenantStackArgs, type TenantStackCredentials } from '../../stacks/tenant.js';

export function fakeTenantCredentials(tenant: TenantStackArgs['tenant']): TenantStackCredentials {
  const name = tenant === 'system' ? 'system' : tenant.name;
  return {
    tokens: Object.fromEntries(tenantTokenNames(tenant).map((t) => [t, `lk_${name}_${`${t}0123456789`.repeat(8).slice(0, 48)}`])),
    grafana: { datasourceToken: `lk_${name}_${'g'.repeat(48)}`, adminPassword: 'p'.repeat(32) },
  };
}
