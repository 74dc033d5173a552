/**
 * The multi-tenant gateway: nginx Deployment (2+ replicas, spread over zones) with a reload
 * sidecar, behind one public Service (a LoadBalancer unless told otherwise; TLS, port 443) and
 * one ClusterIP Service (plain HTTP, port 8080, for in-cluster clients), its generated
 * nginx.conf, the TLS Secret and the shared `gateway-tenants` Secret the tenant stacks patch.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  CLUSTER_DNS,
  configChecksum,
  disruptionBudget,
  dnsEgress,
  imageString,
  labels,
  networkPolicy,
  podsPeer,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  serviceHost,
  tcpPorts,
  zoneSpread,
  type EgressRule,
  type ImageRef,
  type NetworkPeer,
  type ResourceSpec,
  type WorkloadSizing,
} from '@lookout/kube';
import { gatewayStartScript, gracefulStopScript, heartbeatProbeScript, reloadLoopScript } from './container-scripts.js';
import { DEFAULT_GATEWAY_LIMITS, renderGatewayConfig, type GatewayConfigOptions, type GatewayLimits } from './nginx-config.js';
import { HEALTH_PATH, TENANT_PLACEHOLDER, type GatewayUpstreams } from './routes.js';
import { TENANTS_SECRET_README } from './tenant-files.js';

/** Physical names other components and stacks rely on (see the issue's Services table). */
export const GATEWAY_NAMES = {
  deployment: 'gateway',
  publicService: 'gateway',
  internalService: 'gateway-internal',
  configMap: 'gateway-config',
  tlsSecret: 'gateway-tls',
  tenantsSecret: 'gateway-tenants',
} as const;

export const GATEWAY_PORTS = {
  /** Container port of the TLS listener; the public Service maps 443 to it. */
  https: 8443,
  /** Container and Service port of the internal listener. */
  http: 8080,
  publicService: 443,
} as const;

/** Where things are inside the nginx container. */
export const GATEWAY_CONTAINER_PATHS = {
  configDir: '/etc/lookout/nginx',
  configFile: '/etc/lookout/nginx/nginx.conf',
  tenantsDir: '/etc/lookout/tenants',
  tlsDir: '/etc/lookout/tls',
  /** emptyDir shared by both containers: pid file, resolver include, temp files, heartbeat. */
  runDir: '/tmp',
  pidFile: '/tmp/nginx.pid',
  resolverInclude: '/tmp/resolver.conf',
  tempDir: '/tmp',
  heartbeat: '/tmp/reloader-heartbeat',
  /** The image's default temp path; mounted writable although the config moves every temp path. */
  cacheDir: '/var/cache/nginx',
} as const;

/** The image runs nginx as this user (nginxinc/nginx-unprivileged). */
export const NGINX_UID = 101;

export const RELOADER_RESOURCES: ResourceSpec = {
  requests: { cpu: '10m', memory: '16Mi' },
  limits: { memory: '32Mi' },
};

const RELOAD_INTERVAL_SECONDS = 5;

/**
 * How clients reach the gateway: the public Service's type and the settings the cloud (or the
 * user's own load balancer) needs. Whoever composes the gateway decides; it knows no cloud.
 */
export interface GatewayServiceOptions {
  /**
   * `LoadBalancer` (the default) asks the cluster for a cloud load balancer; `NodePort` and
   * `ClusterIP` leave it to a load balancer the user runs in front of the nodes or the pods.
   */
  type?: 'LoadBalancer' | 'NodePort' | 'ClusterIP';
  /** Annotations of the public Service, e.g. the cloud load balancer controller's settings. */
  annotations?: Record<string, pulumi.Input<string>>;
  /**
   * `Local` keeps client source IPs (and the rate-limit and access-log addresses honest).
   * Only for `LoadBalancer` and `NodePort`, which route external traffic.
   */
  externalTrafficPolicy?: 'Cluster' | 'Local';
  /** Only for `LoadBalancer`. */
  loadBalancerClass?: string;
  /** Client CIDRs the cloud load balancer admits; only for `LoadBalancer`. */
  loadBalancerSourceRanges?: string[];
  /** The fixed node port of a `NodePort` Service (30000–32767); the cluster picks one when absent. */
  nodePort?: number;
}

