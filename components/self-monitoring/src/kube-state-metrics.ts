/**
 * kube-state-metrics, limited to the object kinds the platform's dashboards and alerts use, so
 * its ClusterRole can list and watch those kinds only.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  disruptionBudget,
  imageString,
  labels,
  networkPolicy,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  zoneSpread,
  type ImageRef,
  type WorkloadSizing,
} from '@lookout/kube';
import { KUBE_STATE_METRICS_APP, METRICS_PORT_NAME } from './alloy-config.js';
const METRICS_PORT = 8080;
const TELEMETRY_PORT = 8081;
const NOBODY = 65534;

/** Object kinds exported (`--resources`), grouped by API group for the ClusterRole. */
export const KUBE_STATE_METRICS_RESOURCES: Record<string, string[]> = {
  '': ['nodes', 'persistentvolumeclaims', 'pods'],
  apps: ['daemonsets', 'deployments', 'statefulsets'],
  policy: ['poddisruptionbudgets'],
};

export interface KubeStateMetricsArgs {
  namespace: string;
  /** Where the API server is: the cluster's node (endpoint) and Service CIDRs. */
  clusterCidrs: readonly string[];
  image: ImageRef;
  sizing: WorkloadSizing;
}

export function createKubeStateMetrics(name: string, args: KubeStateMetricsArgs, opts: pulumi.CustomResourceOptions) {
  const meta = labels(KUBE_STATE_METRICS_APP, 'exporter', args.image.tag);
  const selector = selectorLabels(KUBE_STATE_METRICS_APP, 'exporter');
  const clusterScopedName = `${args.namespace}-${KUBE_STATE_METRICS_APP}`;
  const kinds = Object.values(KUBE_STATE_METRICS_RESOURCES).flat().sort();

  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-kube-state-metrics`,
    { metadata: { name: KUBE_STATE_METRICS_APP, namespace: args.namespace, labels: meta } },
    opts,
  );
  const role = new k8s.rbac.v1.ClusterRole(
    `${name}-kube-state-metrics`,
    {
      metadata: { name: clusterScopedName, labels: meta },
      rules: Object.entries(KUBE_STATE_METRICS_RESOURCES).map(([apiGroup, kinds]) => ({
        apiGroups: [apiGroup],
        resources: kinds,
        verbs: ['list', 'watch'],
      })),
    },
    opts,
  );
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-kube-state-metrics`,
    {
      metadata: { name: clusterScopedName, labels: meta },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterScopedName },
      subjects: [{ kind: 'ServiceAccount', name: KUBE_STATE_METRICS_APP, namespace: args.namespace }],
    },
    { ...opts, dependsOn: [role, serviceAccount] },
  );

  const deployment = new k8s.apps.v1.Deployment(
    `${name}-kube-state-metrics`,
    {
      metadata: { name: KUBE_STATE_METRICS_APP, namespace: args.namespace, labels: meta },
      spec: {
        replicas: args.sizing.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: meta },
          spec: {
            serviceAccountName: KUBE_STATE_METRICS_APP,
            securityContext: restrictedPodSecurityContext(NOBODY),
            topologySpreadConstraints: zoneSpread(selector),
            containers: [
              {
                name: KUBE_STATE_METRICS_APP,
                image: imageString(args.image),
                args: [`--port=${METRICS_PORT}`, `--telemetry-port=${TELEMETRY_PORT}`, `--resources=${kinds.join(',')}`],
                ports: [
                  { name: METRICS_PORT_NAME, containerPort: METRICS_PORT, protocol: 'TCP' },
                  { name: 'telemetry', containerPort: TELEMETRY_PORT, protocol: 'TCP' },
                ],
                livenessProbe: { httpGet: { path: '/healthz', port: METRICS_PORT_NAME }, initialDelaySeconds: 5, timeoutSeconds: 5 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'telemetry' }, initialDelaySeconds: 5, timeoutSeconds: 5 },
                resources: resources(args.sizing.resources),
                securityContext: restrictedContainerSecurityContext(),
              },
            ],
          },
        },
      },
    },
    { ...opts, dependsOn: [binding] },
  );
  const service = new k8s.core.v1.Service(
    `${name}-kube-state-metrics`,
    {
      metadata: { name: KUBE_STATE_METRICS_APP, namespace: args.namespace, labels: meta },
      spec: {
        selector,
        ports: [{ name: METRICS_PORT_NAME, port: METRICS_PORT, targetPort: METRICS_PORT_NAME, protocol: 'TCP' }],
      },
    },
    opts,
  );
  const pdb = disruptionBudget(`${name}-kube-state-metrics`, { namespace: args.namespace, selector, labels: meta }, opts);

  // It talks to the API server only (DNS aside, by the namespace's default).
  const policy = networkPolicy(
    `${name}-kube-state-metrics`,
    {
      name: KUBE_STATE_METRICS_APP,
      namespace: args.namespace,
      app: KUBE_STATE_METRICS_APP,
      podSelector: selector,
      egress: args.clusterCidrs.length > 0 ? [{ to: args.clusterCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }] }] : [],
    },
    opts,
  );

  return { serviceAccount, role, binding, deployment, service, pdb, policy };
}
