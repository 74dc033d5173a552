/**
 * The platform watching itself: the collector (Grafana Alloy), kube-state-metrics and
 * node-exporter, writing into the `system` tenant. The alert rules, the Alertmanager
 * configuration and the dashboards are pure functions of this package (`renderAlertRules`,
 * `renderAlertmanagerConfig`, `componentDashboards`), loaded through the tenant APIs.
 *
 * The collector and node-exporter need the host (pod log files, /proc, /sys), which Pod
 * Security `restricted` and `baseline` forbid: they run in a namespace of their own,
 * `<namespace>-node`, at `privileged`, where nothing else runs and every connection is denied
 * unless a policy below allows it. kube-state-metrics needs nothing of the host and stays in
 * the platform namespace.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  CLUSTER_DNS,
  checkCidrs,
  dnsEgress,
  labels,
  networkPolicy,
  podSecurityLabels,
  podsPeer,
  type ImageRef,
  type NetworkPeer,
  type ResourceSpec,
  type WorkloadSizing,
} from '@lookout/kube';
import { DEFAULT_NAMESPACE, nodeNamespaceOf, renderAlloyConfig, type AlloyConfigOptions } from './alloy-config.js';
import { ALLOY_SELECTOR, createAlloy } from './alloy-workload.js';
import { createKubeStateMetrics } from './kube-state-metrics.js';
import { createNodeExporter } from './node-exporter.js';

export interface SelfMonitoringArgs {
  /** Platform namespace, which must exist (default `lookout`). */
  namespace?: string;
  /**
   * Namespace for the collector and node-exporter, created here at Pod Security `privileged`
   * (default `<namespace>-node`).
   */
  nodeNamespace?: string;
  /**
   * Where the API server and the kubelets are: the cluster's node (VPC) and Service CIDRs, and
   * the control plane's if it is elsewhere. The collector and kube-state-metrics may connect
   * there on 443 (and 10250, the kubelet) and nowhere else outside the two namespaces.
   */
  clusterCidrs: readonly string[];
  /** The cluster DNS pods (default: `k8s-app: kube-dns` in `kube-system`). */
  dns?: NetworkPeer;
  /** The instance's domain; the certificate probe asks the gateway for `system.<domain>`. */
  domain: pulumi.Input<string>;
  /** Added as a `cluster` label to every series and log stream, when set. */
  cluster?: pulumi.Input<string>;
  images: { alloy: ImageRef; kubeStateMetrics: ImageRef; nodeExporter: ImageRef };
  sizing: {
    alloy: { resources: ResourceSpec };
    kubeStateMetrics: WorkloadSizing;
    nodeExporter: { resources: ResourceSpec };
  };
  /** Further collector settings (push URLs, gateway Service); see `AlloyConfigOptions`. */
  collector?: Omit<AlloyConfigOptions, 'domain' | 'namespace' | 'nodeNamespace' | 'cluster'>;
}

export class SelfMonitoring extends pulumi.ComponentResource {
  /** The collector's rendered configuration. */
  readonly alloyConfig: pulumi.Output<string>;
  readonly namespace: string;
  /** The namespace of the collector and node-exporter. */
  readonly nodeNamespace: string;

  constructor(name: string, args: SelfMonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    // Checked before anything is registered.
    if (!Array.isArray(args.clusterCidrs) || args.clusterCidrs.length === 0) {
      throw new Error('SelfMonitoring: clusterCidrs must list where the API server and the kubelets are (node and Service CIDRs)');
    }
    checkCidrs('SelfMonitoring: clusterCidrs', args.clusterCidrs);
    super('lookout:k8s:SelfMonitoring', name, {}, opts);
    const namespace = args.namespace ?? DEFAULT_NAMESPACE;
    const nodeNamespace = args.nodeNamespace ?? nodeNamespaceOf(namespace);
    const child = { parent: this };
    const dns = dnsEgress(args.dns ?? CLUSTER_DNS);

    this.namespace = namespace;
    this.nodeNamespace = nodeNamespace;
    const ns = new k8s.core.v1.Namespace(
      `${name}-node`,
      { metadata: { name: nodeNamespace, labels: { ...labels('self-monitoring', 'namespace'), ...podSecurityLabels('privileged') } } },
      child,
    );
    const inNodeNs = { parent: this, dependsOn: [ns] };
    this.alloyConfig = pulumi.all([args.domain, args.cluster]).apply(([domain, cluster]) =>
      renderAlloyConfig({ ...args.collector, domain, namespace, nodeNamespace, ...(cluster ? { cluster } : {}) }),
    );
    const alloy = createAlloy(
      name,
      {
        namespace: nodeNamespace,
        platformNamespace: namespace,
        clusterCidrs: args.clusterCidrs,
        dns,
        image: args.images.alloy,
        resources: args.sizing.alloy.resources,
        config: this.alloyConfig,
      },
      inNodeNs,
    );
    const exporter = createNodeExporter(
      name,
      { namespace: nodeNamespace, image: args.images.nodeExporter, resources: args.sizing.nodeExporter.resources, collectorSelector: ALLOY_SELECTOR },
      inNodeNs,
    );
    const ksm = createKubeStateMetrics(name, { namespace, clusterCidrs: args.clusterCidrs, image: args.images.kubeStateMetrics, sizing: args.sizing.kubeStateMetrics }, child);

    // The node namespace denies everything its own policies do not allow; created after them.
    networkPolicy(
      `${name}-node-default-deny`,
      { name: 'default-deny', namespace: nodeNamespace, app: 'self-monitoring', podSelector: {}, ingress: [], egress: [] },
      { parent: this, dependsOn: [ns, alloy.policy, exporter.policy] },
    );
    // The collector scrapes the platform's pods and pushes to its stores from the node namespace.
    networkPolicy(
      `${name}-collector-ingress`,
      { name: 'self-monitoring-collector', namespace, app: 'self-monitoring', podSelector: {}, ingress: [{ from: [podsPeer(ALLOY_SELECTOR, nodeNamespace)] }] },
      { parent: this, dependsOn: [ksm.policy] },
    );

    this.registerOutputs({ alloyConfig: this.alloyConfig, nodeNamespace });
  }
}
