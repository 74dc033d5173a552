/**
 * Cortex in the classic microservices layout, as typed Kubernetes resources: distributors,
 * replicated ingesters with a persistent WAL, queriers behind a query-frontend, sharded
 * store-gateways and compactor, and the multi-tenant ruler and Alertmanager. Blocks, rules and
 * Alertmanager state live in object storage (S3 or GCS); credentials come from the identities
 * bound to the `cortex` (blocks), `cortex-ruler` and `cortex-alertmanager` (rules bucket)
 * ServiceAccounts, or from a Secret of S3 keys. Per-tenant limits live in a runtime ConfigMap
 * that changes without a rollout. Each workload's egress is limited to what it calls.
 *
 * Resource count: the component, three ServiceAccounts, two ConfigMaps, the gossip and the
 * query-frontend headless Services, per workload a Deployment/StatefulSet, a Service, a
 * PodDisruptionBudget and an egress NetworkPolicy, and the overrides exporter's Deployment: 41
 * in all, whatever the number of tenants.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { checksumOf, disruptionBudget, headlessService, internetEgress, labels, type EgressRule, type ImageRef, type NetworkPeer, type ObjectStorage, type WorkloadSizing } from '@lookout/kube';
import {
  INGESTER_REPLICATION_FACTOR,
  renderAlertmanagerFallbackConfig,
  renderCortexConfig,
  validateCortexConfigOptions,
  type CortexConfigOptions,
  type CortexStorage,
  type LogLevel,
} from './config.js';
import {
  APP_NAME,
  COMPONENT_LAYOUT,
  CONFIG_KEYS,
  CONFIG_MAP,
  CORTEX_COMPONENTS,
  GOSSIP_PORT,
  GOSSIP_SERVICE,
  GRPC_PORT,
  HTTP_PORT,
  HTTP_PORT_NAME,
  OVERRIDES_EXPORTER,
  QUERY_FRONTEND_HEADLESS_SERVICE,
  RUNTIME_CONFIG_MAP,
  SERVICE_ACCOUNTS,
  resourceName,
  serviceUrl,
  type CortexComponent,
  type CortexIdentity,
} from './layout.js';
import { cortexNetworkPolicies } from './network-policies.js';
import { componentSelector, DATA_VOLUME, gossipSelector, overridesExporterPodTemplate, overridesExporterSelector, podTemplate } from './pod-spec.js';
import { renderRuntimeConfig, type TenantLimits } from './runtime-config.js';

/** Replicas, resources and volume size of each workload: the bundle's `sizing.cortex`. */
export type MetricsStoreSizing = Record<CortexComponent, WorkloadSizing> & {
  /** Exactly one replica (each would export every tenant's limits again). */
  overridesExporter: WorkloadSizing;
};

export interface MetricsStoreArgs {
  /** Namespace for every object (it must exist). Service addresses are derived from it. */
  namespace: string;
  /** The Cortex image, from the bundle. */
  image: ImageRef;
  /**
   * The buckets and how to reach them: `blocksBucket` for TSDB blocks, `rulesBucket` (which must
   * differ) for rule groups and Alertmanager configs and state. S3 needs its `endpoint`.
   */
  storage: MetricsStoreStorage;
  /** Public URL of the Alertmanager UI, ending in `/alertmanager`. */
  alertmanagerExternalUrl: pulumi.Input<string>;
  /** Every tenant with its limits, including the platform's own `system` tenant. */
  tenants: readonly TenantLimits[];
  /** Replicas, resources and (for the four StatefulSets) volume size of each workload. */
  sizing: MetricsStoreSizing;
  /** StorageClass of the ingester, store-gateway, compactor and Alertmanager volumes. */
  storageClassName: string;
  /**
   * Annotations of each identity's ServiceAccount (`blocks`: `cortex`; `ruler`: `cortex-ruler`;
   * `alertmanager`: `cortex-alertmanager`): how a cloud's workload identity binds a role or
   * service account to it. Give `ruler` and `alertmanager` roles that reach the rules bucket
   * only.
   */
  serviceAccountAnnotations?: Partial<Record<CortexIdentity, Record<string, string>>>;
  /**
   * The cluster's own networks beyond the private ranges: its pod, Service and node (VPC)
   * CIDRs, as the cloud reports them. Alertmanager receivers may call none of them, nor any
   * private, shared or link-local address (Cortex's receivers firewall and an egress policy).
   */
  clusterCidrs: readonly string[];
  /**
   * How the workloads with a bucket reach the object store and their cloud credentials (egress
   * rules). Default: HTTPS to any public address. Add, for example, a node-local credential agent
   * (such as 169.254.170.23/32, port 80), or an S3-compatible endpoint inside the cluster.
   */
  objectStorageEgress?: EgressRule[];
  /** The cluster DNS pods its egress policies allow (default: `k8s-app: kube-dns` in `kube-system`). */
  dns?: NetworkPeer;
  logLevel?: LogLevel;
}

