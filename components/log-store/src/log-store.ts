/**
 * Loki 3 in simple scalable mode: a `write` StatefulSet (distributors + ingesters, WAL on a
 * PVC), a `read` Deployment (query-frontends + queriers) and a `backend` StatefulSet
 * (compactor, index gateway, query-scheduler, ruler), all sharing one configuration and one
 * memberlist ring, with chunks and index in object storage (S3 or GCS).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  CLUSTER_DNS,
  checksumOf,
  disruptionBudget,
  dnsEgress,
  headlessService,
  imageString,
  internetEgress,
  labels,
  networkPolicy,
  objectStorageEnv,
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
  type ObjectStorage,
  type WorkloadSizing,
} from '@lookout/kube';
import {
  CONFIG_DIR,
  CONFIG_FILE,
  DATA_DIR,
  GOSSIP_PORT,
  GRPC_PORT,
  HTTP_PORT,
  RUNTIME_CONFIG_DIR,
  RUNTIME_CONFIG_FILE,
  SERVICE_NAMES,
  renderLokiConfig,
  renderLokiRuntimeConfig,
  type LogTenantLimits,
  type LokiRuleStorage,
  type LokiDefaultEndpoint,
  type LokiDefaultLimits,
  type LokiStorage,
} from './config.js';

export const LOKI_APP = 'loki';
/** Fixed: an infra stack binds the log store's workload identity to `<namespace>/loki`. */
export const LOKI_SERVICE_ACCOUNT = 'loki';
export const CONFIG_MAP_NAME = 'loki-config';
export const RUNTIME_CONFIG_MAP_NAME = 'loki-runtime';
/** Every Loki pod carries this label; the headless `loki-gossip` Service selects it. */
export const GOSSIP_LABEL = { 'lookout.dev/gossip-ring': 'loki' } as const;
/** Loki images run as this uid. */
const LOKI_UID = 10001;

export type LokiTarget = 'write' | 'read' | 'backend';

export interface LogStoreSizing {
  write: WorkloadSizing;
  read: WorkloadSizing;
  backend: WorkloadSizing;
}

export type LogStoreStorage = ObjectStorage<{ bucket: pulumi.Input<string> }> & LokiDefaultEndpoint;

export interface LogStoreArgs {
  namespace: string;
  image: ImageRef;
  /**
   * The logs bucket and how to reach it. Access comes from the identity bound to the `loki`
   * ServiceAccount (see `serviceAccountAnnotations`), or from a Secret of S3 keys.
   */
  storage: LogStoreStorage;
  /** Annotations of the `loki` ServiceAccount: how a cloud's workload identity binds to it. */
  serviceAccountAnnotations?: Record<string, string>;
  /** Per-tenant limits and retention (the platform includes its `system` tenant here). */
  tenants: readonly LogTenantLimits[];
  sizing: LogStoreSizing;
  /** StorageClass of the write and backend volumes. */
  storageClassName: string;
  /** Alertmanager for the ruler. Default: the Cortex Alertmanager in the same namespace. */
  alertmanagerUrl?: string;
  /**
   * How the ruler (in the backend pods) reaches that Alertmanager (an egress rule). Default: the
   * pods of @lookout/metrics-store's Alertmanager in the same namespace, on 8080; give it with
   * `alertmanagerUrl`.
   */
  alertmanagerEgress?: EgressRule;
  /**
   * How the pods reach the bucket and their cloud credentials (egress rules). Default: HTTPS to
   * any public address. Add, for example, a node-local credential agent (such as
   * 169.254.170.23/32, port 80), or an S3-compatible endpoint inside the cluster.
   */
  objectStorageEgress?: EgressRule[];
  /** The cluster DNS pods its egress policies allow (default: `k8s-app: kube-dns` in `kube-system`). */
  dns?: NetworkPeer;
  /** Limits for tenants without an override. */
  defaultLimits?: Partial<LokiDefaultLimits>;
  /** Where rule groups live, and so which object-store clients Loki uses (default `ruler.storage`). */
  ruleStorage?: LokiRuleStorage;
}

