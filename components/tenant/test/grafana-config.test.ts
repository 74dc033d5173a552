import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { matchRoute } from '@lookout/gateway';
import {
  DATASOURCE_UIDS,
  GRAFANA_PATHS,
  GRAFANA_SECRET_KEYS,
  grafanaEnv,
  renderDashboardProviders,
  renderDatasources,
} from '../src/index.js';

const TOKEN = 'lk_acme_0123456789abcdefABCDEF0123456789abcdefABCDEF';

describe('renderDatasources', () => {
  const file = YAML.parse(renderDatasources({ gatewayUrl: 'http://gw.lookout.svc.cluster.local:8080/', token: TOKEN }));

  it('is a provisioning file that prunes datasources removed from it', () => {
    expect(file.apiVersion).toBe(1);
    expect(file.prune).toBe(true);
    expect(file.datasources.map((d: any) => d.uid).sort()).toEqual(Object.values(DATASOURCE_UIDS).sort());
    expect(file.datasources.filter((d: any) => d.isDefault).map((d: any) => d.type)).toEqual(['prometheus']);
  });

  it('joins the gateway URL without doubling slashes', () => {
    const urls = Object.fromEntries(file.datasources.map((d: any) => [d.type, d.url]));
    expect(urls).toEqual({
      prometheus: 'http://gw.lookout.svc.cluster.local:8080/prometheus',
      loki: 'http://gw.lookout.svc.cluster.local:8080/logs',
      alertmanager: 'http://gw.lookout.svc.cluster.local:8080',
    });
  });

  it('writes each datasource in full, without YAML aliases', () => {
    const text = renderDatasources({ gatewayUrl: 'http://gw:8080', token: TOKEN });
    expect(text.split(`Bearer ${TOKEN}`)).toHaveLength(4);
  });

  it('authenticates every datasource with the bearer token and lets nobody edit them', () => {
    for (const d of file.datasources) {
      expect(d).toMatchObject({ access: 'proxy', editable: false, jsonData: { httpHeaderName1: 'Authorization' } });
      expect(d.secureJsonData).toEqual({ httpHeaderValue1: `Bearer ${TOKEN}` });
      expect(JSON.stringify(d.jsonData)).not.toContain(TOKEN);
    }
  });

  it('uses a Cortex-flavoured Prometheus datasource and the cortex Alertmanager implementation', () => {
    const byType = Object.fromEntries(file.datasources.map((d: any) => [d.type, d]));
    expect(byType.prometheus.jsonData).toMatchObject({ prometheusType: 'Cortex', alertmanagerUid: DATASOURCE_UIDS.alertmanager });
    expect(byType.alertmanager.jsonData).toMatchObject({ implementation: 'cortex', handleGrafanaManagedAlerts: false });
  });

  it('lists Metrics and Logs as rule sources, at URLs under which the gateway routes the ruler APIs Grafana calls', () => {
    const byType = Object.fromEntries(file.datasources.map((d: any) => [d.type, d]));
    for (const type of ['prometheus', 'loki']) expect(byType[type].jsonData.manageAlerts, type).toBe(true);
    // Grafana's lotex ruler: `<url>/rules` for Cortex, `<url>/api/prom/rules` for Loki, and the
    // rule state of Loki at `<url>/prometheus/api/v1/rules`: each must be a gateway route.
    const pathOf = (type: string, suffix: string) => new URL(byType[type].url).pathname.replace(/\/$/, '') + suffix;
    const grafanaCalls = [
      [pathOf('prometheus', '/rules/ns/group'), 'ruler'],
      [pathOf('prometheus', '/api/v1/rules'), 'ruler'],
      [pathOf('prometheus', '/api/v1/query'), 'queryFrontend'],
      [pathOf('loki', '/api/prom/rules/ns'), 'lokiBackend'],
      [pathOf('loki', '/prometheus/api/v1/rules'), 'lokiBackend'],
      [pathOf('loki', '/loki/api/v1/query_range'), 'lokiRead'],
    ];
    const routeOf = (path: string) => {
      const m = matchRoute('GET', path);
      return 'route' in m ? m.route.upstream : m.refused;
    };
    for (const [path, upstream] of grafanaCalls) expect(routeOf(path!), path).toBe(upstream);
  });
});

describe('renderDashboardProviders', () => {
  it('loads the mounted dashboards read-only into one folder', () => {
    const file = YAML.parse(renderDashboardProviders());
    expect(file.providers).toHaveLength(1);
    expect(file.providers[0]).toMatchObject({
      type: 'file',
      disableDeletion: true,
      allowUiUpdates: false,
      options: { path: GRAFANA_PATHS.dashboards },
    });
  });
});

describe('grafanaEnv', () => {
  const oidc = {
    authUrl: 'https://id.example.com/authorize',
    tokenUrl: 'https://id.example.com/token',
    apiUrl: 'https://id.example.com/userinfo',
    clientId: 'grafana',
  };

  it('takes every sensitive value from the Secret, by reference', () => {
    const env = grafanaEnv({ rootUrl: 'https://acme.obs.example.com/', secretName: 'grafana', oidc });
    const fromSecret = env.filter((e) => e.valueFrom).map((e) => [e.name, (e.valueFrom as any).secretKeyRef]);
    expect(fromSecret).toEqual([
      ['GF_SECURITY_ADMIN_PASSWORD', { name: 'grafana', key: GRAFANA_SECRET_KEYS.adminPassword }],
      ['GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET', { name: 'grafana', key: GRAFANA_SECRET_KEYS.oidcClientSecret }],
    ]);
    for (const e of env) expect(e.value === undefined ? e.valueFrom : e.value, e.name).toBeDefined();
  });

  it('names every variable once', () => {
    const names = grafanaEnv({ rootUrl: 'https://a.b/', secretName: 's', oidc: { ...oidc, allowedDomains: ['x.com'], roleAttributePath: 'r' } }).map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('has no OIDC settings without OIDC', () => {
    const env = grafanaEnv({ rootUrl: 'https://a.b/', secretName: 's' });
    expect(env.filter((e) => e.name.startsWith('GF_AUTH_GENERIC_OAUTH'))).toEqual([]);
  });

  it('uses the default scopes, and leaves out empty domain lists and role mappings', () => {
    const env = Object.fromEntries(grafanaEnv({ rootUrl: 'https://a.b/', secretName: 's', oidc: { ...oidc, allowedDomains: [] } }).map((e) => [e.name, e.value]));
    expect(env.GF_AUTH_GENERIC_OAUTH_SCOPES).toBe('openid email profile');
    expect(env.GF_AUTH_GENERIC_OAUTH_NAME).toBe('SSO');
    expect(env).not.toHaveProperty('GF_AUTH_GENERIC_OAUTH_ALLOWED_DOMAINS');
    expect(env).not.toHaveProperty('GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH');
  });
});
