/**
 * Grafana's configuration for one tenant, as pure functions of typed inputs: the datasource
 * provisioning file (pinned to the tenant by its internal token), the dashboard provider file,
 * and the environment. Secrets never pass through here as values that end up in plain config:
 * the datasource file goes into a Secret, and the environment refers to Secret keys.
 */
import { GRAFANA_DATASOURCE_PATHS } from '@lookout/gateway';
import YAML from 'yaml';

/** Keys of the tenant's Grafana Secret. */
export const GRAFANA_SECRET_KEYS = {
  adminPassword: 'admin-password',
  datasources: 'datasources.yaml',
  oidcClientSecret: 'oidc-client-secret',
} as const;

/** Keys of the tenant's Grafana ConfigMap besides the dashboard files themselves. */
export const DASHBOARD_PROVIDERS_KEY = 'dashboard-providers.yaml';

/** Where things live inside the Grafana container. */
export const GRAFANA_PATHS = {
  data: '/var/lib/grafana',
  datasources: '/etc/grafana/provisioning/datasources',
  dashboardProviders: '/etc/grafana/provisioning/dashboards',
  dashboards: '/etc/grafana/dashboards',
  tmp: '/tmp',
  logs: '/var/log/grafana',
} as const;

export const GRAFANA_PORT = 3000;
/** The uid the upstream Grafana image runs as. */
export const GRAFANA_UID = 472;
export const GRAFANA_ADMIN_USER = 'admin';

/** Stable datasource uids, so dashboards can refer to them. */
export const DATASOURCE_UIDS = {
  metrics: 'lookout-metrics',
  logs: 'lookout-logs',
  alertmanager: 'lookout-alertmanager',
} as const;

export interface DatasourceSettings {
  /** Base URL of the gateway's internal listener, e.g. `http://gateway-internal.lookout.svc.cluster.local:8080`. */
  gatewayUrl: string;
  /** The tenant's internal token; the gateway derives the tenant from it. */
  token: string;
}

interface ProvisionedDatasource {
  name: string;
  uid: string;
  type: 'prometheus' | 'loki' | 'alertmanager';
  access: 'proxy';
  url: string;
  isDefault: boolean;
  editable: false;
  jsonData: Record<string, unknown>;
  secureJsonData: { httpHeaderValue1: string };
}

interface DatasourceFile {
  apiVersion: 1;
  /** Removes datasources that disappear from the file, so a rename never leaves a stale one behind. */
  prune: true;
  datasources: ProvisionedDatasource[];
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The datasources of a tenant's Grafana. Every request carries `Authorization: Bearer <token>`
 * and goes through the gateway's internal listener, which derives the tenant from the token
 * alone: this Grafana can never name another tenant, whatever a user configures in it.
 *
 * URLs follow what each Grafana datasource appends itself, including Grafana's alerting UI,
 * which manages the stores' rules through paths derived from the datasource URL (the gateway's
 * `GRAFANA_DATASOURCE_PATHS`, where the routing is explained):
 * - Prometheus at `<gateway>/prometheus`: PromQL at `/prometheus/api/v1/...`; Grafana finds no
 *   build info there, takes it for Cortex and edits rules at `/prometheus/rules/...`.
 * - Loki at `<gateway>/logs`: LogQL at `/logs/loki/api/v1/...`, rules at `/logs/api/prom/rules/...`
 *   and their state at `/logs/prometheus/api/v1/rules`; at the base URL that state would be
 *   Cortex's (`/prometheus/api/v1/rules`).
 * - Alertmanager (implementation `cortex`) at the base URL: `/alertmanager/api/v2/...` and
 *   `/api/v1/alerts`.
 *
 * `prometheusType` does not choose the ruler API (Grafana probes for it); it sets the query
 * features Grafana uses. `manageAlerts` lists the Metrics and Logs datasources as rule sources
 * in the alerting UI (Grafana's default, but `[unified_alerting] default_manage_alerts_ui_toggle`
 * may turn it off for unconfigured datasources).
 */
export function grafanaDatasources(settings: DatasourceSettings): DatasourceFile {
  const base = withoutTrailingSlash(settings.gatewayUrl);
  const auth = { httpHeaderName1: 'Authorization' };
  // A fresh object per datasource: a shared one would be written as a YAML alias.
  const secure = () => ({ httpHeaderValue1: `Bearer ${settings.token}` });
  return {
    apiVersion: 1,
    prune: true,
    datasources: [
      {
        name: 'Metrics',
        uid: DATASOURCE_UIDS.metrics,
        type: 'prometheus',
        access: 'proxy',
        url: `${base}${GRAFANA_DATASOURCE_PATHS.prometheus}`,
        isDefault: true,
        editable: false,
        jsonData: {
          ...auth,
          httpMethod: 'POST',
          prometheusType: 'Cortex',
          manageAlerts: true,
          alertmanagerUid: DATASOURCE_UIDS.alertmanager,
        },
        secureJsonData: secure(),
      },
      {
        name: 'Logs',
        uid: DATASOURCE_UIDS.logs,
        type: 'loki',
        access: 'proxy',
        url: `${base}${GRAFANA_DATASOURCE_PATHS.loki}`,
        isDefault: false,
        editable: false,
        jsonData: { ...auth, manageAlerts: true, alertmanagerUid: DATASOURCE_UIDS.alertmanager },
        secureJsonData: secure(),
      },
      {
        name: 'Alertmanager',
        uid: DATASOURCE_UIDS.alertmanager,
        type: 'alertmanager',
        access: 'proxy',
        url: base,
        isDefault: false,
        editable: false,
        // Grafana 12 knows `mimir`, `cortex` and `prometheus`; `cortex` uses the Cortex paths.
        jsonData: { ...auth, implementation: 'cortex', handleGrafanaManagedAlerts: false },
        secureJsonData: secure(),
      },
    ],
  };
}

