/**
 * The Gateway component under Pulumi's mocks: every object it renders is a valid Kubernetes
 * object, the workload rules hold, and the ConfigMap carries exactly the config the pure
 * generator renders for the contract's Services.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { configChecksum } from '@lookout/kube';
import { placeholderLoadBalancerHostname, withKubernetesMocks } from '../../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';
import {
  containersWithoutResources,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
} from '../../../test/support/kubernetes.js';
import { DEFAULT_GATEWAY_LIMITS, Gateway, renderGatewayConfig, type GatewayArgs } from '../src/index.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHfake\n-----END PRIVATE KEY-----\n';

const NLB_ANNOTATIONS = {
  'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
  'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'instance',
  'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
};

function args(overrides: Partial<GatewayArgs> = {}): GatewayArgs {
  return {
    namespace: 'lookout',
    domain: 'obs.example.com',
    image: { repository: 'docker.io/nginxinc/nginx-unprivileged', tag: '1.28.0-alpine' },
    sizing: { replicas: 2, resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } } },
    tls: { certificate: pulumi.secret(CERT), privateKey: pulumi.secret(KEY) },
    service: { annotations: NLB_ANNOTATIONS, externalTrafficPolicy: 'Local' },
    ...overrides,
  };
}

interface Run {
  resources: MockedResource[];
  outputs: { hostname: string; internalUrl: string; tenantsSecretName: string; tlsSecretName: string; nginxConfig: string };
  ignoreChanges: Map<string, string[]>;
  /** Whether the TLS Secret's `data`, as the component passed it, is a Pulumi secret. */
  tlsDataIsSecret: boolean;
}

async function run(gatewayArgs: GatewayArgs = args()): Promise<Run> {
  const ignoreChanges = new Map<string, string[]>();
  let tlsData: unknown;
  const result = await runProgramUnderMocks(
    async () => {
      pulumi.runtime.registerStackTransformation(({ name, type, props, opts }) => {
        ignoreChanges.set(`${type}::${name}`, opts.ignoreChanges ?? []);
        if (type === 'kubernetes:core/v1:Secret' && props.type === 'kubernetes.io/tls') tlsData = props.data;
        return undefined;
      });
      const provider = new k8s.Provider('k8s', { kubeconfig: 'unused-under-mocks' });
      const gateway = new Gateway('gateway', gatewayArgs, { provider });
      return {
        hostname: gateway.loadBalancerHostname,
        internalUrl: gateway.internalUrl,
        tenantsSecretName: gateway.tenantsSecretName,
        tlsSecretName: gateway.tlsSecretName,
        nginxConfig: gateway.nginxConfig,
      };
    },
    { project: 'gateway-test', stack: 'test', behaviour: withKubernetesMocks() },
  );
  const tlsDataIsSecret = pulumi.Output.isInstance(tlsData) ? await pulumi.isSecret(tlsData) : false;
  return { resources: result.resources, outputs: result.outputs as unknown as Run["outputs"], ignoreChanges, tlsDataIsSecret };
}

const ofType = (r: Run, type: string) => r.resources.filter((x) => x.type === type);
function oneNamed(r: Run, type: string, name: string): MockedResource {
  const found = ofType(r, type).filter((x) => x.inputs.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0]!;
}

