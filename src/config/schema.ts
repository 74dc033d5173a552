/**
 * The `lookout.yaml` schema. It is the single source of truth for validation, for the
 * TypeScript type the rest of the CLI consumes, and for `lookout config schema`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { availableBundles } from '../bundle/manifest.js';
import { isValidName, isValidTsigKeyName, normalizeName } from '../dns/names.js';
import { RESERVED_TENANTS } from '../naming.js';
import { PROVIDER_IDS, type ProviderId } from '../providers/registry.js';
import { MAX_INSTANCE_NAME_LENGTH, MAX_TENANT_NAME_LENGTH, configBlockShape } from './provider-blocks.js';
import { TENANTS_SECRET_MAX_BYTES, tenantsSecretUsage } from './tenant-budget.js';
import { TOKEN_SCOPES } from './tokens.js';

export const DEFAULT_BUNDLE_VERSION = '2026.12.0';
export const LETSENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETSENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/** OAuth scopes and allowed domains go into the tenant Grafana's config, one line each. */
const MAX_OIDC_LIST = 100;

/** Lowercase letters, digits and inner hyphens: valid as a DNS label, a namespace and a bucket prefix. */
const LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;

/** An instance name of at most `maxLength` characters (the limit depends on the provider). */
export function instanceNameOfAtMost(maxLength: number) {
  return z
    .string()
    .min(3)
    .max(maxLength)
    .regex(LABEL, {
      message: 'must start with a lowercase letter and hold only lowercase letters, digits and inner hyphens (no `_` or `.`)',
    });
}

export const instanceNameSchema = instanceNameOfAtMost(MAX_INSTANCE_NAME_LENGTH).meta({
  description:
    `Instance name. It becomes part of bucket, IAM role and cluster names, so it is limited to ` +
    `${MAX_INSTANCE_NAME_LENGTH} characters of [a-z0-9-].`,
});

const tenantNameSchema = z
  .string()
  .min(1)
  .max(MAX_TENANT_NAME_LENGTH)
  .regex(LABEL, {
    message: 'must be a DNS label: lowercase letters, digits and inner hyphens, starting with a letter',
  });

const retentionSchema = z
  .strictObject({
    metricsDays: z.number().int().min(1).max(3650).default(30).meta({ description: 'Metrics retention in days.' }),
    logsDays: z.number().int().min(1).max(3650).default(14).meta({ description: 'Logs retention in days.' }),
  })
  .prefault({})
  .meta({ description: 'How long data is kept.' });

const limitsSchema = z
  .strictObject({
    samplesPerSecond: z
      .number()
      .int()
      .min(1)
      .default(50_000)
      .meta({ description: 'Remote-write ingestion rate limit, samples per second.' }),
    burstSamples: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Ingestion burst size in samples. Default: twice samplesPerSecond.' }),
    activeSeries: z
      .number()
      .int()
      .min(1)
      .default(500_000)
      .meta({ description: 'Maximum number of active (in-memory) series.' }),
    logsMBPerSecond: z
      .number()
      .positive()
      .max(1024)
      .default(4)
      .meta({ description: 'Log ingestion rate limit in MB per second.' }),
  })
  .prefault({})
  .meta({ description: 'Ingestion limits, enforced per tenant by the metrics and log stores.' });

const oidcSchema = z
  .strictObject({
    authUrl: z.url({ protocol: /^https$/ }).meta({ description: 'OAuth2 authorization endpoint.' }),
    tokenUrl: z.url({ protocol: /^https$/ }).meta({ description: 'OAuth2 token endpoint.' }),
    apiUrl: z.url({ protocol: /^https$/ }).meta({ description: 'OIDC userinfo endpoint.' }),
    clientId: z.string().min(1).meta({ description: 'OAuth2 client id.' }),
    clientSecretEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, { message: 'must be the name of an environment variable' })
      .meta({ description: 'Name of the environment variable that holds the client secret (never the secret itself).' }),
    scopes: z
      .array(z.string().min(1).max(200))
      .max(MAX_OIDC_LIST)
      .default(['openid', 'email', 'profile'])
      .meta({ description: 'OAuth2 scopes to request.' }),
    allowedDomains: z
      .array(z.string().min(1).max(253))
      .max(MAX_OIDC_LIST)
      .default([])
      .meta({ description: 'Email domains allowed to log in; empty allows any account the provider accepts.' }),
    roleAttributePath: z
      .string()
      .optional()
      .meta({ description: 'JMESPath that maps claims to a Grafana role, as in Grafana generic OAuth.' }),
  })
  .meta({ description: 'Optional OIDC login for the tenant Grafana (Grafana generic OAuth).' });

