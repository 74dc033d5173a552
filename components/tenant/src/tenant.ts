/**
 * One tenant: its namespace, its Grafana pinned to the tenant's data and its admin password,
 * its API tokens, and its entry in the gateway. Everything a tenant owns lives in
 * its own stack, so adding or removing a tenant never touches another tenant or the platform.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  checksumOf,
  imageString,
  labels,
  podSecurityLabels,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  type ImageRef,
  type WorkloadSizing,
} from '@lookout/kube';
import { tenantDashboardFiles } from './dashboards.js';
import { gatewayEntry } from './gateway-entry.js';
import {
  DASHBOARD_PROVIDERS_KEY,
  GRAFANA_PATHS,
  GRAFANA_PORT,
  GRAFANA_SECRET_KEYS,
  GRAFANA_UID,
  grafanaEnv,
  renderDashboardProviders,
  renderDatasources,
  type OidcSettings,
} from './grafana-config.js';
import { grafanaNetworkPolicySpec } from './network-policy.js';
import { gatewayEntryTokens } from './tokens.js';
import type { GatewayToken, TokenScope } from '@lookout/gateway';

/** A DNS label that leaves room for the `tenant-` namespace prefix. */
const TENANT_NAME = /^[a-z]([a-z0-9-]{0,54}[a-z0-9])?$/;
const TOKEN_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** OIDC login for the tenant's Grafana (Grafana generic OAuth). */
export interface TenantOidcArgs extends OidcSettings {
  /** The client secret, read by the caller from the environment variable the config names. Kept secret. */
  clientSecret: pulumi.Input<string>;
}

export interface TenantGrafanaArgs {
  image: ImageRef;
  /** Replicas must be 1: Grafana keeps its users and dashboards in sqlite on one ReadWriteOnce volume. */
  sizing: WorkloadSizing;
  /** StorageClass of Grafana's volume; the cluster default when omitted. */
  storageClassName?: string;
  oidc?: TenantOidcArgs;
  /** Extra dashboards, file name → JSON, provisioned next to the tenant dashboards. */
  dashboards?: Record<string, string>;
}

export interface TenantGatewayArgs {
  /** Base URL of the gateway's internal listener, e.g. `http://gateway-internal.lookout.svc.cluster.local:8080`. */
  internalUrl: string;
  /** The shared Secret of tenant entries the gateway mounts (`gateway-tenants`). */
  tenantsSecretName: string;
  /**
   * Labels of the gateway's pods, for the network policy. Default: the selector labels of the
   * @lookout/gateway Deployment.
   */
  podSelector?: Record<string, string>;
  /**
   * The port the gateway's pods serve the internal listener on, for the network policy (which
   * applies after the Service's translation). Default: the port of `internalUrl`, as the
   * `gateway-internal` Service maps 8080 to container port 8080.
   */
  internalPodPort?: number;
}

export interface TenantArgs {
  /** Tenant name: a DNS label. Its host is `<name>.<domain>`, its namespace `tenant-<name>`. */
  tenant: string;
  domain: string;
  /**
   * The tenant's API tokens, name → token (secret; see `newToken()`). The caller generates each
   * once and keeps it: removing a name revokes that token, and no other token changes.
   */
  tokens: Record<string, pulumi.Input<string>>;
  /**
   * Scope and expiry per token name (see @lookout/gateway's scopes); a token not listed here
   * reaches every route and never expires. Grafana's own token is always of scope `all`.
   */
  tokenPolicies?: Record<string, TokenPolicy>;
  /**
   * The id the stores keep this tenant's data under (`X-Scope-OrgID`): the name, or
   * `<name>.<generation>` for a name that was used before, so that a re-added tenant never sees
   * its predecessor's data. Default: the name.
   */
  tenantId?: string;
  /** IPv4 CIDRs that may call this tenant's data APIs, replacing the gateway's own list. */
  allowedCidrs?: string[];
  /** Credentials of the tenant's own Grafana (secrets, generated once by the caller like the tokens). */
  grafanaCredentials: {
    /** The token Grafana's datasources use (`newToken()`); users never see it, so revoking any user token never breaks Grafana. */
    datasourceToken: pulumi.Input<string>;
    /** The password of Grafana's `admin` user (`newAdminPassword()`). */
    adminPassword: pulumi.Input<string>;
  };
  /** The platform's own tenant: same shape, may have no user tokens. */
  system?: boolean;
  grafana: TenantGrafanaArgs;
  /** Namespace of the platform components (the gateway lives there). */
  platformNamespace: string;
  gateway: TenantGatewayArgs;
}

