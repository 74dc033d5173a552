/**
 * One tenant stack per tenant: its namespace, Grafana, tokens and gateway entry. Adding or
 * removing a tenant creates or destroys only its own stack.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { componentDashboards } from '@lookout/self-monitoring';
import { Tenant } from '@lookout/tenant';
import type { BundleManifest } from '../src/bundle/manifest.js';
import type { TenantConfig } from '../src/config/schema.js';
import { tokenNames, tokenSpec, type TokenScope } from '../src/config/tokens.js';
import { PLATFORM_NAMESPACE, RESERVED_TENANTS } from '../src/naming.js';
import { registerOwnerLabels } from './owner-labels.js';

export const TENANT_PROJECT = 'lookout-tenant';

/** The token the platform itself uses for the system tenant (alert rules, verification). */
export const SYSTEM_TOKEN_NAME = 'platform';

export interface TenantStackArgs {
  instance: string;
  /** A tenant from the config, or `system` for the platform's own tenant. */
  tenant: Pick<TenantConfig, 'name' | 'tokens' | 'grafana'> & Partial<Pick<TenantConfig, 'allowedCidrs'>> | 'system';
  domain: string;
  bundle: BundleManifest;
  /** Lookout's kubeconfig for the cluster (no token in it). */
  kubeconfig: string;
  /** The StorageClass of Grafana's volume: the one the provider gives the platform. */
  storageClassName: string;
  /** Labels on every object, saying which instance owns it (PlatformCloud.ownerLabels). */
  ownerLabels?: Record<string, string>;
  gateway: { internalUrl: string; tenantsSecretName: string };
  /** The OIDC client secret, read by the CLI from the environment variable the config names. */
  oidcClientSecret?: string;
  /**
   * The tenant's credentials, generated once by the CLI and kept in the instance's encrypted
   * secret store (src/tenants/credentials.ts): one token per token name, and Grafana's.
   */
  credentials: TenantStackCredentials;
  /** The id the stores keep this tenant's data under (src/tenants/tenant-ids.ts); default its name. */
  tenantId?: string;
}

export interface TenantStackCredentials {
  /** Token name → token. */
  tokens: Record<string, string>;
  grafana: { datasourceToken: string; adminPassword: string };
  /** Token name → ISO time it was generated: its expiry counts from there. */
  tokensCreatedAt?: Record<string, string>;
}

export interface TenantStackOutputs {
  tenant: string;
  namespace: pulumi.Output<string>;
  grafanaUrl: pulumi.Output<string>;
  /** Secret: token name → token. */
  tokens: pulumi.Output<Record<string, string>>;
  /** Secret. */
  grafanaAdminPassword: pulumi.Output<string>;
}

/** The names of a tenant's API tokens: the config's, or the platform's own for `system`. */
export function tenantTokenNames(tenant: TenantStackArgs['tenant']): string[] {
  return tenant === 'system' ? [SYSTEM_TOKEN_NAME] : tokenNames(tenant);
}

/**
 * Scope and expiry of the tokens that have one: the expiry is `expiresInDays` after the token
 * was generated, so re-running never moves it.
 */
export function tenantTokenPolicies(
  tenant: TenantStackArgs['tenant'],
  createdAt: Record<string, string> = {},
): Record<string, { scope: TokenScope; expiresAt?: number }> {
  if (tenant === 'system') return {};
  const policies: Record<string, { scope: TokenScope; expiresAt?: number }> = {};
  for (const entry of tenant.tokens) {
    const spec = tokenSpec(entry);
    if (spec.scope === 'all' && spec.expiresInDays === undefined) continue;
    const created = createdAt[spec.name];
    if (spec.expiresInDays !== undefined && created === undefined) throw new Error(`token ${spec.name}: no creation time to count its expiry from`);
    policies[spec.name] = {
      scope: spec.scope,
      ...(spec.expiresInDays !== undefined ? { expiresAt: Math.floor(Date.parse(created!) / 1000) + spec.expiresInDays * 86_400 } : {}),
    };
  }
  return policies;
}

export function tenantProgram(args: TenantStackArgs): () => Promise<TenantStackOutputs> {
  return async () => {
    const system = args.tenant === 'system';
    const name = system ? RESERVED_TENANTS[0] : (args.tenant as Exclude<TenantStackArgs['tenant'], 'system'>).name;
    const config = system ? undefined : (args.tenant as Exclude<TenantStackArgs['tenant'], 'system'>);
    registerOwnerLabels(args.ownerLabels);
    const provider = new k8s.Provider('k8s', {
      kubeconfig: pulumi.secret(args.kubeconfig),
      enableServerSideApply: true,
      // As in the platform stack: a ConfigMap's new data is an update, not a replacement.
      enableConfigMapMutable: true,
    });
    const oidc = config?.grafana.oidc;
    if (oidc && args.oidcClientSecret === undefined) {
      throw new Error(`tenant ${name}: OIDC is configured but no client secret was given`);
    }
    const names = tenantTokenNames(args.tenant);
    const missing = names.filter((n) => args.credentials.tokens[n] === undefined);
    if (missing.length) throw new Error(`tenant ${name}: no credentials for token ${missing.join(', ')}`);
    const tenant = new Tenant(
      name,
      {
        tenant: name,
        domain: args.domain,
        tokens: Object.fromEntries(names.map((n) => [n, pulumi.secret(args.credentials.tokens[n]!)])),
        tokenPolicies: tenantTokenPolicies(args.tenant, args.credentials.tokensCreatedAt),
        ...(args.tenantId && args.tenantId !== name ? { tenantId: args.tenantId } : {}),
        ...(config?.allowedCidrs ? { allowedCidrs: config.allowedCidrs } : {}),
        grafanaCredentials: {
          datasourceToken: pulumi.secret(args.credentials.grafana.datasourceToken),
          adminPassword: pulumi.secret(args.credentials.grafana.adminPassword),
        },
        system,
        grafana: {
          image: args.bundle.components.grafana.image,
          sizing: args.bundle.sizing.grafana,
          storageClassName: args.storageClassName,
          ...(system ? { dashboards: componentDashboards() } : {}),
          ...(oidc
            ? {
                oidc: {
                  authUrl: oidc.authUrl,
                  tokenUrl: oidc.tokenUrl,
                  apiUrl: oidc.apiUrl,
                  clientId: oidc.clientId,
                  scopes: oidc.scopes,
                  allowedDomains: oidc.allowedDomains,
                  ...(oidc.roleAttributePath ? { roleAttributePath: oidc.roleAttributePath } : {}),
                  clientSecret: pulumi.secret(args.oidcClientSecret!),
                },
              }
            : {}),
        },
        platformNamespace: PLATFORM_NAMESPACE,
        gateway: args.gateway,
      },
      { provider },
    );
    return {
      tenant: name,
      namespace: tenant.namespace,
      grafanaUrl: tenant.grafanaUrl,
      tokens: tenant.tokens,
      grafanaAdminPassword: tenant.adminPassword,
    };
  };
}