/** The public Service's settings, checked before anything is registered. */
function checkServiceOptions(service: GatewayServiceOptions): void {
  const type = service.type ?? 'LoadBalancer';
  const onlyFor = (field: keyof GatewayServiceOptions, types: string[]) => {
    if (service[field] !== undefined && !types.includes(type)) {
      throw new Error(`Gateway: service.${field} applies only to a ${types.join(' or ')} Service, not ${type}`);
    }
  };
  onlyFor('externalTrafficPolicy', ['LoadBalancer', 'NodePort']);
  onlyFor('loadBalancerClass', ['LoadBalancer']);
  onlyFor('loadBalancerSourceRanges', ['LoadBalancer']);
  onlyFor('nodePort', ['NodePort']);
  if (service.nodePort !== undefined && !(Number.isInteger(service.nodePort) && service.nodePort >= 30000 && service.nodePort <= 32767)) {
    throw new Error(`Gateway: service.nodePort must be an integer from 30000 to 32767, got ${service.nodePort}`);
  }
}

export interface GatewayArgs {
  /** The platform namespace; the default upstreams are the Services in it. */
  namespace: string;
  /** Tenant hosts are `<tenant>.<domain>`. */
  domain: string;
  image: ImageRef;
  /** Replicas (at least 2 are always run) and the nginx container's resources. */
  sizing: WorkloadSizing;
  /** The instance's (wildcard) certificate chain and key, PEM; pass them as Pulumi secrets. */
  tls: { certificate: pulumi.Input<string>; privateKey: pulumi.Input<string> };
  service?: GatewayServiceOptions;
  /** Overrides of the default upstreams (the Services of the issue's contract). */
  upstreams?: Partial<GatewayUpstreams>;
  limits?: Partial<GatewayLimits>;
  /**
   * Client CIDRs that may call the data APIs (a tenant's own list replaces it, see
   * client-cidrs.ts); absent: every client. The Service must keep the client address
   * (`service.externalTrafficPolicy: 'Local'`).
   */
  allowedClientCidrs?: string[];
  /** nginx workers per pod; default 2 (nginx 1.28 does not read the CPU limit). */
  workerProcesses?: number;
  /**
   * Where the gateway's pods may connect besides DNS (egress rules): its upstreams. Default:
   * the pods behind the default upstreams (`defaultUpstreamEgress`); give it with `upstreams`.
   */
  upstreamEgress?: EgressRule[];
  /** The cluster DNS pods (default: `k8s-app: kube-dns` in `kube-system`), which resolve its upstreams. */
  dns?: NetworkPeer;
}

/**
 * The pods behind the default upstreams: the Cortex and Loki workloads the routes go to (by the
 * @lookout/metrics-store and @lookout/log-store labels) and the tenants' Grafanas, in every
 * namespace labelled `lookout.dev/tenant` (@lookout/tenant). The ports are the container ports:
 * NetworkPolicies apply after a Service's address translation.
 */
export function defaultUpstreamEgress(): EgressRule[] {
  const pods = (app: string, components: string[]) => components.map((c) => podsPeer(selectorLabels(app, c)));
  return [
    { to: pods('cortex', ['distributor', 'query-frontend', 'ruler', 'alertmanager']), ports: tcpPorts(8080) },
    { to: pods('loki', ['write', 'read', 'backend']), ports: tcpPorts(3100) },
    {
      to: [{ namespaceSelector: { matchExpressions: [{ key: 'lookout.dev/tenant', operator: 'Exists' }] }, podSelector: { matchLabels: selectorLabels('grafana', 'grafana') } }],
      ports: tcpPorts(3000),
    },
  ];
}