const tokenNameSchema = z
  .string()
  .regex(LABEL, { message: 'must be lowercase letters, digits and inner hyphens' })
  .max(40);

/** Longest token lifetime: the gateway compares ten-digit Unix times, and a decade is plenty. */
export const MAX_TOKEN_DAYS = 3650;

// A refine rather than an enum: inside the union below, an enum's failure would hide behind
// zod's generic "Invalid input", and this names the field and the choices.
const tokenScopeSchema = z
  .string()
  .refine((v) => (TOKEN_SCOPES as readonly string[]).includes(v), { message: `must be one of ${TOKEN_SCOPES.join(', ')}` });

const tokenSpecSchema = z.strictObject({
  name: tokenNameSchema,
  scope: tokenScopeSchema.optional().meta({ enum: [...TOKEN_SCOPES], description: 'write: push APIs; read: query APIs and Grafana datasources; admin: rules and Alertmanager config; all (default): everything.' }),
  expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional().meta({ description: 'Days after its creation when the gateway stops accepting the token (401).' }),
});

/** A token entry: a name (scope `all`, no expiry, as before scopes existed) or a name with a scope and expiry. */
const tokenEntrySchema = z.union([tokenNameSchema, tokenSpecSchema], {
  error: 'must be a token name, or an object { name, scope?, expiresInDays? }',
});

/** Most CIDRs an allow-list may hold: each is a line of the gateway's config, checked per request. */
export const MAX_ALLOWED_CIDRS = 100;

const isCidr = (v: string, ipv6: boolean) => z.cidrv4().safeParse(v).success || (ipv6 && z.cidrv6().safeParse(v).success);

const clientCidrsSchema = (ipv6: boolean) =>
  z
    .array(
      z.string().refine((v) => isCidr(v, ipv6), {
        message: ipv6 ? 'must be an IPv4 or IPv6 CIDR such as 203.0.113.0/24' : 'must be an IPv4 CIDR such as 203.0.113.0/24 (a tenant’s own list is IPv4 only)',
      }),
    )
    .min(1, { message: 'must list at least one CIDR; leave it out to admit every client' })
    .max(MAX_ALLOWED_CIDRS);

const gatewaySchema = z
  .strictObject({
    allowedCidrs: clientCidrsSchema(true)
      .optional()
      .meta({ description: 'Client CIDRs that may call the tenants’ data APIs (push, query, rules); absent: any client. Grafana stays reachable.' }),
  })
  .prefault({});

const tenantSchema = z
  .strictObject({
    name: tenantNameSchema.meta({ description: 'Tenant name: its host is <name>.<domain> and its namespace tenant-<name>.' }),
    retention: retentionSchema,
    limits: limitsSchema,
    tokens: z
      .array(tokenEntrySchema)
      .min(1)
      .default(['default'])
      .meta({ description: 'Named API tokens of the tenant, each a name or { name, scope, expiresInDays }. Removing a name revokes that token.' }),
    grafana: z.strictObject({ oidc: oidcSchema.optional() }).prefault({}).meta({ description: 'Settings of the tenant’s Grafana.' }),
    allowedCidrs: clientCidrsSchema(false)
      .optional()
      .meta({ description: 'IPv4 client CIDRs that may call this tenant’s data APIs, instead of gateway.allowedCidrs.' }),
  })
  // `when` keeps these cross-field checks running even when another field of the object has a
  // type error, so one run reports every problem; the checks therefore guard their own types.
  .superRefine((tenant, ctx) => {
    if (typeof tenant?.name === 'string' && (RESERVED_TENANTS as readonly string[]).includes(tenant.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `"${tenant.name}" is reserved for the platform's own tenant; configure it under \`system\` instead`,
      });
    }
    const seen = new Set<string>();
    (Array.isArray(tenant?.tokens) ? tenant.tokens : []).forEach((t: unknown, i) => {
      const name = typeof t === 'string' ? t : (t as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return;
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['tokens', i], message: `duplicate token name "${name}"` });
      seen.add(name);
    });
  }, { when: () => true });

