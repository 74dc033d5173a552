/**
 * The platform watching itself: the collector (Grafana Alloy), kube-state-metrics and
 * node-exporter, writing into the `system` tenant. The alert rules, the Alertmanager
 * configuration and the dashboards are pure functions of this package (`renderAlertRules`,
 * `renderAlertmanagerConfig`, `componentDashboards`), loaded through the tenant APIs.
 */
import * as pulumi from '@pulumi/pulumi';
import type { ImageRef, ResourceSpec, WorkloadSizing } from '@lookout/kube';
import { DEFAULT_NAMESPACE, renderAlloyConfig, type AlloyConfigOptions } from './alloy-config.js';
import { createAlloy } from './alloy-workload.js';
import { createKubeStateMetrics } from './kube-state-metrics.js';
import { createNodeExporter } from './node-exporter.js';

export interface SelfMonitoringArgs {
  /** Platform namespace, which must exist (default `lookout`). */
  namespace?: string;
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
  collector?: Omit<AlloyConfigOptions, 'domain' | 'namespace' | 'cluster'>;
}

export class SelfMonitoring extends pulumi.ComponentResource {
  /** The collector's rendered configuration. */
  readonly alloyConfig: pulumi.Output<string>;
  readonly namespace: string;

  constructor(name: string, args: SelfMonitoringArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('lookout:k8s:SelfMonitoring', name, {}, opts);
    const namespace = args.namespace ?? DEFAULT_NAMESPACE;
    const child = { parent: this };

    this.namespace = namespace;
    this.alloyConfig = pulumi.all([args.domain, args.cluster]).apply(([domain, cluster]) =>
      renderAlloyConfig({ ...args.collector, domain, namespace, ...(cluster ? { cluster } : {}) }),
    );
    createAlloy(name, { namespace, image: args.images.alloy, resources: args.sizing.alloy.resources, config: this.alloyConfig }, child);
    createKubeStateMetrics(name, { namespace, image: args.images.kubeStateMetrics, sizing: args.sizing.kubeStateMetrics }, child);
    createNodeExporter(name, { namespace, image: args.images.nodeExporter, resources: args.sizing.nodeExporter.resources }, child);

    this.registerOutputs({ alloyConfig: this.alloyConfig });
  }
}