function checkArgs(args: LogStoreArgs): void {
  for (const target of ['write', 'read', 'backend'] as const) {
    const sizing = args.sizing[target];
    if (!Number.isInteger(sizing.replicas) || sizing.replicas < 1) {
      throw new Error(`LogStore: sizing.${target}.replicas must be a positive integer, found ${sizing.replicas}`);
    }
  }
  for (const target of ['write', 'backend'] as const) {
    if (!args.sizing[target].storage) throw new Error(`LogStore: sizing.${target}.storage is required (its volume holds state)`);
  }
  // Three write replicas hold each stream; fewer write pods cannot accept a single push.
  if (args.sizing.write.replicas < 3) {
    throw new Error(`LogStore: sizing.write.replicas must be at least 3 (replication factor 3), found ${args.sizing.write.replicas}`);
  }
  if (!args.storageClassName) throw new Error('LogStore: storageClassName must not be empty');
  if (args.alertmanagerUrl && !args.alertmanagerEgress) {
    throw new Error('LogStore: alertmanagerEgress is required with alertmanagerUrl (the ruler may reach only what its egress policy allows)');
  }
}

export class LogStore extends pulumi.ComponentResource {
  /** Loki push endpoint (`POST`, needs `X-Scope-OrgID`). */
  readonly pushUrl: pulumi.Output<string>;
  /** Base URL of the query API (`/loki/api/v1/query_range`, `labels`, ...). */
  readonly queryUrl: pulumi.Output<string>;
  /** Base URL of the backend: ruler API, compactor (delete API). */
  readonly backendUrl: pulumi.Output<string>;
  readonly config: pulumi.Output<string>;
  readonly runtimeConfig: pulumi.Output<string>;
  readonly serviceAccountName: pulumi.Output<string>;

