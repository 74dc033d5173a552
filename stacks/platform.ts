/**
 * The platform stack: everything tenants share, in the `lookout` namespace. Tenants live in
 * their own stacks (stacks/tenant.ts); adding one changes nothing here but the per-tenant
 * limits ConfigMaps of the metrics and log stores. It knows no cloud: storage, identity, the
 * gateway's exposure, the storage class and the tenant hosts' DNS record come from the
 * provider (PlatformCloud).
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { Gateway } from '@lookout/gateway';
import { deployedImmutableFields, imageString, isolateNamespace, labels, podSecurityLabels, statefulSetReplacement, type DeployedResource } from '@lookout/kube';
import { LogStore } from '@lookout/log-store';
import { MetricsStore } from '@lookout/metrics-store';
import { SelfMonitoring } from '@lookout/self-monitoring';
import type { BundleManifest } from '../src/bundle/manifest.js';
import type { ResolvedConfig } from '../src/config/load.js';
import { PLATFORM_NAMESPACE, RESERVED_TENANTS, tenantHost } from '../src/naming.js';
import type { PlatformCloud } from '../src/providers/types.js';
import { registerOwnerLabels } from './owner-labels.js';

export const PLATFORM_PROJECT = 'lookout-platform';
/** The Secret of S3 keys the stores read, when the provider gives keys instead of an identity. */
export const STORAGE_KEYS_SECRET = { name: 'object-storage-keys', accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' } as const;
const SYSTEM_TENANT = RESERVED_TENANTS[0];

export interface PlatformArgs {
  instance: string;
  config: ResolvedConfig;
  bundle: BundleManifest;
  /** Lookout's kubeconfig for the cluster (no token in it). */
  kubeconfig: string;
  /** What differs per provider. */
  cloud: PlatformCloud;
  /** The instance certificate (chain) and key, PEM. Kept as Pulumi secrets. */
  tls: { certificatePem: string; privateKeyPem: string };
  /**
   * Tenant name → the id the stores keep its data under (src/tenants/tenant-ids.ts); a tenant
   * not listed is keyed by its name.
   */
  tenantIds?: Record<string, string>;
  /**
   * The stack's resources as its state holds them before this run (read when the program
   * runs): a StatefulSet whose immutable fields differ from them is previewed as a replacement.
   */
  deployed?: () => readonly DeployedResource[];
}

export interface PlatformOutputs {
  loadBalancerHostname: pulumi.Output<string>;
  gatewayInternalUrl: string;
  tenantsSecretName: string;
  bundle: string;
  components: Record<string, string>;
}

/** Every tenant with its limits, the system tenant first: the stores enforce them per tenant. */
export function tenantLimits(config: ResolvedConfig, tenantIds: Record<string, string> = {}) {
  return [
    { name: SYSTEM_TENANT, retention: config.system.retention, limits: config.system.limits },
    ...config.tenants.map((t) => ({ name: tenantIds[t.name] ?? t.name, retention: t.retention, limits: t.limits })),
  ];
}

/**
 * The StorageClass, when the provider has the platform make it. Volumes hold only WALs and
 * caches (the data is in the buckets), so they go with their claims and may grow.
 */
function storageClass(cloud: PlatformCloud, opts: pulumi.CustomResourceOptions): void {
  const create = cloud.storageClass.create;
  if (!create) return;
  new k8s.storage.v1.StorageClass(
    create.resourceName,
    {
      metadata: { name: cloud.storageClass.name, labels: labels('platform', 'storage') },
      provisioner: create.provisioner,
      parameters: create.parameters,
      volumeBindingMode: 'WaitForFirstConsumer',
      allowVolumeExpansion: true,
      reclaimPolicy: 'Delete',
    },
    opts,
  );
}

/**
 * The stores' storage, with static S3 keys (when the provider has no identity for them) in a
 * Secret both stores read. The keys stay Pulumi secrets; the Secret is the only place they go.
 */
function storesStorage(cloud: PlatformCloud, namespace: string, opts: pulumi.CustomResourceOptions) {
  const keys = cloud.storageKeys;
  if (!keys) return { metrics: cloud.metricsStore.storage, logs: cloud.logStore.storage };
  new k8s.core.v1.Secret(
    'object-storage-keys',
    {
      metadata: { name: STORAGE_KEYS_SECRET.name, namespace, labels: labels('platform', 'object-storage-keys') },
      type: 'Opaque',
      stringData: {
        [STORAGE_KEYS_SECRET.accessKeyIdKey]: pulumi.secret(keys.accessKeyId),
        [STORAGE_KEYS_SECRET.secretAccessKeyKey]: pulumi.secret(keys.secretAccessKey),
      },
    },
    opts,
  );
  const withKeys = <S extends PlatformCloud['metricsStore']['storage'] | PlatformCloud['logStore']['storage']>(storage: S): S => ({
    ...storage,
    credentialsSecret: { ...STORAGE_KEYS_SECRET },
  });
  return { metrics: withKeys(cloud.metricsStore.storage), logs: withKeys(cloud.logStore.storage) };
}

/** Settings that cannot work together, refused before the program registers anything. */
function checkCloud(cloud: PlatformCloud): void {
  if (!cloud.storageKeys) return;
  for (const [store, storage] of [['metrics', cloud.metricsStore.storage], ['log', cloud.logStore.storage]] as const) {
    if (storage.backend !== 's3') throw new Error(`storage keys are for S3, but the ${store} store's backend is ${storage.backend}`);
  }
}

export function platformProgram(args: PlatformArgs): () => Promise<PlatformOutputs> {
  checkCloud(args.cloud);
  return async () => {
    const { config, bundle } = args;
    const domain = config.dns.domain;
    const { cloud } = args;
    registerOwnerLabels(cloud.ownerLabels);
    let deployed: Map<string, string> | undefined;
    pulumi.runtime.registerStackTransformation(statefulSetReplacement(() => (deployed ??= deployedImmutableFields(args.deployed?.() ?? []))));
    const provider = new k8s.Provider('k8s', {
      kubeconfig: pulumi.secret(args.kubeconfig),
      // Server-side apply lets tenant stacks own their keys of the shared gateway Secret.
      enableServerSideApply: true,
      // A ConfigMap's new data is an update, not a replacement (the provider's default): the
      // stores reload their per-tenant runtime config in place, and pods roll on checksums.
      enableConfigMapMutable: true,
    });
    const opts = { provider };
    const namespace = PLATFORM_NAMESPACE;

    const ns = new k8s.core.v1.Namespace(
      'platform',
      {
        metadata: {
          name: namespace,
          // What needs the host (the collector, node-exporter) runs in SelfMonitoring's own namespace.
          labels: { ...labels('platform', 'namespace'), ...podSecurityLabels('restricted') },
        },
      },
      opts,
    );
    const inNs = { provider, dependsOn: [ns] };

    storageClass(cloud, opts);

    const storage = storesStorage(cloud, namespace, inNs);
    // Keyed by tenant id: the stores know tenants only by what the gateway sends.
    const tenants = tenantLimits(config, args.tenantIds);
    const metrics = new MetricsStore(
      'metrics',
      {
        namespace,
        image: bundle.components.cortex.image,
        storage: storage.metrics,
        alertmanagerExternalUrl: `https://${tenantHost(SYSTEM_TENANT, domain)}/alertmanager`,
        tenants: tenants.map((t) => ({
          id: t.name,
          samplesPerSecond: t.limits.samplesPerSecond,
          ...(t.limits.burstSamples ? { burstSamples: t.limits.burstSamples } : {}),
          activeSeries: t.limits.activeSeries,
          retentionDays: t.retention.metricsDays,
        })),
        sizing: bundle.sizing.cortex,
        storageClassName: cloud.storageClass.name,
        clusterCidrs: cloud.network.clusterCidrs,
        ...(cloud.network.objectStorageEgress ? { objectStorageEgress: cloud.network.objectStorageEgress } : {}),
        ...(cloud.metricsStore.serviceAccountAnnotations ? { serviceAccountAnnotations: cloud.metricsStore.serviceAccountAnnotations } : {}),
      },
      inNs,
    );

    const logs = new LogStore(
      'logs',
      {
        namespace,
        image: bundle.components.loki.image,
        storage: storage.logs,
        ...(cloud.logStore.serviceAccountAnnotations ? { serviceAccountAnnotations: cloud.logStore.serviceAccountAnnotations } : {}),
        tenants: tenants.map((t) => ({ name: t.name, ingestionRateMB: t.limits.logsMBPerSecond, retentionDays: t.retention.logsDays })),
        sizing: bundle.sizing.loki,
        storageClassName: cloud.storageClass.name,
        ...(cloud.network.objectStorageEgress ? { objectStorageEgress: cloud.network.objectStorageEgress } : {}),
        // The bundle decides where Loki keeps rules (2026.12.0 moved them to `ruler_storage`).
        ruleStorage: bundle.components.loki.ruleStorage,
      },
      inNs,
    );

    const gateway = new Gateway(
      'gateway',
      {
        namespace,
        domain,
        image: bundle.components.gateway.image,
        sizing: bundle.sizing.gateway,
        tls: { certificate: pulumi.secret(args.tls.certificatePem), privateKey: pulumi.secret(args.tls.privateKeyPem) },
        // The gateway's default upstreams are the stores' Services in this namespace (the
        // platform test checks they agree with what the stores expose).
        service: cloud.gateway.service,
        ...(config.gateway.allowedCidrs ? { allowedClientCidrs: config.gateway.allowedCidrs } : {}),
      },
      inNs,
    );

    const selfMonitoring = new SelfMonitoring(
      'self-monitoring',
      {
        namespace,
        clusterCidrs: cloud.network.clusterCidrs,
        domain,
        cluster: cloud.clusterName,
        images: {
          alloy: bundle.components.alloy.image,
          kubeStateMetrics: bundle.components.kubeStateMetrics.image,
          nodeExporter: bundle.components.nodeExporter.image,
        },
        sizing: { alloy: bundle.sizing.alloy, kubeStateMetrics: bundle.sizing.kubeStateMetrics, nodeExporter: bundle.sizing.nodeExporter },
      },
      inNs,
    );

    // The namespace's defaults (traffic from its own pods only, no egress but DNS), after the
    // components' own policies, so no pod ever runs with the defaults alone.
    isolateNamespace(namespace, { provider, dependsOn: [ns, metrics, logs, gateway, selfMonitoring] });

    // Every tenant host resolves to the gateway: its load balancer, or the user's own in front.
    const address = cloud.gateway.address === undefined ? gateway.loadBalancerHostname : pulumi.output(cloud.gateway.address);
    cloud.tenantHostsRecord?.({ domain, target: address });

    return {
      loadBalancerHostname: address,
      gatewayInternalUrl: gateway.internalUrl,
      tenantsSecretName: gateway.tenantsSecretName,
      bundle: bundle.version,
      components: Object.fromEntries(Object.entries(bundle.components).map(([k, c]) => [k, imageString(c.image)])),
    };
  };
}