describe('Gateway component', () => {
  it('renders only valid Kubernetes objects that follow the workload rules', async () => {
    const r = await run();
    expect(validateKubernetesObjects(r.resources)).toEqual([]);
    expect(containersWithoutResources(r.resources)).toEqual([]);
    expect(unexpectedPrivilegedContainers(r.resources)).toEqual([]);
    expect(servingWorkloadsWithoutPdb(r.resources)).toEqual([]);
    expect(ofType(r, 'kubernetes:policy/v1:PodDisruptionBudget')).toHaveLength(1);
    // The component and its children, and nothing else.
    const gateway = r.resources.find((x) => x.type === 'lookout:k8s:Gateway');
    expect(gateway?.custom).toBe(false);
    for (const x of r.resources.filter((x) => x.custom && x.type.startsWith('kubernetes:') && x.type !== 'pulumi:providers:kubernetes')) {
      expect(x.parentType, `${x.type} ${x.name}`).toBe('lookout:k8s:Gateway');
      expect(x.provider, `${x.type} ${x.name}`).toMatch(/pulumi:providers:kubernetes::k8s::/);
      expect(x.inputs.metadata.namespace).toBe('lookout');
    }
  });

  it('puts exactly the generated nginx.conf for the contract Services in its ConfigMap, and rolls pods when it changes', async () => {
    const r = await run();
    const expected = renderGatewayConfig({
      domain: 'obs.example.com',
      public: { address: '0.0.0.0', port: 8443, tls: { certificatePath: '/etc/lookout/tls/tls.crt', keyPath: '/etc/lookout/tls/tls.key' } },
      internal: { address: '0.0.0.0', port: 8080 },
      tenantsDir: '/etc/lookout/tenants',
      upstreams: {
        distributor: 'http://cortex-distributor.lookout.svc.cluster.local:8080',
        queryFrontend: 'http://cortex-query-frontend.lookout.svc.cluster.local:8080',
        ruler: 'http://cortex-ruler.lookout.svc.cluster.local:8080',
        alertmanager: 'http://cortex-alertmanager.lookout.svc.cluster.local:8080',
        lokiWrite: 'http://loki-write.lookout.svc.cluster.local:3100',
        lokiRead: 'http://loki-read.lookout.svc.cluster.local:3100',
        lokiBackend: 'http://loki-backend.lookout.svc.cluster.local:3100',
        grafana: 'http://grafana.tenant-{tenant}.svc.cluster.local:3000',
      },
      resolver: { include: '/tmp/resolver.conf' },
      limits: DEFAULT_GATEWAY_LIMITS,
      paths: { pidFile: '/tmp/nginx.pid', tempDir: '/tmp', accessLog: '/dev/stdout', errorLog: '/dev/stderr' },
      workerProcesses: 2,
    });
    const configMap = oneNamed(r, 'kubernetes:core/v1:ConfigMap', 'gateway-config');
    expect(configMap.inputs.data['nginx.conf']).toBe(expected);
    expect(r.outputs.nginxConfig).toBe(expected);
    const deployment = oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway');
    expect(deployment.inputs.spec.template.metadata.annotations['checksum/config']).toBe(configChecksum(expected));

    const other = await run(args({ limits: { requestsPerSecond: 7 } }));
    const otherDeployment = oneNamed(other, 'kubernetes:apps/v1:Deployment', 'gateway');
    expect(oneNamed(other, 'kubernetes:core/v1:ConfigMap', 'gateway-config').inputs.data['nginx.conf']).toContain('rate=7r/s');
    expect(otherDeployment.inputs.spec.template.metadata.annotations['checksum/config']).not.toBe(configChecksum(expected));
  });

  it('runs at least 2 replicas, spread over zones, with a restricted, read-only nginx and a reload sidecar', async () => {
    for (const [asked, expected] of [[1, 2], [2, 2], [3, 3]] as const) {
      const r = await run(args({ sizing: { ...args().sizing, replicas: asked } }));
      expect(oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway').inputs.spec.replicas).toBe(expected);
    }
    const r = await run();
    const spec = oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway').inputs.spec;
    const pod = spec.template.spec;
    expect(spec.strategy.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
    expect(pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey)).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    expect(pod.shareProcessNamespace).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['nginx', 'reloader']);
    for (const c of pod.containers) {
      expect(c.image).toBe('docker.io/nginxinc/nginx-unprivileged:1.28.0-alpine');
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(c.readinessProbe, c.name).toBeDefined();
      expect(c.livenessProbe, c.name).toBeDefined();
      expect(c.resources.limits.memory, c.name).toBeDefined();
    }
    const [nginx, reloader] = pod.containers;
    expect(nginx.resources).toEqual({ requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '256Mi' } });
    expect(nginx.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'https', scheme: 'HTTPS' });
    expect(nginx.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(nginx.ports.map((p: { containerPort: number }) => p.containerPort)).toEqual([8443, 8080]);
    expect(nginx.command.join(' ')).toContain("exec nginx -c /etc/lookout/nginx/nginx.conf -g 'daemon off;'");
    expect(nginx.command.join(' ')).toContain('/etc/resolv.conf > /tmp/resolver.conf');
    expect(reloader.command.join(' ')).toContain('kill -HUP "$(cat /tmp/nginx.pid');
    expect(reloader.command.join(' ')).toContain('for dir in /etc/lookout/tenants /etc/lookout/tls');
    // Writable scratch only on emptyDirs, shared where the sidecar needs nginx's pid file.
    const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
    const mounts = (c: { volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }> }) =>
      Object.fromEntries(c.volumeMounts.map((m) => [m.mountPath, m]));
    for (const path of ['/tmp', '/var/cache/nginx']) {
      const mount = mounts(nginx)[path];
      expect(volumes[mount.name].emptyDir, path).toBeDefined();
      expect(mount.readOnly, path).toBeUndefined();
    }
    expect(mounts(reloader)['/tmp'].name).toBe(mounts(nginx)['/tmp'].name);
    for (const path of ['/etc/lookout/nginx', '/etc/lookout/tenants', '/etc/lookout/tls']) expect(mounts(nginx)[path].readOnly, path).toBe(true);
    expect(volumes[mounts(nginx)['/etc/lookout/tenants'].name].secret.secretName).toBe('gateway-tenants');
    expect(volumes[mounts(nginx)['/etc/lookout/tls'].name].secret.secretName).toBe('gateway-tls');
    expect(volumes[mounts(nginx)['/etc/lookout/nginx'].name].configMap.name).toBe('gateway-config');
  });

  it('buffers request bodies and upstream responses only on writable scratch volumes, large enough for the biggest push', async () => {
    // nginx-unprivileged runs nginx as uid 101 with a read-only root filesystem: a body over
    // client_body_buffer_size (512k for pushes) goes to client_body_temp_path, and if that is
    // not writable every large push fails with a 500.
    const r = await run();
    const pod = oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway').inputs.spec.template.spec;
    const nginx = pod.containers.find((c: { name: string }) => c.name === 'nginx');
    const volumes = new Map<string, { emptyDir?: { sizeLimit?: string } }>(pod.volumes.map((v: { name: string }) => [v.name, v]));
    const tempPaths = [...r.outputs.nginxConfig.matchAll(/^\s*(\w+_temp_path) (\S+);$/gm)].map(([, directive, path]) => [directive!, path!]);
    expect(tempPaths.map(([directive]) => directive).sort()).toEqual(
      ['client_body_temp_path', 'fastcgi_temp_path', 'proxy_temp_path', 'scgi_temp_path', 'uwsgi_temp_path'],
    );
    const bytes = (size: string) => Number.parseFloat(size) * { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, i: 1 }[size.replace(/^[\d.]+([kKmMgG]?).*$/, '$1').toLowerCase() || 'i']!;
    for (const [directive, path] of tempPaths) {
      const mount = (nginx.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>)
        .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))
        .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
      expect(mount, `${directive} ${path} is on no volume`).toBeDefined();
      expect(mount!.readOnly, directive).not.toBe(true);
      const emptyDir = volumes.get(mount!.name)?.emptyDir;
      expect(emptyDir, `${directive} ${path} is not on an emptyDir`).toBeDefined();
      // Room for a few pushes of the largest size at once.
      if (emptyDir!.sizeLimit) expect(bytes(emptyDir!.sizeLimit.replace(/i$/, ''))).toBeGreaterThanOrEqual(8 * bytes(DEFAULT_GATEWAY_LIMITS.pushBodySize));
    }
  });

  it('accepts connections on its two listeners and connects to its upstreams only', async () => {
    const r = await run();
    const policy = oneNamed(r, 'kubernetes:networking.k8s.io/v1:NetworkPolicy', 'gateway').inputs;
    const podLabels = oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway').inputs.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>)) expect(podLabels[k]).toBe(v);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: 8443 }, { protocol: 'TCP', port: 8080 }] }]);
    const egress = policy.spec.egress as Array<{ to: Array<Record<string, any>>; ports: Array<{ port: number }> }>;
    const components = (port: number) =>
      egress.filter((e) => e.ports.some((p) => p.port === port)).flatMap((e) => e.to.map((t) => `${t.podSelector.matchLabels['app.kubernetes.io/name']}/${t.podSelector.matchLabels['app.kubernetes.io/component']}`));
    expect(components(8080).sort()).toEqual(['cortex/alertmanager', 'cortex/distributor', 'cortex/query-frontend', 'cortex/ruler']);
    expect(components(3100).sort()).toEqual(['loki/backend', 'loki/read', 'loki/write']);
    expect(components(3000)).toEqual(['grafana/grafana']);
    // No address blocks: nothing outside the cluster's pods.
    expect(JSON.stringify(egress)).not.toContain('ipBlock');
    const custom = [{ to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ protocol: 'TCP', port: 9009 }] }];
    const overridden = await run(args({ upstreams: { distributor: 'http://192.0.2.10:9009' }, upstreamEgress: custom }));
    // DNS (it resolves its upstreams per request), then exactly the upstreams given.
    expect(oneNamed(overridden, 'kubernetes:networking.k8s.io/v1:NetworkPolicy', 'gateway').inputs.spec.egress.slice(1)).toEqual(custom);
    expect(egress[0]!.ports.map((p) => p.port)).toEqual([53, 53]);
    expect(() => new Gateway('bad', args({ upstreams: { distributor: 'http://192.0.2.10:9009' } }))).toThrow(/upstreamEgress is required/);
  });

  it('exposes 443 → 8443 on a LoadBalancer Service with the given annotations, and 8080 inside the cluster', async () => {
    const r = await run(args({ service: { annotations: NLB_ANNOTATIONS, externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['203.0.113.0/24'] } }));
    const lb = oneNamed(r, 'kubernetes:core/v1:Service', 'gateway');
    expect(lb.inputs.metadata.annotations).toEqual(NLB_ANNOTATIONS);
    expect(lb.inputs.spec).toMatchObject({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      loadBalancerSourceRanges: ['203.0.113.0/24'],
      ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }],
    });
    const internal = oneNamed(r, 'kubernetes:core/v1:Service', 'gateway-internal');
    expect(internal.inputs.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] });
    const podLabels = oneNamed(r, 'kubernetes:apps/v1:Deployment', 'gateway').inputs.spec.template.metadata.labels;
    for (const service of [lb, internal]) {
      for (const [k, v] of Object.entries(service.inputs.spec.selector as Record<string, string>)) expect(podLabels[k]).toBe(v);
    }
    expect(r.outputs.hostname).toBe(placeholderLoadBalancerHostname('gateway'));
    expect(r.outputs.internalUrl).toBe('http://gateway-internal.lookout.svc.cluster.local:8080');
    expect(r.outputs.tlsSecretName).toBe('gateway-tls');
    expect(r.outputs.tenantsSecretName).toBe('gateway-tenants');
  });

  it('exposes the gateway on a NodePort or ClusterIP Service for a load balancer the user runs', async () => {
    const nodePort = await run(args({ service: { type: 'NodePort', externalTrafficPolicy: 'Local', nodePort: 30443 } }));
    const public1 = oneNamed(nodePort, 'kubernetes:core/v1:Service', 'gateway');
    expect(public1.inputs.spec).toMatchObject({
      type: 'NodePort',
      externalTrafficPolicy: 'Local',
      ports: [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', nodePort: 30443 }],
    });
    expect(public1.inputs.metadata.annotations).toEqual({});
    // No cloud load balancer: no address to report.
    expect(nodePort.outputs.hostname).toBe('');
    expect(validateKubernetesObjects(nodePort.resources)).toEqual([]);

    const clusterIp = await run(args({ service: { type: 'ClusterIP' } }));
    const public2 = oneNamed(clusterIp, 'kubernetes:core/v1:Service', 'gateway');
    expect(public2.inputs.spec.type).toBe('ClusterIP');
    expect(public2.inputs.spec.externalTrafficPolicy).toBeUndefined();
    expect(public2.inputs.spec.ports[0].nodePort).toBeUndefined();
    expect(clusterIp.outputs.hostname).toBe('');
  });

  it.each([
    [{ type: 'ClusterIP' as const, externalTrafficPolicy: 'Local' as const }, /externalTrafficPolicy applies only to a LoadBalancer or NodePort Service, not ClusterIP/],
    [{ type: 'NodePort' as const, loadBalancerSourceRanges: ['10.0.0.0/8'] }, /loadBalancerSourceRanges applies only to a LoadBalancer Service/],
    [{ nodePort: 30443 }, /nodePort applies only to a NodePort Service, not LoadBalancer/],
    [{ type: 'NodePort' as const, nodePort: 443 }, /nodePort must be an integer from 30000 to 32767/],
  ])('refuses Service settings that do not fit its type (%#)', (service, message) => {
    expect(() => new Gateway('bad', args({ service }))).toThrow(message);
  });

  it('keeps the certificate in a kubernetes.io/tls Secret, as a Pulumi secret', async () => {
    const r = await run();
    const tls = oneNamed(r, 'kubernetes:core/v1:Secret', 'gateway-tls');
    expect(tls.inputs.type).toBe('kubernetes.io/tls');
    expect(Buffer.from(tls.inputs.data['tls.crt'], 'base64').toString()).toBe(CERT);
    expect(Buffer.from(tls.inputs.data['tls.key'], 'base64').toString()).toBe(KEY);
    expect(tls.inputs.stringData).toBeUndefined();
    expect(r.tlsDataIsSecret).toBe(true);
  });

  it('creates the shared tenants Secret with no tenant keys, and no ignoreChanges that would take over tenant keys', async () => {
    const r = await run();
    const tenants = oneNamed(r, 'kubernetes:core/v1:Secret', 'gateway-tenants');
    expect(Object.keys(tenants.inputs.data)).toEqual(['README']);
    expect(Object.keys(tenants.inputs.data).some((k) => /^(tokens|tenant)-.*\.conf$/.test(k))).toBe(false);
    expect(tenants.inputs.stringData).toBeUndefined();
    expect(r.ignoreChanges.get(`kubernetes:core/v1:Secret::${tenants.name}`)).toEqual([]);
  });
});

describe('Gateway: certificate renewal', () => {
  it('rolls the pods when the certificate changes, and only then', async () => {
    const podAnnotations = (r: Run) =>
      r.resources.find((x) => x.type === 'kubernetes:apps/v1:Deployment')!.inputs.spec.template.metadata.annotations as Record<string, string>;
    const first = podAnnotations(await run());
    const same = podAnnotations(await run());
    const renewedCert = CERT.replace('MIIBfake', 'MIIBrenewed');
    const renewed = podAnnotations(await run(args({ tls: { certificate: pulumi.secret(renewedCert), privateKey: pulumi.secret(KEY) } })));
    expect(first['checksum/tls']).toBe(configChecksum(CERT));
    expect(same['checksum/tls']).toBe(first['checksum/tls']);
    expect(renewed['checksum/tls']).toBe(configChecksum(renewedCert));
    expect(renewed['checksum/config']).toBe(first['checksum/config']);
  });
});
