import { renderTenantEntry, renderTokenMapEntries } from '@lookout/gateway';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  containersWithoutResources,
  kubernetesObjects,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  workloads,
} from '../../../test/support/kubernetes.js';
import type { MockedResource } from '../../../src/plan/mock-runtime.js';
import { GRAFANA_SECRET_KEYS, Tenant, validateTenantArgs, type TenantArgs } from '../src/index.js';
import {
  K8S_PROVIDER,
  adminPasswordOf,
  baseArgs,
  decode,
  internalToken as internalTokenOf,
  isSecret,
  ofType,
  oneOf,
  runTenants,
  userToken as userTokenOf,
  type TenantRun,
} from './support.js';

const GATEWAY_URL = 'http://gateway-internal.lookout.svc.cluster.local:8080';
const DEPLOYMENT = 'kubernetes:apps/v1:Deployment';
const SECRET = 'kubernetes:core/v1:Secret';
const SECRET_PATCH = 'kubernetes:core/v1:SecretPatch';
const CONFIG_MAP = 'kubernetes:core/v1:ConfigMap';

const internalToken = (_component: string, tenant: string) => internalTokenOf(tenant);
const userToken = (_component: string, tenant: string, name: string) => userTokenOf(tenant, name);

const runOne = (args: TenantArgs, name = args.tenant) => runTenants([{ name, args }]);
const byName = (resources: readonly MockedResource[], name: string) => resources.find((r) => r.name === name)!;
const podSpec = (run: TenantRun) => oneOf(run.resources, DEPLOYMENT).inputs.spec.template.spec;
const grafanaContainer = (run: TenantRun) => podSpec(run).containers[0];
const secretData = (run: TenantRun, name = 'acme-grafana-secret'): Record<string, string> =>
  Object.fromEntries(Object.entries(byName(run.resources, name).inputs.data as Record<string, string>).map(([k, v]) => [k, decode(v)]));

