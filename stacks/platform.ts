/**
 * The platform stack: everything tenants share, in the `lookout` namespace. Tenants live in
 * their own stacks (stacks/tenant.ts); adding one changes nothing here but the per-tenant
 * limits ConfigMaps of the metrics and log stores.
 */
import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { Gateway, GATEWAY_PORTS } from '@lookout/gateway';
import { imageString, labels } from '@lookout/kube';
import { LogStore } from '@lookout/log-store';
import { MetricsStore } from '@lookout/metrics-store';
import { SelfMonitoring } from '@lookout/self-monitoring';
import type { BundleManifest } from '../src/bundle/manifest.js';
import type { ResolvedConfig } from '../src/config/load.js';
import { PLATFORM_NAMESPACE, RESERVED_TENANTS, TAG_INSTANCE, awsNames, tenantHost } from '../src/naming.js';
import { providerKubeconfig, type ClusterAccess } from '../src/k8s/provider-kubeconfig.js';

export const PLATFORM_PROJECT = 'lookout-platform';
export const STORAGE_CLASS = 'lookout-gp3';
const SYSTEM_TENANT = RESERVED_TENANTS[0];

export interface PlatformArgs {
  instance: string;
  config: ResolvedConfig;
  bundle: BundleManifest;
  cluster: ClusterAccess;
  /** Overrides the kubeconfig built from `cluster` (the offline plan and tests). */
  kubeconfig?: string;
  storage: { region: string; metricsBucket: string; logsBucket: string; rulesBucket: string };
  dns: { zoneId: string };
  /** The instance certificate (chain) and key, PEM. Kept as Pulumi secrets. */
  tls: { certificatePem: string; privateKeyPem: string };
  /**
   * The metrics store's role, also trusted through the cluster's OIDC provider: Cortex 1.19
   * is built with an AWS SDK that predates EKS Pod Identity, so it uses web identity.
   */
  metricsStoreRoleArn?: string;
}

export interface PlatformOutputs {
  loadBalancerHostname: pulumi.Output<string>;
  gatewayInternalUrl: string;
  tenantsSecretName: string;
  bundle: string;
  components: Record<string, string>;
}

/** Every tenant with its limits, the system tenant first: the stores enforce them per tenant. */
export function tenantLimits(config: ResolvedConfig) {
  return [
    { name: SYSTEM_TENANT, retention: config.system.retention, limits: config.system.limits },
    ...config.tenants.map((t) => ({ name: t.name, retention: t.retention, limits: t.limits })),
  ];
}

/** NLB via the cloud controller built into EKS: internet-facing, client IPs kept, tagged for the leftover scan. */
function awsLoadBalancerAnnotations(instance: string): Record<string, string> {
  return {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    'service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled': 'true',
    'service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags': `${TAG_INSTANCE}=${instance}`,
  };
}

function networkPolicies(namespace: string, opts: pulumi.CustomResourceOptions): void {
  // Nothing reaches the platform's pods except from inside the namespace...
  new k8s.networking.v1.NetworkPolicy(
    'platform-isolation',
    {
      metadata: { name: 'platform-isolation', namespace, labels: labels('platform', 'network-policy') },
      spec: {
        podSelector: {},
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: {} }] }],
      },
    },
    opts,
  );
  // ...but the gateway, which every client and every tenant's Grafana go through (it checks
  // the token itself). Tenants' Grafanas can never reach Cortex or Loki directly.
  new k8s.networking.v1.NetworkPolicy(
    'gateway-ingress',
    {
      metadata: { name: 'gateway-ingress', namespace, labels: labels('gateway', 'network-policy') },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } },
        policyTypes: ['Ingress'],
        ingress: [{ ports: [{ port: GATEWAY_PORTS.https, protocol: 'TCP' }, { port: GATEWAY_PORTS.http, protocol: 'TCP' }] }],
      },
    },
    opts,
  );
}