  constructor(name: string, args: LogStoreArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // Checked before anything is registered, so bad arguments leave nothing half-made.
    checkArgs(args);
    const runtimeText = renderLokiRuntimeConfig(args.tenants);
    super('lookout:k8s:LogStore', name, {}, opts);
    const { namespace } = args;
    const child = { parent: this };
    const version = args.image.tag;

    const configText = pulumi.output(args.storage.bucket).apply((bucket) =>
      renderLokiConfig({
        namespace,
        storage: { ...args.storage, bucket } as LokiStorage,
        ...(args.alertmanagerUrl ? { alertmanagerUrl: args.alertmanagerUrl } : {}),
        ...(args.defaultLimits ? { limits: args.defaultLimits } : {}),
        ...(args.ruleStorage ? { ruleStorage: args.ruleStorage } : {}),
      }),
    );
    // Only the static config rolls pods; Loki reloads the runtime config (tenant limits) itself.
    const checksum = checksumOf(configText);

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        // The token stays mounted (the default) although Loki never calls the Kubernetes API:
        // users report that pod identity credentials are not injected into pods that opt out.
        metadata: {
          name: LOKI_SERVICE_ACCOUNT,
          namespace,
          labels: labels(LOKI_APP, 'log-store', version),
          ...(args.serviceAccountAnnotations ? { annotations: args.serviceAccountAnnotations } : {}),
        },
      },
      child,
    );
    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: CONFIG_MAP_NAME, namespace, labels: labels(LOKI_APP, 'log-store', version) },
        data: { [CONFIG_FILE]: configText },
      },
      child,
    );
    const runtimeConfigMap = new k8s.core.v1.ConfigMap(
      `${name}-runtime`,
      {
        metadata: { name: RUNTIME_CONFIG_MAP_NAME, namespace, labels: labels(LOKI_APP, 'log-store', version) },
        data: { [RUNTIME_CONFIG_FILE]: runtimeText },
      },
      child,
    );

    // Pods mount the ConfigMaps by name; create them first so no pod starts without its files.
    const workloadOpts = { parent: this, dependsOn: [configMap, runtimeConfigMap] };

    const httpPorts = [
      { name: 'http-metrics', port: HTTP_PORT, targetPort: 'http-metrics', protocol: 'TCP' },
      { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
    ];
    const service = (logical: string, serviceName: string, target: LokiTarget, headless = false) => {
      const metadata = { name: serviceName, namespace, labels: labels(LOKI_APP, target, version) };
      const spec = { selector: selectorLabels(LOKI_APP, target), ports: httpPorts };
      return headless
        ? headlessService(logical, { metadata, spec }, child)
        : new k8s.core.v1.Service(logical, { metadata, spec: { type: 'ClusterIP', ...spec } }, child);
    };

    // Memberlist seeds: every Loki pod, ready or not (a pod joins the ring before it is ready).
    // It is also the StatefulSets' governing Service, which gives their pods stable DNS names.
    headlessService(
      `${name}-gossip`,
      {
        metadata: { name: SERVICE_NAMES.gossip, namespace, labels: { ...labels(LOKI_APP, 'gossip', version), ...GOSSIP_LABEL } },
        spec: {
          publishNotReadyAddresses: true,
          selector: { ...GOSSIP_LABEL },
          ports: [{ name: 'tcp-gossip', port: GOSSIP_PORT, targetPort: 'http-memberlist', protocol: 'TCP' }],
        },
      },
      child,
    );
    service(`${name}-write`, SERVICE_NAMES.write, 'write');
    service(`${name}-read`, SERVICE_NAMES.read, 'read');
    service(`${name}-backend`, SERVICE_NAMES.backend, 'backend');
    service(`${name}-backend-headless`, SERVICE_NAMES.backendHeadless, 'backend', true);

    // S3 keys from a Secret, when given: every target reads or writes the bucket.
    const storageEnv = objectStorageEnv(args.storage);
    const podTemplate = (target: LokiTarget, sizing: WorkloadSizing, extra: { gracePeriod: number; hardZones: boolean; dataVolume: 'pvc' | 'emptyDir' }) => {
      const selector = selectorLabels(LOKI_APP, target);
      const volumes: k8s.types.input.core.v1.Volume[] = [
        { name: 'config', configMap: { name: CONFIG_MAP_NAME } },
        { name: 'runtime-config', configMap: { name: RUNTIME_CONFIG_MAP_NAME } },
        { name: 'tmp', emptyDir: {} },
        ...(extra.dataVolume === 'emptyDir' ? [{ name: 'data', emptyDir: {} }] : []),
      ];
      return {
        metadata: {
          labels: { ...labels(LOKI_APP, target, version), ...GOSSIP_LABEL },
          annotations: { 'checksum/config': checksum },
        },
        spec: {
          serviceAccountName: serviceAccount.metadata.name,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(LOKI_UID),
          terminationGracePeriodSeconds: extra.gracePeriod,
          topologySpreadConstraints: zoneSpread(selector, { hardZones: extra.hardZones }),
          containers: [
            {
              name: 'loki',
              image: imageString(args.image),
              args: [`-config.file=${CONFIG_DIR}/${CONFIG_FILE}`, `-target=${target}`],
              ...(storageEnv.length > 0 ? { env: storageEnv } : {}),
              ports: [
                { name: 'http-metrics', containerPort: HTTP_PORT, protocol: 'TCP' },
                { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
                { name: 'http-memberlist', containerPort: GOSSIP_PORT, protocol: 'TCP' },
              ],
              resources: resources(sizing.resources),
              securityContext: restrictedContainerSecurityContext(true),
              // /ready also reflects ring membership; a pod that is merely slow to join must not
              // be restarted, so liveness only checks that the HTTP server answers.
              readinessProbe: { httpGet: { path: '/ready', port: 'http-metrics' }, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 1 },
              livenessProbe: {
                httpGet: { path: '/metrics', port: 'http-metrics' },
                initialDelaySeconds: 60,
                periodSeconds: 20,
                timeoutSeconds: 5,
                failureThreshold: 6,
              },
              volumeMounts: [
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'runtime-config', mountPath: RUNTIME_CONFIG_DIR, readOnly: true },
                { name: 'data', mountPath: DATA_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes,
        },
      };
    };

    const dataVolumeClaim = (sizing: WorkloadSizing, target: LokiTarget) => ({
      metadata: { name: 'data', labels: selectorLabels(LOKI_APP, target) },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: args.storageClassName,
        resources: { requests: { storage: sizing.storage! } },
      },
    });

    const statefulSet = (target: 'write' | 'backend', sizing: WorkloadSizing, hardZones: boolean) =>
      new k8s.apps.v1.StatefulSet(
        `${name}-${target}`,
        {
          metadata: { name: `${LOKI_APP}-${target}`, namespace, labels: labels(LOKI_APP, target, version) },
          spec: {
            replicas: sizing.replicas,
            serviceName: SERVICE_NAMES.gossip,
            // Pods do not wait for each other: a ring member that is not yet ready must not
            // keep the others from starting.
            podManagementPolicy: 'Parallel',
            updateStrategy: { type: 'RollingUpdate' },
            selector: { matchLabels: selectorLabels(LOKI_APP, target) },
            template: podTemplate(target, sizing, { gracePeriod: 300, hardZones, dataVolume: 'pvc' }),
            volumeClaimTemplates: [dataVolumeClaim(sizing, target)],
          },
        },
        workloadOpts,
      );

    // Write pods hold unflushed logs: hard zone spreading keeps one replica per zone.
    statefulSet('write', args.sizing.write, true);
    new k8s.apps.v1.Deployment(
      `${name}-read`,
      {
        metadata: { name: `${LOKI_APP}-read`, namespace, labels: labels(LOKI_APP, 'read', version) },
        spec: {
          replicas: args.sizing.read.replicas,
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
          selector: { matchLabels: selectorLabels(LOKI_APP, 'read') },
          template: podTemplate('read', args.sizing.read, { gracePeriod: 60, hardZones: false, dataVolume: 'emptyDir' }),
        },
      },
      workloadOpts,
    );
    statefulSet('backend', args.sizing.backend, false);

    for (const target of ['write', 'read', 'backend'] as const) {
      disruptionBudget(
        `${name}-${target}`,
        { namespace, selector: selectorLabels(LOKI_APP, target), labels: labels(LOKI_APP, target, version) },
        child,
      );
    }

    // Egress: DNS, the other Loki pods (ring, queries, index gateway, compactor), the bucket,
    // and for the backend's ruler the Alertmanager.
    const objectStorage = args.objectStorageEgress ?? [internetEgress([], [443])];
    const alertmanager = args.alertmanagerEgress ?? {
      to: [podsPeer({ 'app.kubernetes.io/name': 'cortex', 'app.kubernetes.io/component': 'alertmanager', 'app.kubernetes.io/part-of': 'lookout' })],
      ports: tcpPorts(8080),
    };
    for (const target of ['write', 'read', 'backend'] as const) {
      networkPolicy(
        `${name}-${target}-egress`,
        {
          name: `${LOKI_APP}-${target}-egress`,
          namespace,
          app: LOKI_APP,
          podSelector: selectorLabels(LOKI_APP, target),
          egress: [
            dnsEgress(args.dns ?? CLUSTER_DNS),
            { to: [podsPeer({ ...GOSSIP_LABEL })], ports: tcpPorts(HTTP_PORT, GRPC_PORT, GOSSIP_PORT) },
            ...objectStorage,
            ...(target === 'backend' ? [alertmanager] : []),
          ],
        },
        child,
      );
    }

    const base = (serviceName: string) => `http://${serviceHost(serviceName, namespace)}:${HTTP_PORT}`;
    this.pushUrl = pulumi.output(`${base(SERVICE_NAMES.write)}/loki/api/v1/push`);
    this.queryUrl = pulumi.output(base(SERVICE_NAMES.read));
    this.backendUrl = pulumi.output(base(SERVICE_NAMES.backend));
    this.config = configText;
    this.runtimeConfig = pulumi.output(runtimeText);
    this.serviceAccountName = serviceAccount.metadata.name;
    this.registerOutputs({
      pushUrl: this.pushUrl,
      queryUrl: this.queryUrl,
      backendUrl: this.backendUrl,
      config: this.config,
      runtimeConfig: this.runtimeConfig,
      serviceAccountName: this.serviceAccountName,
    });
  }
}