export function renderDatasources(settings: DatasourceSettings): string {
  return YAML.stringify(grafanaDatasources(settings));
}

/** The file provider that loads the dashboards mounted from the tenant's ConfigMap. */
export function dashboardProviders(): object {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'lookout',
        orgId: 1,
        folder: 'Lookout',
        type: 'file',
        // Provisioned dashboards are owned by the bundle: users copy them to change them.
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: GRAFANA_PATHS.dashboards, foldersFromFilesStructure: false },
      },
    ],
  };
}

export function renderDashboardProviders(): string {
  return YAML.stringify(dashboardProviders());
}

/** OIDC login settings without the client secret (it comes from the Secret). */
export interface OidcSettings {
  /** Label of the login button. */
  name?: string;
  authUrl: string;
  tokenUrl: string;
  apiUrl: string;
  clientId: string;
  scopes?: string[];
  allowedDomains?: string[];
  roleAttributePath?: string;
}

export interface GrafanaEnvSettings {
  /** Public URL of this Grafana, `https://<tenant>.<domain>/`. */
  rootUrl: string;
  /** Name of the Secret holding the keys of `GRAFANA_SECRET_KEYS`. */
  secretName: string;
  oidc?: OidcSettings;
}

/** A container environment variable: a plain value, or a reference to a Secret key. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

const plain = (name: string, value: string): EnvVar => ({ name, value });
const fromSecret = (name: string, secretName: string, key: string): EnvVar => ({
  name,
  valueFrom: { secretKeyRef: { name: secretName, key } },
});

/**
 * Grafana's settings as environment variables (`GF_<SECTION>_<KEY>`). Only references to
 * Secret keys carry sensitive values; everything else is plain and visible in a preview.
 */
export function grafanaEnv(settings: GrafanaEnvSettings): EnvVar[] {
  const env: EnvVar[] = [
    plain('GF_SERVER_ROOT_URL', settings.rootUrl),
    plain('GF_SERVER_HTTP_PORT', String(GRAFANA_PORT)),
    plain('GF_PATHS_DATA', GRAFANA_PATHS.data),
    plain('GF_PATHS_LOGS', GRAFANA_PATHS.logs),
    plain('GF_PATHS_PLUGINS', `${GRAFANA_PATHS.data}/plugins`),
    plain('GF_LOG_MODE', 'console'),
    // sqlite on the volume; WAL lets readers and the writer work concurrently.
    plain('GF_DATABASE_TYPE', 'sqlite3'),
    plain('GF_DATABASE_WAL', 'true'),
    plain('GF_SECURITY_ADMIN_USER', GRAFANA_ADMIN_USER),
    fromSecret('GF_SECURITY_ADMIN_PASSWORD', settings.secretName, GRAFANA_SECRET_KEYS.adminPassword),
    // Users reach Grafana over HTTPS only (TLS ends at the gateway).
    plain('GF_SECURITY_COOKIE_SECURE', 'true'),
    plain('GF_SECURITY_DISABLE_GRAVATAR', 'true'),
    plain('GF_AUTH_ANONYMOUS_ENABLED', 'false'),
    plain('GF_USERS_ALLOW_SIGN_UP', 'false'),
    plain('GF_USERS_ALLOW_ORG_CREATE', 'false'),
    plain('GF_ANALYTICS_REPORTING_ENABLED', 'false'),
    plain('GF_ANALYTICS_CHECK_FOR_UPDATES', 'false'),
    plain('GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', 'false'),
    plain('GF_ANALYTICS_FEEDBACK_LINKS_ENABLED', 'false'),
    plain('GF_NEWS_NEWS_FEED_ENABLED', 'false'),
    // External snapshots would publish the tenant's data to a third-party service.
    plain('GF_SNAPSHOTS_EXTERNAL_ENABLED', 'false'),
    // Grafana 12 downloads "preinstalled" plugins at startup; the bundle pins what runs.
    plain('GF_PLUGINS_PREINSTALL_DISABLED', 'true'),
  ];
  const oidc = settings.oidc;
  if (oidc) {
    env.push(
      plain('GF_AUTH_GENERIC_OAUTH_ENABLED', 'true'),
      plain('GF_AUTH_GENERIC_OAUTH_NAME', oidc.name ?? 'SSO'),
      plain('GF_AUTH_GENERIC_OAUTH_CLIENT_ID', oidc.clientId),
      fromSecret('GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET', settings.secretName, GRAFANA_SECRET_KEYS.oidcClientSecret),
      plain('GF_AUTH_GENERIC_OAUTH_SCOPES', (oidc.scopes ?? ['openid', 'email', 'profile']).join(' ')),
      plain('GF_AUTH_GENERIC_OAUTH_AUTH_URL', oidc.authUrl),
      plain('GF_AUTH_GENERIC_OAUTH_TOKEN_URL', oidc.tokenUrl),
      plain('GF_AUTH_GENERIC_OAUTH_API_URL', oidc.apiUrl),
      plain('GF_AUTH_GENERIC_OAUTH_USE_PKCE', 'true'),
      // Accounts of the identity provider get a Grafana user on first login; local sign-up stays off.
      plain('GF_AUTH_GENERIC_OAUTH_ALLOW_SIGN_UP', 'true'),
    );
    if (oidc.allowedDomains && oidc.allowedDomains.length > 0) {
      env.push(plain('GF_AUTH_GENERIC_OAUTH_ALLOWED_DOMAINS', oidc.allowedDomains.join(' ')));
    }
    if (oidc.roleAttributePath) env.push(plain('GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH', oidc.roleAttributePath));
  }
  return env;
}