export function platformProgram(args: PlatformArgs): () => Promise<PlatformOutputs> {
  return async () => {
    const { config, bundle } = args;
    const domain = config.dns.domain;
    const provider = new k8s.Provider('k8s', {
      kubeconfig: pulumi.secret(args.kubeconfig ?? providerKubeconfig(args.cluster)),
      // Server-side apply lets tenant stacks own their keys of the shared gateway Secret.
      enableServerSideApply: true,
    });
    const opts = { provider };
    const namespace = PLATFORM_NAMESPACE;

    const ns = new k8s.core.v1.Namespace(
      'platform',
      {
        metadata: {
          name: namespace,
          labels: {
            ...labels('platform', 'namespace'),
            // The collector reads node logs and node-exporter the host's /proc: both need host
            // access, which only the privileged level allows. Everything else is restricted
            // by its own security context; `warn` flags any pod that is not.
            'pod-security.kubernetes.io/enforce': 'privileged',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/audit': 'restricted',
          },
        },
      },
      opts,
    );
    const inNs = { provider, dependsOn: [ns] };

    new k8s.storage.v1.StorageClass(
      'gp3',
      {
        metadata: { name: STORAGE_CLASS, labels: labels('platform', 'storage') },
        provisioner: 'ebs.csi.aws.com',
        parameters: { type: 'gp3', encrypted: 'true', 'csi.storage.k8s.io/fstype': 'ext4' },
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
        // The stores keep their data in S3; the volumes hold only WALs and caches.
        reclaimPolicy: 'Delete',
      },
      opts,
    );

    const tenants = tenantLimits(config);
    new MetricsStore(
      'metrics',
      {
        namespace,
        image: bundle.components.cortex.image,
        // Cortex's S3 client needs the endpoint; Loki's derives it from the region.
        storage: {
          backend: 's3',
          region: args.storage.region,
          endpoint: `s3.${args.storage.region}.amazonaws.com`,
          blocksBucket: args.storage.metricsBucket,
          rulesBucket: args.storage.rulesBucket,
        },
        alertmanagerExternalUrl: `https://${tenantHost(SYSTEM_TENANT, domain)}/alertmanager`,
        tenants: tenants.map((t) => ({
          id: t.name,
          samplesPerSecond: t.limits.samplesPerSecond,
          ...(t.limits.burstSamples ? { burstSamples: t.limits.burstSamples } : {}),
          activeSeries: t.limits.activeSeries,
          retentionDays: t.retention.metricsDays,
        })),
        sizing: bundle.sizing.cortex,
        storageClassName: STORAGE_CLASS,
        ...(args.metricsStoreRoleArn ? { serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': args.metricsStoreRoleArn } } : {}),
      },
      inNs,
    );

    new LogStore(
      'logs',
      {
        namespace,
        image: bundle.components.loki.image,
        storage: { backend: 's3', region: args.storage.region, bucket: args.storage.logsBucket },
        tenants: tenants.map((t) => ({ name: t.name, ingestionRateMB: t.limits.logsMBPerSecond, retentionDays: t.retention.logsDays })),
        sizing: bundle.sizing.loki,
        storageClassName: STORAGE_CLASS,
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
        service: { annotations: awsLoadBalancerAnnotations(args.instance), externalTrafficPolicy: 'Local' },
      },
      inNs,
    );

    new SelfMonitoring(
      'self-monitoring',
      {
        namespace,
        domain,
        cluster: awsNames(args.instance).clusterName,
        images: {
          alloy: bundle.components.alloy.image,
          kubeStateMetrics: bundle.components.kubeStateMetrics.image,
          nodeExporter: bundle.components.nodeExporter.image,
        },
        sizing: { alloy: bundle.sizing.alloy, kubeStateMetrics: bundle.sizing.kubeStateMetrics, nodeExporter: bundle.sizing.nodeExporter },
      },
      inNs,
    );

    networkPolicies(namespace, inNs);

    // Every tenant host resolves to the gateway's load balancer.
    const awsProvider = new aws.Provider('aws', { region: args.storage.region, defaultTags: { tags: { [TAG_INSTANCE]: args.instance } } });
    new aws.route53.Record(
      'tenant-hosts',
      { zoneId: args.dns.zoneId, name: `*.${domain}`, type: 'CNAME', ttl: 60, records: [gateway.loadBalancerHostname] },
      { provider: awsProvider },
    );

    return {
      loadBalancerHostname: gateway.loadBalancerHostname,
      gatewayInternalUrl: gateway.internalUrl,
      tenantsSecretName: gateway.tenantsSecretName,
      bundle: bundle.version,
      components: Object.fromEntries(Object.entries(bundle.components).map(([k, c]) => [k, imageString(c.image)])),
    };
  };
}