/** The Services of the platform contract, in `namespace`. */
export function defaultUpstreams(namespace: string): GatewayUpstreams {
  const url = (service: string, port: number) => `http://${serviceHost(service, namespace)}:${port}`;
  return {
    distributor: url('cortex-distributor', 8080),
    queryFrontend: url('cortex-query-frontend', 8080),
    ruler: url('cortex-ruler', 8080),
    alertmanager: url('cortex-alertmanager', 8080),
    lokiWrite: url('loki-write', 3100),
    lokiRead: url('loki-read', 3100),
    lokiBackend: url('loki-backend', 3100),
    grafana: `http://${serviceHost('grafana', `tenant-${TENANT_PLACEHOLDER}`)}:3000`,
  };
}

/** The nginx config options the component renders, exported so tests can render the same. */
export function gatewayConfigOptions(
  args: Pick<GatewayArgs, 'namespace' | 'domain' | 'upstreams' | 'limits' | 'workerProcesses' | 'allowedClientCidrs'>,
): GatewayConfigOptions {
  const p = GATEWAY_CONTAINER_PATHS;
  return {
    domain: args.domain,
    public: { address: '0.0.0.0', port: GATEWAY_PORTS.https, tls: { certificatePath: `${p.tlsDir}/tls.crt`, keyPath: `${p.tlsDir}/tls.key` } },
    internal: { address: '0.0.0.0', port: GATEWAY_PORTS.http },
    tenantsDir: p.tenantsDir,
    upstreams: { ...defaultUpstreams(args.namespace), ...args.upstreams },
    resolver: { include: p.resolverInclude },
    limits: { ...DEFAULT_GATEWAY_LIMITS, ...args.limits },
    paths: { pidFile: p.pidFile, tempDir: p.tempDir, accessLog: '/dev/stdout', errorLog: '/dev/stderr' },
    workerProcesses: args.workerProcesses ?? 2,
    ...(args.allowedClientCidrs ? { allowedClientCidrs: args.allowedClientCidrs } : {}),
  };
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

export class Gateway extends pulumi.ComponentResource {
  /**
   * Hostname of the cloud load balancer (or its IP, where the cloud gives one); empty unless
   * the public Service is a `LoadBalancer`.
   */
  readonly loadBalancerHostname: pulumi.Output<string>;
  /** In-cluster URL of the internal listener. */
  readonly internalUrl: string;
  readonly tenantsSecretName: string;
  readonly tlsSecretName: string;
  /** The rendered nginx.conf. */
  readonly nginxConfig: string;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly publicService: k8s.core.v1.Service;
  readonly internalService: k8s.core.v1.Service;
  readonly tenantsSecret: k8s.core.v1.Secret;

  constructor(name: string, args: GatewayArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered.
    const service = args.service ?? {};
    checkServiceOptions(service);
    if (args.upstreams && !args.upstreamEgress) throw new Error('Gateway: upstreamEgress is required with upstreams (the gateway may reach only what its egress policy allows)');
    super('lookout:k8s:Gateway', name, {}, opts);
    const parent = { parent: this };
    const namespace = args.namespace;
    const selector = selectorLabels('gateway', 'gateway');
    const podLabels = labels('gateway', 'gateway', args.image.tag);
    const p = GATEWAY_CONTAINER_PATHS;

    this.nginxConfig = renderGatewayConfig(gatewayConfigOptions(args));

    const config = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      { metadata: { name: GATEWAY_NAMES.configMap, namespace, labels: podLabels }, data: { 'nginx.conf': this.nginxConfig } },
      parent,
    );

    const tls = new k8s.core.v1.Secret(
      `${name}-tls`,
      {
        metadata: { name: GATEWAY_NAMES.tlsSecret, namespace, labels: podLabels },
        type: 'kubernetes.io/tls',
        data: pulumi.secret(
          pulumi.all([args.tls.certificate, args.tls.privateKey]).apply(([certificate, key]) => ({
            'tls.crt': base64(certificate),
            'tls.key': base64(key),
          })),
        ),
      },
      parent,
    );

    // The tenants' Secret is shared: each tenant stack adds its own two keys through a
    // SecretPatch (server-side apply, one field manager per patch). @pulumi/kubernetes v4
    // updates this Secret with server-side apply too, sending only the fields below; the API
    // server then keeps every `data` key owned by another manager, so platform updates never
    // remove tenants' keys. `ignoreChanges: ['data']` must NOT be added: with SSA the provider
    // then copies the live `data` (all tenants' keys) into its apply request and becomes
    // co-owner of those keys, and a removed tenant's tokens would outlive its patch.
    // The one key here is `data` (not `stringData`, which SSA tracks as a write-only field).
    this.tenantsSecret = new k8s.core.v1.Secret(
      `${name}-tenants`,
      {
        metadata: { name: GATEWAY_NAMES.tenantsSecret, namespace, labels: podLabels },
        type: 'Opaque',
        data: { README: base64(TENANTS_SECRET_README) },
      },
      parent,
    );

    const readOnly = { readOnly: true };
    const nginx: k8s.types.input.core.v1.Container = {
      name: 'nginx',
      image: imageString(args.image),
      command: [
        '/bin/sh',
        '-c',
        gatewayStartScript({ resolvConf: '/etc/resolv.conf', output: p.resolverInclude, configFile: p.configFile }),
      ],
      ports: [
        { name: 'https', containerPort: GATEWAY_PORTS.https, protocol: 'TCP' },
        { name: 'http', containerPort: GATEWAY_PORTS.http, protocol: 'TCP' },
      ],
      resources: resources(args.sizing.resources),
      securityContext: restrictedContainerSecurityContext(),
      // Readiness goes through the TLS listener the load balancer uses, liveness through the
      // plain one: both listeners are checked.
      readinessProbe: { httpGet: { path: HEALTH_PATH, port: 'https', scheme: 'HTTPS' }, periodSeconds: 5, failureThreshold: 2 },
      livenessProbe: { httpGet: { path: HEALTH_PATH, port: 'http' }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3 },
      // The load balancer needs a few seconds to stop sending new connections to a terminating
      // pod; then nginx finishes the requests in flight (within terminationGracePeriodSeconds).
      lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', gracefulStopScript(p.pidFile, 10)] } } },
      volumeMounts: [
        { name: 'config', mountPath: p.configDir, ...readOnly },
        { name: 'tenants', mountPath: p.tenantsDir, ...readOnly },
        { name: 'tls', mountPath: p.tlsDir, ...readOnly },
        { name: 'run', mountPath: p.runDir },
        { name: 'cache', mountPath: p.cacheDir },
      ],
    };
    const heartbeatProbe = { exec: { command: ['/bin/sh', '-c', heartbeatProbeScript(p.heartbeat, 6 * RELOAD_INTERVAL_SECONDS)] }, periodSeconds: 30 };
    const reloader: k8s.types.input.core.v1.Container = {
      name: 'reloader',
      image: imageString(args.image),
      command: [
        '/bin/sh',
        '-c',
        reloadLoopScript({ watchDirs: [p.tenantsDir, p.tlsDir], pidFile: p.pidFile, heartbeatFile: p.heartbeat, intervalSeconds: RELOAD_INTERVAL_SECONDS }),
      ],
      resources: resources(RELOADER_RESOURCES),
      securityContext: restrictedContainerSecurityContext(),
      readinessProbe: { ...heartbeatProbe, initialDelaySeconds: 5 },
      livenessProbe: { ...heartbeatProbe, initialDelaySeconds: 30 },
      volumeMounts: [
        { name: 'tenants', mountPath: p.tenantsDir, ...readOnly },
        { name: 'tls', mountPath: p.tlsDir, ...readOnly },
        { name: 'run', mountPath: p.runDir },
      ],
    };

    this.deployment = new k8s.apps.v1.Deployment(
      `${name}`,
      {
        metadata: { name: GATEWAY_NAMES.deployment, namespace, labels: podLabels },
        spec: {
          replicas: Math.max(2, args.sizing.replicas),
          selector: { matchLabels: selector },
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template: {
            metadata: {
              labels: podLabels,
              annotations: {
                'checksum/config': configChecksum(this.nginxConfig),
                // nginx reads the certificate at start: a renewed certificate rolls the pods.
                // The certificate is public, so its checksum is too (it is not a secret).
                'checksum/tls': pulumi.unsecret(pulumi.output(args.tls.certificate).apply((cert) => configChecksum(cert))),
              },
            },
            spec: {
              // The reloader signals nginx in the other container.
              shareProcessNamespace: true,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              terminationGracePeriodSeconds: 60,
              securityContext: restrictedPodSecurityContext(NGINX_UID),
              topologySpreadConstraints: zoneSpread(selector),
              containers: [nginx, reloader],
              volumes: [
                { name: 'config', configMap: { name: config.metadata.name } },
                { name: 'tenants', secret: { secretName: this.tenantsSecret.metadata.name, defaultMode: 0o440 } },
                { name: 'tls', secret: { secretName: tls.metadata.name, defaultMode: 0o440 } },
                { name: 'run', emptyDir: { sizeLimit: '1Gi' } },
                { name: 'cache', emptyDir: { sizeLimit: '64Mi' } },
              ],
            },
          },
        },
      },
      parent,
    );

    disruptionBudget(GATEWAY_NAMES.deployment, { namespace, selector, labels: podLabels }, { parent: this });

    // Every client and every tenant's Grafana comes through the gateway (it checks the token
    // itself); it reaches nothing but DNS (it resolves its upstreams per request) and its upstreams.
    networkPolicy(
      `${name}-network`,
      {
        name: 'gateway',
        namespace,
        app: 'gateway',
        podSelector: selector,
        ingress: [{ ports: tcpPorts(GATEWAY_PORTS.https, GATEWAY_PORTS.http) }],
        egress: [dnsEgress(args.dns ?? CLUSTER_DNS), ...(args.upstreamEgress ?? defaultUpstreamEgress())],
      },
      parent,
    );

    this.publicService = new k8s.core.v1.Service(
      `${name}-public`,
      {
        metadata: { name: GATEWAY_NAMES.publicService, namespace, labels: podLabels, annotations: service.annotations ?? {} },
        spec: {
          type: service.type ?? 'LoadBalancer',
          selector,
          ports: [
            {
              name: 'https',
              port: GATEWAY_PORTS.publicService,
              targetPort: 'https',
              protocol: 'TCP',
              ...(service.nodePort !== undefined ? { nodePort: service.nodePort } : {}),
            },
          ],
          ...(service.externalTrafficPolicy ? { externalTrafficPolicy: service.externalTrafficPolicy } : {}),
          ...(service.loadBalancerClass ? { loadBalancerClass: service.loadBalancerClass } : {}),
          ...(service.loadBalancerSourceRanges ? { loadBalancerSourceRanges: service.loadBalancerSourceRanges } : {}),
        },
      },
      parent,
    );

    this.internalService = new k8s.core.v1.Service(
      `${name}-internal`,
      {
        metadata: { name: GATEWAY_NAMES.internalService, namespace, labels: podLabels },
        spec: {
          type: 'ClusterIP',
          selector,
          ports: [{ name: 'http', port: GATEWAY_PORTS.http, targetPort: 'http', protocol: 'TCP' }],
        },
      },
      parent,
    );

    this.loadBalancerHostname = this.publicService.status.apply((status) => {
      const ingress = status?.loadBalancer?.ingress?.[0];
      return ingress?.hostname ?? ingress?.ip ?? '';
    });
    this.internalUrl = `http://${serviceHost(GATEWAY_NAMES.internalService, namespace)}:${GATEWAY_PORTS.http}`;
    this.tenantsSecretName = GATEWAY_NAMES.tenantsSecret;
    this.tlsSecretName = GATEWAY_NAMES.tlsSecret;

    this.registerOutputs({
      loadBalancerHostname: this.loadBalancerHostname,
      internalUrl: this.internalUrl,
      tenantsSecretName: this.tenantsSecretName,
      tlsSecretName: this.tlsSecretName,
    });
  }
}