export type MetricsStoreStorage = ObjectStorage<{ blocksBucket: pulumi.Input<string>; rulesBucket: pulumi.Input<string> }>;

const STATEFUL_WITH_VOLUME = CORTEX_COMPONENTS.filter((c) => COMPONENT_LAYOUT[c].kind === 'StatefulSet');

/** Checks what can be checked before anything is registered; throws an Error naming the argument. */
function validateArgs(args: MetricsStoreArgs): void {
  for (const c of CORTEX_COMPONENTS) {
    const sizing = args.sizing[c];
    if (!sizing) throw new Error(`MetricsStore: sizing.${c} is missing`);
    if (!Number.isInteger(sizing.replicas) || sizing.replicas < 1) {
      throw new Error(`MetricsStore: sizing.${c}.replicas must be a positive integer, got ${sizing.replicas}`);
    }
  }
  if (args.sizing.ingester.replicas < INGESTER_REPLICATION_FACTOR) {
    throw new Error(
      `MetricsStore: sizing.ingester.replicas must be at least ${INGESTER_REPLICATION_FACTOR} (the replication factor), got ${args.sizing.ingester.replicas}`,
    );
  }
  const exporter = args.sizing.overridesExporter;
  if (!exporter) throw new Error('MetricsStore: sizing.overridesExporter is missing');
  if (exporter.replicas !== OVERRIDES_EXPORTER.replicas) {
    throw new Error(
      `MetricsStore: sizing.overridesExporter.replicas must be ${OVERRIDES_EXPORTER.replicas} (every replica exports every tenant's limits), got ${exporter.replicas}`,
    );
  }
  for (const c of STATEFUL_WITH_VOLUME) {
    if (!args.sizing[c].storage) throw new Error(`MetricsStore: sizing.${c}.storage is required (it runs with a persistent volume)`);
  }
  if (!args.storageClassName) throw new Error('MetricsStore: storageClassName is required');
  if (!Array.isArray(args.clusterCidrs)) throw new Error('MetricsStore: clusterCidrs is required (the pod, Service and node CIDRs; [] if all are private)');
  for (const identity of Object.keys(args.serviceAccountAnnotations ?? {})) {
    if (!(identity in SERVICE_ACCOUNTS)) throw new Error(`MetricsStore: serviceAccountAnnotations.${identity} is not an identity (${Object.keys(SERVICE_ACCOUNTS).join(', ')})`);
  }
  const plain = [args.storage.blocksBucket, args.storage.rulesBucket, args.alertmanagerExternalUrl];
  // When the values are already known, a bad one fails here instead of at deployment time.
  if (plain.every((v): v is string => typeof v === 'string')) validateCortexConfigOptions(configOptions(args, plain));
}

function configOptions(args: MetricsStoreArgs, [blocksBucket, rulesBucket, url]: string[]): CortexConfigOptions {
  const storage = { ...args.storage, blocksBucket: blocksBucket!, rulesBucket: rulesBucket! } as CortexStorage;
  return {
    namespace: args.namespace,
    storage,
    alertmanagerExternalUrl: url!,
    clusterCidrs: args.clusterCidrs,
    storeGatewayReplicationFactor: Math.min(3, args.sizing.storeGateway.replicas),
    alertmanagerReplicationFactor: Math.min(3, args.sizing.alertmanager.replicas),
    ...(args.logLevel ? { logLevel: args.logLevel } : {}),
  };
}