describe('Tenant: Kubernetes objects', () => {
  it('renders only valid objects, with resources on every container, nothing privileged, Grafana covered by a PDB', async () => {
    const run = await runOne(baseArgs('acme'));
    expect(kubernetesObjects(run.resources).length).toBeGreaterThanOrEqual(8);
    expect(workloads(run.resources).map((w) => w.name)).toEqual(['acme-grafana']);
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    expect(containersWithoutResources(run.resources)).toEqual([]);
    expect(unexpectedPrivilegedContainers(run.resources)).toEqual([]);
    expect(servingWorkloadsWithoutPdb(run.resources)).toEqual([]);
  });

  it('puts the tenant in its own namespace under the restricted Pod Security Standard', async () => {
    const run = await runOne(baseArgs('acme'));
    const ns = oneOf(run.resources, 'kubernetes:core/v1:Namespace');
    expect(ns.inputs.metadata.name).toBe('tenant-acme');
    expect(ns.inputs.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'lookout.dev/tenant': 'acme',
    });
    for (const r of kubernetesObjects(run.resources).filter((r) => r.type !== 'kubernetes:core/v1:Namespace')) {
      const expected = r.type === SECRET_PATCH ? 'lookout' : 'tenant-acme';
      expect(r.inputs.metadata.namespace, r.name).toBe(expected);
    }
    expect(run.outputs.acme!.namespace).toBe('tenant-acme');
  });

  it('runs one Grafana, recreated (not rolled) because its sqlite volume is ReadWriteOnce', async () => {
    const run = await runOne(baseArgs('acme'));
    const deployment = oneOf(run.resources, DEPLOYMENT);
    expect(deployment.inputs.spec.replicas).toBe(1);
    expect(deployment.inputs.spec.strategy).toEqual({ type: 'Recreate' });
    const pvc = oneOf(run.resources, 'kubernetes:core/v1:PersistentVolumeClaim');
    expect(pvc.inputs.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'gp3',
      resources: { requests: { storage: '2Gi' } },
    });
    const data = podSpec(run).volumes.find((v: any) => v.persistentVolumeClaim);
    expect(data.persistentVolumeClaim.claimName).toBe(pvc.inputs.metadata.name);
    const mount = grafanaContainer(run).volumeMounts.find((m: any) => m.name === data.name);
    expect(mount.mountPath).toBe('/var/lib/grafana');
    expect(grafanaContainer(run).image).toBe('docker.io/grafana/grafana:12.4.0');
  });

  it('runs Grafana restricted: uid 472, read-only root with volumes where it writes, probes on /api/health', async () => {
    const run = await runOne(baseArgs('acme'));
    const spec = podSpec(run);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 472, seccompProfile: { type: 'RuntimeDefault' } });
    expect(spec.automountServiceAccountToken).toBe(false);
    const c = grafanaContainer(run);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    });
    const writable = new Set(
      c.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.mountPath),
    );
    for (const path of ['/var/lib/grafana', '/tmp', '/var/log/grafana']) expect(writable, path).toContain(path);
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/api/health', port: 'http' });
    }
    expect(c.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    const service = oneOf(run.resources, 'kubernetes:core/v1:Service');
    expect(service.inputs.metadata.name).toBe('grafana');
    expect(service.inputs.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }]);
    const podLabels = oneOf(run.resources, DEPLOYMENT).inputs.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.inputs.spec.selector);
  });

  it('sets the public URL and closes anonymous access, sign-up, analytics and external snapshots', async () => {
    const run = await runOne(baseArgs('acme'));
    const env = Object.fromEntries(grafanaContainer(run).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      GF_SERVER_ROOT_URL: 'https://acme.obs.example.com/',
      GF_AUTH_ANONYMOUS_ENABLED: 'false',
      GF_USERS_ALLOW_SIGN_UP: 'false',
      GF_ANALYTICS_REPORTING_ENABLED: 'false',
      GF_ANALYTICS_CHECK_FOR_UPDATES: 'false',
      GF_SNAPSHOTS_EXTERNAL_ENABLED: 'false',
    });
    expect(run.outputs.acme!.grafanaUrl).toBe('https://acme.obs.example.com/');
  });

  it('provisions the datasources from the Secret and the dashboards from the ConfigMap', async () => {
    const run = await runOne(baseArgs('acme'));
    const volumes = podSpec(run).volumes;
    const mounts = grafanaContainer(run).volumeMounts;
    const mountOf = (volume: string) => mounts.find((m: any) => m.name === volume).mountPath;
    const datasources = volumes.find((v: any) => v.secret);
    expect(datasources.secret.secretName).toBe(oneOf(run.resources, SECRET).inputs.metadata.name);
    expect(mountOf(datasources.name)).toBe('/etc/grafana/provisioning/datasources');
    const configMap = oneOf(run.resources, CONFIG_MAP);
    const fromConfigMap = volumes.filter((v: any) => v.configMap);
    expect(fromConfigMap.every((v: any) => v.configMap.name === configMap.inputs.metadata.name)).toBe(true);
    // Only the provider file goes to the provisioning directory...
    const providersVolume = fromConfigMap.find((v: any) => v.configMap.items);
    expect(providersVolume.configMap.items).toEqual([{ key: 'dashboard-providers.yaml', path: 'dashboard-providers.yaml' }]);
    expect(mountOf(providersVolume.name)).toBe('/etc/grafana/provisioning/dashboards');
    // ...and the whole ConfigMap to the provider's path, so a new dashboard needs no pod change.
    const providers = YAML.parse(configMap.inputs.data['dashboard-providers.yaml']);
    const dashboardsVolume = fromConfigMap.find((v: any) => v !== providersVolume);
    expect(dashboardsVolume.configMap.items).toBeUndefined();
    expect(mountOf(dashboardsVolume.name)).toBe(providers.providers[0].options.path);
    // The shipped dashboard, set to this tenant and its endpoints' domain.
    const yourData = JSON.parse(configMap.inputs.data['your-data.json']);
    expect(yourData.title).toBe('Your data');
    const constants = Object.fromEntries(yourData.templating.list.filter((v: any) => v.type === 'constant').map((v: any) => [v.name, v.query]));
    expect(constants).toEqual({ tenant: 'acme', domain: 'obs.example.com' });
  });
});