const dnsSchema = z.strictObject({
  domain: z
    .string()
    .max(200)
    .regex(/^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
      message: 'must be a lowercase domain name such as obs.example.com',
    })
    .meta({ description: 'Domain the instance owns. Tenants are served at <tenant>.<domain>.' }),
  parentZone: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        'Parent zone to add the NS delegation to: a Route53 hosted zone id (AWS) or a Cloud DNS managed zone name (GCP). ' +
        'When omitted, Lookout looks for it in the account, and otherwise prints the NS records to add.',
    }),
  delegationTimeoutMinutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60)
    .default(30)
    .meta({ description: 'How long `create` waits for the NS delegation to become visible.' }),
});

const tlsSchema = z
  .strictObject({
    acmeDirectory: z
      .url({ protocol: /^https$/ })
      .default(LETSENCRYPT_PRODUCTION)
      .meta({ description: `ACME directory URL. Let's Encrypt staging: ${LETSENCRYPT_STAGING}` }),
    email: z.email().optional().meta({ description: 'ACME account contact email.' }),
    externalAccountBinding: z
      .strictObject({
        keyId: z.string().min(1).meta({ description: 'EAB key identifier from the CA.' }),
        hmacKeyEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, { message: 'must be the name of an environment variable' })
          .meta({ description: 'Environment variable holding the base64url EAB HMAC key.' }),
      })
      .optional()
      .meta({ description: 'External Account Binding, for CAs that require it.' }),
    caBundleFile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'PEM file of the CA that signs a private ACME directory’s own HTTPS certificate.' }),
    rfc2136: z
      .strictObject({
        server: z
          .string()
          .min(1)
          .max(253)
          .refine((v) => isIP(v) !== 0 || isValidName(v), { message: 'must be a host name or an IP address (no spaces or line breaks)' })
          .meta({ description: 'Primary DNS server that accepts dynamic updates (host or IP).' }),
        port: z.number().int().min(1).max(65535).default(53),
        zone: z
          .string()
          .min(1)
          .refine(isValidName, { message: 'must be a DNS name such as obs.example.com' })
          .meta({ description: 'Zone the `_acme-challenge` records belong to: `dns.domain`, a zone above it, or `_acme-challenge.<domain>`.' }),
        keyName: z
          .string()
          .min(1)
          .refine(isValidTsigKeyName, { message: 'must be a TSIG key name: letters, digits, dots, hyphens and underscores' })
          .meta({ description: 'TSIG key name (HMAC-SHA256).' }),
        keySecretEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, { message: 'must be the name of an environment variable' })
          .meta({ description: 'Environment variable holding the TSIG secret (base64), never the secret itself.' }),
      })
      .optional()
      .meta({
        description:
          'Write the ACME DNS-01 records with RFC 2136 dynamic updates to a DNS server you run (for example when ' +
          '`_acme-challenge.<domain>` is delegated to it), instead of to the instance’s own zone. Needs `nsupdate`.',
      }),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    name: instanceNameSchema.optional(),
    provider: z.enum(PROVIDER_IDS).optional().meta({ description: 'Cloud provider. Must match the command line when given.' }),
    bundle: z
      .string()
      .regex(/^\d{4}\.\d{1,2}\.\d+$/, { message: 'must be a bundle version such as 2026.11.0' })
      .refine((v) => !/^\d{4}\.\d{1,2}\.\d+$/.test(v) || availableBundles().includes(v), {
        error: () => `must be a bundle this lookout ships (${availableBundles().join(', ')}); a newer one needs a newer lookout`,
      })
      .default(DEFAULT_BUNDLE_VERSION)
      .meta({ description: 'Version of the observability bundle to install.' }),
    // Each provider's block, under its id (`aws:`), from the registry.
    ...configBlockShape(),
    dns: dnsSchema.meta({ description: 'The instance’s DNS zone.' }),
    tls: tlsSchema.meta({ description: 'The instance’s certificate, issued by ACME (DNS-01).' }),
    system: z
      .strictObject({ retention: retentionSchema, limits: limitsSchema })
      .prefault({})
      .meta({ description: 'Settings of the built-in `system` tenant that holds the platform’s own telemetry.' }),
    gateway: gatewaySchema.meta({ description: 'The gateway in front of every tenant.' }),
    tenants: z.array(tenantSchema).default([]).meta({ description: 'The tenants, each with its own host, Grafana, limits and tokens.' }),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Map<string, number>();
    const domain = typeof cfg?.dns?.domain === 'string' ? cfg.dns.domain : undefined;
    (Array.isArray(cfg?.tenants) ? cfg.tenants : []).forEach((t, i) => {
      if (typeof t?.name !== 'string') return;
      const first = seen.get(t.name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'name'], message: `duplicate tenant "${t.name}" (also tenants[${first}])` });
      } else seen.set(t.name, i);
      const host = `${t.name}.${domain}`;
      if (domain !== undefined && host.length > 253) {
        ctx.addIssue({ code: 'custom', path: ['tenants', i, 'name'], message: `host ${host} is longer than 253 characters` });
      }
    });
    checkTenantsSecretBudget(Array.isArray(cfg?.tenants) ? cfg.tenants : [], ctx);
    const rfc2136 = cfg?.tls?.rfc2136;
    if (domain !== undefined && typeof rfc2136?.zone === 'string' && isValidName(rfc2136.zone)) {
      // The solver writes _acme-challenge.<domain>; it must be inside the zone it updates.
      const challenge = `_acme-challenge.${domain}`;
      const zone = normalizeName(rfc2136.zone);
      if (challenge !== zone && !challenge.endsWith(`.${zone}`)) {
        ctx.addIssue({
          code: 'custom',
          path: ['tls', 'rfc2136', 'zone'],
          message: `must contain ${challenge}, where the challenge records go: ${domain}, a zone above it, or ${challenge} itself`,
        });
      }
    }
  }, { when: () => true });