export class MetricsStore extends pulumi.ComponentResource {
  /** In-cluster base URLs, `http://cortex-<component>.<ns>.svc.cluster.local:8080`. */
  readonly distributorUrl: string;
  readonly queryFrontendUrl: string;
  readonly rulerUrl: string;
  readonly alertmanagerUrl: string;
  /** The rendered Cortex config file (in the `cortex` ConfigMap). */
  readonly config: pulumi.Output<string>;
  /** The rendered runtime config with the per-tenant limits (the `cortex-runtime` ConfigMap). */
  readonly runtimeConfig: string;
  /** The ServiceAccount of each bucket identity. */
  readonly serviceAccounts: Record<CortexIdentity, k8s.core.v1.ServiceAccount>;
  readonly workloads: Record<CortexComponent, k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet>;
  /** Publishes `cortex_overrides{limit_name, user}` from the runtime config. */
  readonly overridesExporter: k8s.apps.v1.Deployment;

  constructor(name: string, args: MetricsStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    validateArgs(args);
    const runtimeConfig = renderRuntimeConfig(args.tenants);
    super('lookout:k8s:MetricsStore', name, {}, opts);
    const parent = { parent: this };
    const ns = args.namespace;
    const commonLabels = (component: string) => labels(APP_NAME, component, args.image.tag);

    this.config = pulumi
      .all([args.storage.blocksBucket, args.storage.rulesBucket, args.alertmanagerExternalUrl])
      .apply((values) => renderCortexConfig(configOptions(args, values)));
    this.runtimeConfig = runtimeConfig;
    const fallback = renderAlertmanagerFallbackConfig();
    // Only the main config rolls pods; the runtime config is re-read by Cortex in place.
    const configChecksum = checksumOf(this.config, fallback);

    this.serviceAccounts = Object.fromEntries(
      (Object.entries(SERVICE_ACCOUNTS) as Array<[CortexIdentity, string]>).map(([identity, name]) => {
        const annotations = args.serviceAccountAnnotations?.[identity];
        const account = new k8s.core.v1.ServiceAccount(
          name,
          { metadata: { name, namespace: ns, labels: commonLabels(name), ...(annotations ? { annotations } : {}) } },
          parent,
        );
        return [identity, account];
      }),
    ) as Record<CortexIdentity, k8s.core.v1.ServiceAccount>;

    new k8s.core.v1.ConfigMap(
      CONFIG_MAP,
      {
        metadata: { name: CONFIG_MAP, namespace: ns, labels: commonLabels('config') },
        data: { [CONFIG_KEYS.config]: this.config, [CONFIG_KEYS.alertmanagerFallback]: fallback },
      },
      parent,
    );
    new k8s.core.v1.ConfigMap(
      RUNTIME_CONFIG_MAP,
      {
        metadata: { name: RUNTIME_CONFIG_MAP, namespace: ns, labels: commonLabels('runtime-config') },
        data: { [CONFIG_KEYS.runtime]: runtimeConfig },
      },
      parent,
    );

    headlessService(
      GOSSIP_SERVICE,
      {
        metadata: { name: GOSSIP_SERVICE, namespace: ns, labels: commonLabels('gossip') },
        spec: {
          // Joining pods must find each other before any of them is ready.
          publishNotReadyAddresses: true,
          selector: gossipSelector(),
          ports: [{ name: 'gossip', port: GOSSIP_PORT, targetPort: 'gossip', protocol: 'TCP' }],
        },
      },
      parent,
    );
    // Queriers open a worker connection to every query-frontend, so they need the pod IPs.
    // A query-frontend is only ready once a querier is connected: not-ready pods must be listed.
    headlessService(
      QUERY_FRONTEND_HEADLESS_SERVICE,
      {
        metadata: { name: QUERY_FRONTEND_HEADLESS_SERVICE, namespace: ns, labels: commonLabels('query-frontend') },
        spec: {
          publishNotReadyAddresses: true,
          selector: componentSelector('queryFrontend'),
          ports: [
            { name: 'http', port: HTTP_PORT, targetPort: HTTP_PORT_NAME, protocol: 'TCP' },
            { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
          ],
        },
      },
      parent,
    );

    const workloads = {} as Record<CortexComponent, k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet>;
    for (const component of CORTEX_COMPONENTS) {
      const layout = COMPONENT_LAYOUT[component];
      const sizing = args.sizing[component];
      const resName = resourceName(component);
      const selector = componentSelector(component);
      const metadata = { name: resName, namespace: ns, labels: commonLabels(layout.target) };
      const template = podTemplate({ component, image: args.image, sizing, configChecksum, storage: args.storage });
      workloads[component] =
        layout.kind === 'StatefulSet'
          ? new k8s.apps.v1.StatefulSet(
              resName,
              {
                metadata,
                spec: {
                  serviceName: GOSSIP_SERVICE,
                  replicas: sizing.replicas,
                  // All replicas start together: ingesters must all be up before any is ready
                  // (readiness checks the whole ring), so ordered start-up would deadlock.
                  podManagementPolicy: 'Parallel',
                  updateStrategy: { type: 'RollingUpdate' },
                  selector: { matchLabels: selector },
                  template,
                  volumeClaimTemplates: [
                    {
                      metadata: { name: DATA_VOLUME, labels: selector },
                      spec: {
                        accessModes: ['ReadWriteOnce'],
                        storageClassName: args.storageClassName,
                        resources: { requests: { storage: sizing.storage! } },
                      },
                    },
                  ],
                },
              },
              parent,
            )
          : new k8s.apps.v1.Deployment(
              resName,
              {
                metadata,
                spec: {
                  replicas: sizing.replicas,
                  // Capacity never drops during a rollout.
                  strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
                  selector: { matchLabels: selector },
                  template,
                },
              },
              parent,
            );
      new k8s.core.v1.Service(
        resName,
        {
          metadata,
          spec: {
            selector,
            ports: [
              { name: 'http', port: HTTP_PORT, targetPort: HTTP_PORT_NAME, protocol: 'TCP' },
              { name: 'grpc', port: GRPC_PORT, targetPort: 'grpc', protocol: 'TCP' },
            ],
          },
        },
        parent,
      );
      disruptionBudget(resName, { namespace: ns, selector, labels: metadata.labels }, parent);
    }
    this.workloads = workloads;

    // Scraped through its pod's `http-metrics` port; nothing else talks to it, so it has no
    // Service and no PodDisruptionBudget (losing it for a moment loses a few scrapes of limits).
    const exporterSelector = overridesExporterSelector();
    this.overridesExporter = new k8s.apps.v1.Deployment(
      OVERRIDES_EXPORTER.name,
      {
        metadata: { name: OVERRIDES_EXPORTER.name, namespace: ns, labels: commonLabels(OVERRIDES_EXPORTER.target) },
        spec: {
          replicas: OVERRIDES_EXPORTER.replicas,
          // Never two at once: both would export every tenant's limits.
          strategy: { type: 'Recreate' },
          selector: { matchLabels: exporterSelector },
          template: overridesExporterPodTemplate({ image: args.image, sizing: args.sizing.overridesExporter, configChecksum }),
        },
      },
      parent,
    );

    cortexNetworkPolicies(
      {
        namespace: ns,
        clusterCidrs: args.clusterCidrs,
        objectStorage: args.objectStorageEgress ?? [internetEgress(args.clusterCidrs, [443])],
        ...(args.dns ? { dns: args.dns } : {}),
      },
      parent,
    );

    this.distributorUrl = serviceUrl('distributor', ns);
    this.queryFrontendUrl = serviceUrl('queryFrontend', ns);
    this.rulerUrl = serviceUrl('ruler', ns);
    this.alertmanagerUrl = serviceUrl('alertmanager', ns);
    this.registerOutputs({
      distributorUrl: this.distributorUrl,
      queryFrontendUrl: this.queryFrontendUrl,
      rulerUrl: this.rulerUrl,
      alertmanagerUrl: this.alertmanagerUrl,
      config: this.config,
      runtimeConfig: this.runtimeConfig,
    });
  }
}