describe('Tenant: tokens', () => {
  it('uses the tokens and Grafana credentials it is given, and generates nothing itself', async () => {
    const run = await runOne(baseArgs('acme', { tokens: ['default', 'ci', 'grafana-bot'] }));
    // Only Kubernetes: no resource whose job is to remember a random value.
    expect(run.resources.filter((r) => !r.type.startsWith('kubernetes:') && r.type !== K8S_PROVIDER && r.type !== 'lookout:k8s:Tenant')).toEqual([]);
    const tokens = run.outputs.acme!.tokens;
    expect(Object.keys(tokens).sort()).toEqual(['ci', 'default', 'grafana-bot']);
    for (const [name, token] of Object.entries(tokens)) {
      expect(token).toMatch(/^lk_acme_[A-Za-z0-9]{48}$/);
      expect(token).toBe(userToken('acme', 'acme', name));
    }
    expect(Object.values(tokens)).not.toContain(internalToken('acme', 'acme'));
  });

  it('revokes exactly one token when its name is removed, and leaves Grafana untouched', async () => {
    const before = await runOne(baseArgs('acme', { tokens: ['default', 'ci'] }));
    const after = await runOne(baseArgs('acme', { tokens: ['default'] }));
    const keys = (run: TenantRun) => new Set(run.resources.map((r) => `${r.type}::${r.name}`));
    const removed = [...keys(before)].filter((k) => !keys(after).has(k));
    const added = [...keys(after)].filter((k) => !keys(before).has(k));
    // A token is data of the gateway entry, not a resource of its own.
    expect(removed).toEqual([]);
    expect(added).toEqual([]);
    // Everything but the gateway entry keeps identical inputs: no Grafana restart, no other token changes.
    for (const r of after.resources) {
      if (r.type === SECRET_PATCH || r.type === 'lookout:k8s:Tenant') continue;
      expect(r.inputs, r.name).toEqual(byName(before.resources, r.name).inputs);
    }
    const entry = (run: TenantRun) => decode(oneOf(run.resources, SECRET_PATCH).inputs.data['tokens-acme.conf']);
    expect(entry(before)).toContain(userToken('acme', 'acme', 'ci'));
    expect(entry(after)).not.toContain(userToken('acme', 'acme', 'ci'));
    expect(entry(after)).toContain(userToken('acme', 'acme', 'default'));
    expect(entry(after)).toContain(internalToken('acme', 'acme'));
  });

  it("adds the tenant's entry to the gateway: every token and the internal one, nothing of other tenants", async () => {
    const run = await runTenants([
      { name: 'acme', args: baseArgs('acme', { tokens: ['default', 'ci'] }) },
      { name: 'beta', args: baseArgs('beta', { tokens: ['default'] }) },
    ]);
    const patches = ofType(run.resources, SECRET_PATCH);
    expect(patches.map((p) => p.name).sort()).toEqual(['acme-gateway-entry', 'beta-gateway-entry']);
    const acme = byName(run.resources, 'acme-gateway-entry');
    expect(acme.inputs.metadata).toMatchObject({
      name: 'gateway-tenants',
      namespace: 'lookout',
      annotations: { 'pulumi.com/patchFieldManager': 'lookout-tenant-acme', 'pulumi.com/patchForce': 'true' },
    });
    expect(byName(run.resources, 'beta-gateway-entry').inputs.metadata.annotations['pulumi.com/patchFieldManager']).toBe(
      'lookout-tenant-beta',
    );
    // `data` (owned per key by the field manager), never `stringData` (which would outlive the patch).
    expect(acme.inputs.stringData).toBeUndefined();
    expect(Object.keys(acme.inputs.data).sort()).toEqual(['tenant-acme.conf', 'tokens-acme.conf']);
    const acmeTokens = [userToken('acme', 'acme', 'default'), userToken('acme', 'acme', 'ci'), internalToken('acme', 'acme')];
    const tokensConf = decode(acme.inputs.data['tokens-acme.conf']);
    expect(tokensConf).toBe(renderTokenMapEntries('acme', acmeTokens));
    for (const token of acmeTokens) expect(tokensConf).toContain(token);
    for (const token of [userToken('beta', 'beta', 'default'), internalToken('beta', 'beta')]) {
      expect(tokensConf).not.toContain(token);
    }
    expect(decode(acme.inputs.data['tenant-acme.conf'])).toBe(renderTenantEntry('acme'));
  });
});