/** The tenants and tokens must fit the gateway's shared Secret (see tenant-budget.ts). */
function checkTenantsSecretBudget(tenants: ReadonlyArray<{ name: unknown; tokens: unknown; allowedCidrs?: unknown }>, ctx: z.core.$RefinementCtx): void {
  const usage = tenantsSecretUsage(tenants);
  if (!usage || usage.bytes <= TENANTS_SECRET_MAX_BYTES) return;
  const n = (v: number) => v.toLocaleString('en-US');
  const largest = usage.perTenant.reduce((best, bytes, i) => (bytes > (usage.perTenant[best] ?? 0) ? i : best), 0);
  const dominant = (usage.perTenant[largest] ?? 0) * 2 > usage.bytes;
  const tokens = tenants[largest]?.tokens as unknown[] | undefined;
  const each = dominant
    ? `each token takes about ${n(Math.round(usage.perTenant[largest]! / ((tokens?.length ?? 0) + 1)))} bytes`
    : `a tenant takes about ${n(Math.round(usage.perTenant.reduce((a, b) => a + b, 0) / usage.perTenant.length))} bytes on average`;
  ctx.addIssue({
    code: 'custom',
    path: dominant ? ['tenants', largest, 'tokens'] : ['tenants'],
    message:
      `${dominant ? `these ${n(tokens?.length ?? 0)} tokens` : `these ${n(tenants.length)} tenants and their tokens`} need ` +
      `${n(usage.bytes)} bytes in the gateway's shared Kubernetes Secret, which can hold ${n(TENANTS_SECRET_MAX_BYTES)} (1 MiB); ` +
      `${each}: remove tokens or tenants, or spread them over more instances`,
  });
}

export type LookoutConfig = z.output<typeof configSchema>;
export type LookoutConfigInput = z.input<typeof configSchema>;
export type TenantConfig = LookoutConfig['tenants'][number];
export type Provider = ProviderId;