export interface TokenPolicy {
  scope?: TokenScope;
  /** Unix time (seconds) from which the gateway refuses the token. */
  expiresAt?: number;
}

export const GRAFANA_NAME = 'grafana';
const GRAFANA_SELECTOR = selectorLabels('grafana', 'grafana');
/** The selector of the @lookout/gateway Deployment's pods. */
const DEFAULT_GATEWAY_POD_SELECTOR = selectorLabels('gateway', 'gateway');

/** The labels of the `restricted` Pod Security Standard, enforced on the tenant's namespace. */
export const POD_SECURITY_LABELS = podSecurityLabels('restricted');

export function tenantNamespaceName(tenant: string): string {
  return `tenant-${tenant}`;
}

export function tenantGrafanaUrl(tenant: string, domain: string): string {
  return `https://${tenant}.${domain}/`;
}

function internalPort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** Checks the arguments before anything is registered; throws a plain Error naming the argument. */
export function validateTenantArgs(args: TenantArgs): { gatewayUrl: URL } {
  const fail = (arg: string, why: string): never => {
    throw new Error(`Tenant ${JSON.stringify(args.tenant)}: ${arg} ${why}`);
  };
  if (!TENANT_NAME.test(args.tenant)) {
    fail('tenant', 'must be a DNS label of at most 56 characters: lowercase letters, digits and inner hyphens, starting with a letter');
  }
  if (args.tenant === 'system' && !args.system) fail('tenant', 'is reserved for the platform’s own tenant (pass system: true)');
  if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(args.domain)) fail('domain', `must be a lowercase domain name, got ${JSON.stringify(args.domain)}`);
  const names = Object.keys(args.tokens);
  for (const name of names) {
    if (!TOKEN_NAME.test(name)) fail('tokens', `has ${JSON.stringify(name)}: token names are lowercase letters, digits and inner hyphens`);
  }
  if (names.length === 0 && !args.system) fail('tokens', 'must name at least one token');
  if (args.grafana.sizing.replicas !== 1) {
    fail('grafana.sizing.replicas', `must be 1 (Grafana keeps its state in sqlite on a ReadWriteOnce volume), got ${args.grafana.sizing.replicas}`);
  }
  let gatewayUrl: URL | undefined;
  try {
    gatewayUrl = new URL(args.gateway.internalUrl);
  } catch {
    fail('gateway.internalUrl', `is not a URL: ${JSON.stringify(args.gateway.internalUrl)}`);
  }
  if (gatewayUrl!.protocol !== 'http:' && gatewayUrl!.protocol !== 'https:') fail('gateway.internalUrl', 'must be an http(s) URL');
  return { gatewayUrl: gatewayUrl! };
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export class Tenant extends pulumi.ComponentResource {
  /** `tenant-<name>`. */
  readonly namespace: pulumi.Output<string>;
  /** Token name → token, for the names in `tokens` (the internal Grafana token is not here). Secret. */
  readonly tokens: pulumi.Output<Record<string, string>>;
  /** Password of Grafana's `admin` user. Secret. */
  readonly adminPassword: pulumi.Output<string>;
  /** `https://<tenant>.<domain>/`. */
  readonly grafanaUrl: pulumi.Output<string>;

  constructor(name: string, args: TenantArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // Checked first, so bad arguments register nothing, not even the component.
    const { gatewayUrl } = validateTenantArgs(args);
    super('lookout:k8s:Tenant', name, {}, opts);
    const tenant = args.tenant;
    const child = { parent: this };
    const version = args.grafana.image.tag;
    const grafanaLabels = labels('grafana', 'grafana', version);

    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: tenantNamespaceName(tenant),
          labels: {
            ...POD_SECURITY_LABELS,
            'app.kubernetes.io/part-of': 'lookout',
            'app.kubernetes.io/managed-by': 'pulumi',
            'lookout.dev/tenant': tenant,
            ...(args.system ? { 'lookout.dev/system': 'true' } : {}),
          },
        },
      },
      child,
    );
    const namespace = ns.metadata.name;

    const userTokens = Object.entries(args.tokens).map(([tokenName, token]) => ({ tokenName, token: pulumi.secret(token) }));
    const gatewayTokens = userTokens.map(({ tokenName, token }) => {
      const policy = args.tokenPolicies?.[tokenName];
      return policy ? pulumi.output(token).apply((value): GatewayToken => ({ value, ...policy })) : token;
    });
    const internal = { token: pulumi.secret(args.grafanaCredentials.datasourceToken) };
    const adminPassword = pulumi.secret(args.grafanaCredentials.adminPassword);

    gatewayEntry(
      `${name}-gateway-entry`,
      {
        tenant,
        tokens: gatewayEntryTokens<pulumi.Input<string | GatewayToken>>(gatewayTokens, internal.token),
        ...(args.tenantId ? { orgId: args.tenantId } : {}),
        ...(args.allowedCidrs ? { allowedCidrs: args.allowedCidrs } : {}),
        namespace: args.platformNamespace,
        secretName: args.gateway.tenantsSecretName,
      },
      child,
    );

    const datasources = pulumi.secret(
      internal.token.apply((token) => renderDatasources({ gatewayUrl: gatewayUrl.toString(), token })),
    );
    const oidcClientSecret = args.grafana.oidc ? pulumi.secret(args.grafana.oidc.clientSecret) : undefined;
    const secretData: Record<string, pulumi.Input<string>> = {
      [GRAFANA_SECRET_KEYS.adminPassword]: adminPassword.apply(base64),
      [GRAFANA_SECRET_KEYS.datasources]: datasources.apply(base64),
      ...(oidcClientSecret ? { [GRAFANA_SECRET_KEYS.oidcClientSecret]: oidcClientSecret.apply(base64) } : {}),
    };
    // `data`, not `stringData`: with server-side apply a removed `stringData` key would linger.
    const secret = new k8s.core.v1.Secret(
      `${name}-grafana-secret`,
      {
        metadata: { name: GRAFANA_NAME, namespace, labels: grafanaLabels },
        type: 'Opaque',
        data: pulumi.secret(secretData),
      },
      child,
    );

    const providers = renderDashboardProviders();
    const dashboards = tenantDashboardFiles({ tenant, domain: args.domain }, args.grafana.dashboards);
    const dashboardsConfig = new k8s.core.v1.ConfigMap(
      `${name}-grafana-dashboards`,
      {
        metadata: { name: `${GRAFANA_NAME}-dashboards`, namespace, labels: grafanaLabels },
        data: { [DASHBOARD_PROVIDERS_KEY]: providers, ...dashboards },
      },
      child,
    );

    const pvcName = `${GRAFANA_NAME}-data`;
    new k8s.core.v1.PersistentVolumeClaim(
      `${name}-grafana-data`,
      {
        metadata: { name: pvcName, namespace, labels: grafanaLabels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(args.grafana.storageClassName ? { storageClassName: args.grafana.storageClassName } : {}),
          resources: { requests: { storage: args.grafana.sizing.storage ?? '2Gi' } },
        },
      },
      child,
    );

    new k8s.apps.v1.Deployment(
      `${name}-grafana`,
      {
        metadata: { name: GRAFANA_NAME, namespace, labels: grafanaLabels },
        spec: {
          replicas: 1,
          // The volume is ReadWriteOnce: the old pod must release it before the new one starts.
          strategy: { type: 'Recreate' },
          selector: { matchLabels: GRAFANA_SELECTOR },
          template: {
            metadata: {
              labels: grafanaLabels,
              // Dashboard files are left out: Grafana rescans them itself, no restart needed.
              annotations: { 'checksum/config': checksumOf(providers, datasources, oidcClientSecret ?? '') },
            },
            spec: {
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              securityContext: restrictedPodSecurityContext(GRAFANA_UID),
              containers: [
                {
                  name: 'grafana',
                  image: imageString(args.grafana.image),
                  ports: [{ name: 'http', containerPort: GRAFANA_PORT, protocol: 'TCP' }],
                  env: grafanaEnv({
                    rootUrl: tenantGrafanaUrl(tenant, args.domain),
                    secretName: GRAFANA_NAME,
                    ...(args.grafana.oidc ? { oidc: args.grafana.oidc } : {}),
                  }),
                  resources: resources(args.grafana.sizing.resources),
                  securityContext: restrictedContainerSecurityContext(true),
                  startupProbe: {
                    // The first start runs the database migrations.
                    httpGet: { path: '/api/health', port: 'http' },
                    periodSeconds: 5,
                    failureThreshold: 60,
                  },
                  readinessProbe: { httpGet: { path: '/api/health', port: 'http' }, periodSeconds: 10, timeoutSeconds: 3 },
                  livenessProbe: {
                    httpGet: { path: '/api/health', port: 'http' },
                    periodSeconds: 20,
                    timeoutSeconds: 5,
                    failureThreshold: 6,
                  },
                  volumeMounts: [
                    { name: 'data', mountPath: GRAFANA_PATHS.data },
                    { name: 'tmp', mountPath: GRAFANA_PATHS.tmp },
                    { name: 'logs', mountPath: GRAFANA_PATHS.logs },
                    { name: 'datasources', mountPath: GRAFANA_PATHS.datasources, readOnly: true },
                    { name: 'dashboard-providers', mountPath: GRAFANA_PATHS.dashboardProviders, readOnly: true },
                    { name: 'dashboards', mountPath: GRAFANA_PATHS.dashboards, readOnly: true },
                  ],
                },
              ],
              volumes: [
                // By name, not by the claim resource: the claim may wait for its first consumer.
                { name: 'data', persistentVolumeClaim: { claimName: pvcName } },
                { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
                { name: 'logs', emptyDir: { sizeLimit: '64Mi' } },
                {
                  name: 'datasources',
                  secret: {
                    secretName: secret.metadata.name,
                    items: [{ key: GRAFANA_SECRET_KEYS.datasources, path: GRAFANA_SECRET_KEYS.datasources }],
                    defaultMode: 0o440,
                  },
                },
                {
                  name: 'dashboard-providers',
                  configMap: {
                    name: dashboardsConfig.metadata.name,
                    items: [{ key: DASHBOARD_PROVIDERS_KEY, path: DASHBOARD_PROVIDERS_KEY }],
                  },
                },
                // The whole ConfigMap, so adding a dashboard needs no pod restart (Grafana's file
                // provider reads only the `.json` files and ignores the provider file).
                { name: 'dashboards', configMap: { name: dashboardsConfig.metadata.name } },
              ],
            },
          },
        },
      },
      child,
    );

    new k8s.core.v1.Service(
      `${name}-grafana-service`,
      {
        metadata: { name: GRAFANA_NAME, namespace, labels: grafanaLabels },
        spec: {
          type: 'ClusterIP',
          selector: GRAFANA_SELECTOR,
          ports: [{ name: 'http', port: GRAFANA_PORT, targetPort: 'http', protocol: 'TCP' }],
        },
      },
      child,
    );

    // Same budget as `disruptionBudget()` of @lookout/kube, whose logical name is the object's
    // name: that would collide when one program holds several tenants.
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-grafana-pdb`,
      {
        metadata: { name: GRAFANA_NAME, namespace, labels: grafanaLabels },
        spec: { maxUnavailable: 1, selector: { matchLabels: GRAFANA_SELECTOR } },
      },
      child,
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-grafana-network-policy`,
      {
        metadata: { name: GRAFANA_NAME, namespace, labels: grafanaLabels },
        spec: grafanaNetworkPolicySpec({
          grafanaSelector: GRAFANA_SELECTOR,
          grafanaPort: GRAFANA_PORT,
          gatewayNamespace: args.platformNamespace,
          gatewayPodSelector: args.gateway.podSelector ?? DEFAULT_GATEWAY_POD_SELECTOR,
          gatewayInternalPort: args.gateway.internalPodPort ?? internalPort(gatewayUrl),
        }),
      },
      child,
    );

    this.namespace = namespace;
    this.tokens = pulumi.secret(
      pulumi.all(userTokens.map((t) => t.token)).apply((values) =>
        Object.fromEntries(userTokens.map((t, i) => [t.tokenName, values[i]!])),
      ),
    );
    this.adminPassword = adminPassword;
    this.grafanaUrl = pulumi.output(tenantGrafanaUrl(tenant, args.domain));
    this.registerOutputs({
      namespace: this.namespace,
      tokens: this.tokens,
      adminPassword: this.adminPassword,
      grafanaUrl: this.grafanaUrl,
    });
  }
}