describe('Tenant: token scopes, expiry and id in the gateway entry', () => {
  it('writes each token with its scope and expiry, Grafana’s as `all`, all under the tenant id', async () => {
    const run = await runOne(
      baseArgs('acme', {
        tokens: ['default', 'ci'],
        tokenPolicies: { ci: { scope: 'write', expiresAt: 1_900_000_000 } },
        tenantId: 'acme.2',
      }),
    );
    const tokensConf = decode(byName(run.resources, 'acme-gateway-entry').inputs.data['tokens-acme.conf']);
    expect(tokensConf).toBe(
      renderTokenMapEntries(
        'acme',
        [userToken('acme', 'acme', 'default'), { value: userToken('acme', 'acme', 'ci'), scope: 'write', expiresAt: 1_900_000_000 }, internalToken('acme', 'acme')],
        { orgId: 'acme.2' },
      ),
    );
    expect(tokensConf).toContain(`acme:${userToken('acme', 'acme', 'ci')}:write:1900000000:acme.2;`);
    expect(tokensConf).toContain(`acme:${internalToken('acme', 'acme')}:all:-:acme.2;`);
  });
});

describe('Tenant: Grafana sees only its tenant', () => {
  it('uses the gateway internal URL with the internal token as bearer, for metrics, logs and alerts', async () => {
    const run = await runOne(baseArgs('acme'));
    const file = YAML.parse(secretData(run)[GRAFANA_SECRET_KEYS.datasources]);
    const byType = Object.fromEntries(file.datasources.map((d: any) => [d.type, d]));
    expect(Object.keys(byType).sort()).toEqual(['alertmanager', 'loki', 'prometheus']);
    expect(byType.prometheus.url).toBe(`${GATEWAY_URL}/prometheus`);
    // Grafana appends /loki/api/v1/... and /alertmanager/api/v2/... itself; Loki has its own
    // prefix so that Grafana reads Loki's rule state, not Cortex's (see the gateway's routes).
    expect(byType.loki.url).toBe(`${GATEWAY_URL}/logs`);
    expect(byType.alertmanager.url).toBe(GATEWAY_URL);
    expect(byType.alertmanager.jsonData.implementation).toBe('cortex');
    for (const d of file.datasources) {
      expect(d.editable, d.name).toBe(false);
      expect(d.jsonData.httpHeaderName1, d.name).toBe('Authorization');
      expect(d.secureJsonData.httpHeaderValue1, d.name).toBe(`Bearer ${internalToken('acme', 'acme')}`);
    }
  });

  it('sets no X-Scope-OrgID header anywhere', async () => {
    const run = await runOne(baseArgs('acme'));
    const everything = [
      JSON.stringify(run.resources.map((r) => r.inputs)),
      ...Object.values(secretData(run)),
      ...Object.values(oneOf(run.resources, SECRET_PATCH).inputs.data as Record<string, string>).map(decode),
    ].join('\n');
    expect(everything).toContain('Authorization');
    expect(everything.toLowerCase()).not.toContain('x-scope-orgid');
  });

  it('lets Grafana be reached only from the gateway, and reach only DNS, the gateway and HTTPS outside the cluster', async () => {
    const run = await runOne(baseArgs('acme'));
    const policy = oneOf(run.resources, 'kubernetes:networking.k8s.io/v1:NetworkPolicy').inputs;
    const podLabels = oneOf(run.resources, DEPLOYMENT).inputs.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(policy.spec.podSelector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const gatewayPeer = {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lookout' } },
      podSelector: {
        matchLabels: { 'app.kubernetes.io/name': 'gateway', 'app.kubernetes.io/component': 'gateway', 'app.kubernetes.io/part-of': 'lookout' },
      },
    };
    expect(policy.spec.ingress).toEqual([{ from: [gatewayPeer], ports: [{ protocol: 'TCP', port: 3000 }] }]);
    const egress = policy.spec.egress as Array<{ to: any[]; ports: any[] }>;
    expect(egress).toHaveLength(3);
    // DNS: the cluster DNS pods only.
    expect(egress[0]).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [
        { protocol: 'UDP', port: 53 },
        { protocol: 'TCP', port: 53 },
      ],
    });
    expect(egress[1]).toEqual({ to: [gatewayPeer], ports: [{ protocol: 'TCP', port: 8080 }] });
    expect(egress[2]!.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    expect(egress[2]!.to).toHaveLength(1);
    const block = egress[2]!.to[0].ipBlock;
    expect(block.cidr).toBe('0.0.0.0/0');
    for (const internal of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', '0.0.0.0/8']) expect(block.except).toContain(internal);
    // Every rule has ports, and the only peer in the platform namespace is the gateway's pods.
    for (const rule of egress) {
      expect(rule.ports.length).toBeGreaterThan(0);
      for (const peer of rule.to.filter((p) => p.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'lookout')) {
        expect(peer.podSelector).toEqual(gatewayPeer.podSelector);
      }
    }
  });

  it('follows the gateway pod labels and internal pod port when given', async () => {
    const args = baseArgs('acme');
    args.gateway = { ...args.gateway, podSelector: { app: 'edge' }, internalPodPort: 8081 };
    const run = await runOne(args);
    const policy = oneOf(run.resources, 'kubernetes:networking.k8s.io/v1:NetworkPolicy').inputs.spec;
    expect(policy.ingress[0].from[0].podSelector).toEqual({ matchLabels: { app: 'edge' } });
    expect(policy.egress[1]).toMatchObject({ to: [{ podSelector: { matchLabels: { app: 'edge' } } }], ports: [{ port: 8081 }] });
  });
});

describe('Tenant: secrets', () => {
  it('keeps the admin password and tokens out of every non-secret output and every non-Secret object', async () => {
    const run = await runOne(baseArgs('acme', { tokens: ['default', 'ci'] }));
    const adminPassword = run.outputs.acme!.adminPassword;
    expect(adminPassword).toBe(adminPasswordOf('acme'));
    const secrets = [adminPassword, internalToken('acme', 'acme'), ...Object.values(run.outputs.acme!.tokens)];
    expect(secrets).toHaveLength(4);
    const forms = secrets.flatMap((s) => [s, Buffer.from(s).toString('base64'), s.slice(-24)]);

    const mayHold = new Set([SECRET, SECRET_PATCH, 'lookout:k8s:Tenant']);
    const plainObjects = run.resources.filter((r) => !mayHold.has(r.type));
    expect(plainObjects.map((r) => r.type)).toContain(CONFIG_MAP);
    expect(plainObjects.map((r) => r.type)).toContain(DEPLOYMENT);
    for (const r of plainObjects) {
      const text = JSON.stringify(r.inputs);
      for (const form of forms) expect(text.includes(form), `${r.type} ${r.name}`).toBe(false);
    }
    // The password reaches Grafana from the Secret, by reference.
    const env = grafanaContainer(run).env.find((e: any) => e.name === 'GF_SECURITY_ADMIN_PASSWORD');
    expect(env).toEqual({
      name: 'GF_SECURITY_ADMIN_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'grafana', key: GRAFANA_SECRET_KEYS.adminPassword } },
    });
    expect(secretData(run)[GRAFANA_SECRET_KEYS.adminPassword]).toBe(adminPassword);

    const [tenant] = run.tenants;
    expect(await isSecret(tenant!.tokens)).toBe(true);
    expect(await isSecret(tenant!.adminPassword)).toBe(true);
    expect(await isSecret(tenant!.namespace)).toBe(false);
    expect(await isSecret(tenant!.grafanaUrl)).toBe(false);
    for (const form of forms) {
      expect(run.outputs.acme!.namespace).not.toContain(form);
      expect(run.outputs.acme!.grafanaUrl).not.toContain(form);
    }
  });

  it('configures OIDC only when asked, with the client secret only in the Secret', async () => {
    const without = await runOne(baseArgs('acme'));
    const envNames = (run: TenantRun) => grafanaContainer(run).env.map((e: any) => e.name as string);
    expect(envNames(without).filter((n: string) => n.startsWith('GF_AUTH_GENERIC_OAUTH_'))).toEqual([]);
    expect(Object.keys(secretData(without))).not.toContain(GRAFANA_SECRET_KEYS.oidcClientSecret);

    const clientSecret = 'oidc-client-secret-value-7f3a9c';
    const args = baseArgs('acme');
    args.grafana = {
      ...args.grafana,
      oidc: {
        authUrl: 'https://id.example.com/authorize',
        tokenUrl: 'https://id.example.com/token',
        apiUrl: 'https://id.example.com/userinfo',
        clientId: 'lookout-acme',
        clientSecret,
        allowedDomains: ['example.com', 'example.org'],
        roleAttributePath: "contains(groups[*], 'admins') && 'Admin' || 'Viewer'",
      },
    };
    const withOidc = await runOne(args);
    const env = Object.fromEntries(grafanaContainer(withOidc).env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      GF_AUTH_GENERIC_OAUTH_ENABLED: 'true',
      GF_AUTH_GENERIC_OAUTH_CLIENT_ID: 'lookout-acme',
      GF_AUTH_GENERIC_OAUTH_AUTH_URL: 'https://id.example.com/authorize',
      GF_AUTH_GENERIC_OAUTH_TOKEN_URL: 'https://id.example.com/token',
      GF_AUTH_GENERIC_OAUTH_API_URL: 'https://id.example.com/userinfo',
      GF_AUTH_GENERIC_OAUTH_SCOPES: 'openid email profile',
      GF_AUTH_GENERIC_OAUTH_ALLOWED_DOMAINS: 'example.com example.org',
      GF_AUTH_GENERIC_OAUTH_ROLE_ATTRIBUTE_PATH: "contains(groups[*], 'admins') && 'Admin' || 'Viewer'",
      GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET: { secretKeyRef: { name: 'grafana', key: GRAFANA_SECRET_KEYS.oidcClientSecret } },
    });
    expect(secretData(withOidc)[GRAFANA_SECRET_KEYS.oidcClientSecret]).toBe(clientSecret);
    for (const r of withOidc.resources.filter((r) => r.type !== SECRET)) {
      const text = JSON.stringify(r.inputs);
      expect(text.includes(clientSecret) || text.includes(Buffer.from(clientSecret).toString('base64')), r.name).toBe(false);
    }
  });

  it('rolls Grafana when its datasources change, not when a dashboard is added', async () => {
    const checksum = (run: TenantRun) =>
      oneOf(run.resources, DEPLOYMENT).inputs.spec.template.metadata.annotations['checksum/config'] as string;
    const base = await runOne(baseArgs('acme'));
    expect(checksum(base)).toMatch(/^[0-9a-f]{16}$/);
    const moved = baseArgs('acme');
    moved.gateway = { ...moved.gateway, internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:9090' };
    expect(checksum(await runOne(moved))).not.toBe(checksum(base));
    const more = baseArgs('acme');
    more.grafana = { ...more.grafana, dashboards: { 'extra.json': '{"title":"Extra","panels":[]}' } };
    const withMore = await runOne(more);
    expect(oneOf(withMore.resources, CONFIG_MAP).inputs.data['extra.json']).toBeDefined();
    expect(oneOf(withMore.resources, DEPLOYMENT).inputs.spec.template).toEqual(oneOf(base.resources, DEPLOYMENT).inputs.spec.template);
  });
});

describe('Tenant: the system tenant', () => {
  it('has the same shape, may have no user tokens, and gets the dashboards it is given', async () => {
    const component = '{"uid":"cortex","title":"Cortex","panels":[]}';
    const args = baseArgs('system', { system: true, tokens: [] });
    args.grafana = { ...args.grafana, dashboards: { 'cortex.json': component } };
    const run = await runOne(args);
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    expect(oneOf(run.resources, 'kubernetes:core/v1:Namespace').inputs.metadata.labels['lookout.dev/system']).toBe('true');
    expect(run.outputs.system!.tokens).toEqual({});
    const configMap = oneOf(run.resources, CONFIG_MAP);
    expect(configMap.inputs.data['cortex.json']).toBe(component);
    expect(configMap.inputs.data['your-data.json']).toBeDefined();
    expect(Object.keys(configMap.inputs.data).sort()).toEqual(['cortex.json', 'dashboard-providers.yaml', 'your-data.json']);
    expect(decode(oneOf(run.resources, SECRET_PATCH).inputs.data['tokens-system.conf'])).toContain(internalToken('system', 'system'));
  });
});

describe('Tenant: resource budget', () => {
  it('stays within 15 resources, the stack provider included; tokens add none', async () => {
    const one = await runOne(baseArgs('acme'));
    expect(one.resources.length).toBeLessThanOrEqual(15);
    const three = await runOne(baseArgs('acme', { tokens: ['default', 'ci', 'ops'] }));
    expect(three.resources.length).toBe(one.resources.length);
    expect(ofType(one.resources, K8S_PROVIDER)).toHaveLength(1);
    // Every Kubernetes object goes through the stack's provider, never a default one.
    for (const r of kubernetesObjects(one.resources).concat(ofType(one.resources, SECRET_PATCH))) {
      expect(r.provider, r.name).toMatch(/pulumi:providers:kubernetes::k8s::/);
    }
  });
});

describe('Tenant: argument checks', () => {
  const check = (overrides: Parameters<typeof baseArgs>[1]) => () => validateTenantArgs(baseArgs('acme', overrides));

  it('accepts the defaults', () => {
    expect(validateTenantArgs(baseArgs('acme')).gatewayUrl.port).toBe('8080');
  });

  it.each([
    ['a tenant name that is not a DNS label', { tenant: 'Acme_1' }, /tenant must be a DNS label/],
    ['the reserved name without system', { tenant: 'system' }, /reserved/],
    ['an invalid token name', { tokens: ['ci_bot'] }, /tokens has "ci_bot"/],
    ['no tokens for a user tenant', { tokens: [] }, /tokens must name at least one token/],
    ['a domain with uppercase', { domain: 'Obs.Example.com' }, /domain must be a lowercase domain/],
  ] as Array<[string, Parameters<typeof baseArgs>[1], RegExp]>)('rejects %s', (_what, overrides, message) => {
    expect(check(overrides)).toThrow(message);
  });

  it('throws from the component itself on bad arguments', () => {
    expect(() => new Tenant('bad', baseArgs('Bad_Name'))).toThrow(/Tenant "Bad_Name": tenant must be a DNS label/);
  });

  it('rejects more than one Grafana replica and a gateway URL that is not http(s)', () => {
    const args = baseArgs('acme');
    args.grafana = { ...args.grafana, sizing: { ...args.grafana.sizing, replicas: 2 } };
    expect(() => validateTenantArgs(args)).toThrow(/grafana\.sizing\.replicas must be 1/);
    const url = baseArgs('acme');
    url.gateway = { ...url.gateway, internalUrl: 'gateway-internal:8080' };
    expect(() => validateTenantArgs(url)).toThrow(/gateway\.internalUrl/);
  });
});
