/**
 * The collector: Grafana Alloy as a DaemonSet, one pod per node, with the RBAC it needs to
 * discover pods and nodes and to read the kubelet's metrics, and nothing more.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  checksumOf,
  imageString,
  labels,
  namespacePeer,
  networkPolicy,
  resources,
  restrictedContainerSecurityContext,
  selectorLabels,
  tcpPorts,
  type EgressRule,
  type ImageRef,
  type ResourceSpec,
} from '@lookout/kube';
import { ALLOY_HTTP_PORT, ALLOY_PATHS, METRICS_PORT_NAME, NODE_NAME_ENV } from './alloy-config.js';

export const ALLOY_APP = 'alloy';

/**
 * Exactly what the configuration uses: `discovery.kubernetes` watches pods and nodes, and the
 * kubelet authorizes `/metrics` and `/metrics/cadvisor` as `get` on `nodes/metrics`.
 */
export const ALLOY_RBAC_RULES: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> = [
  { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
];

/** Where positions and the WAL live on the node, so a restarted collector resumes where it stopped. */
export const ALLOY_HOST_STATE_DIR = '/var/lib/lookout/alloy';

/** Labels of the collector's pods. */
export const ALLOY_SELECTOR = selectorLabels(ALLOY_APP, 'collector');

/** The kubelet's port, which the collector scrapes on its node. */
const KUBELET_PORT = 10250;

export interface AlloyWorkloadArgs {
  /** The namespace it runs in (the node namespace: it needs host paths). */
  namespace: string;
  /** The platform namespace, whose pods it scrapes and where it pushes. */
  platformNamespace: string;
  /** Where the API server and the kubelets are: the cluster's node and Service CIDRs. */
  clusterCidrs: readonly string[];
  /** DNS, which every collector needs. */
  dns: EgressRule;
  image: ImageRef;
  resources: ResourceSpec;
  /** The rendered configuration (`renderAlloyConfig`). */
  config: pulumi.Input<string>;
}

export function createAlloy(name: string, args: AlloyWorkloadArgs, opts: pulumi.CustomResourceOptions) {
  const meta = labels(ALLOY_APP, 'collector', args.image.tag);
  const selector = ALLOY_SELECTOR;
  const clusterScopedName = `${args.namespace}-${ALLOY_APP}`;

  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-alloy`,
    { metadata: { name: ALLOY_APP, namespace: args.namespace, labels: meta } },
    opts,
  );
  const role = new k8s.rbac.v1.ClusterRole(
    `${name}-alloy`,
    { metadata: { name: clusterScopedName, labels: meta }, rules: ALLOY_RBAC_RULES },
    opts,
  );
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    `${name}-alloy`,
    {
      metadata: { name: clusterScopedName, labels: meta },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterScopedName },
      subjects: [{ kind: 'ServiceAccount', name: ALLOY_APP, namespace: args.namespace }],
    },
    { ...opts, dependsOn: [role, serviceAccount] },
  );
  const configMap = new k8s.core.v1.ConfigMap(
    `${name}-alloy`,
    { metadata: { name: ALLOY_APP, namespace: args.namespace, labels: meta }, data: { [ALLOY_PATHS.configFile]: args.config } },
    opts,
  );

  const daemonSet = new k8s.apps.v1.DaemonSet(
    `${name}-alloy`,
    {
      metadata: { name: ALLOY_APP, namespace: args.namespace, labels: meta },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: meta, annotations: { 'checksum/config': checksumOf(args.config) } },
          spec: {
            serviceAccountName: ALLOY_APP,
            // Container log files under /var/log/pods are owned by root with mode 0640, so
            // reading them needs uid 0. Root here holds no capabilities (all dropped), cannot
            // escalate, is not privileged, and sees the host only through read-only mounts of
            // the pod logs plus its own state directory.
            securityContext: { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' } },
            // Logs and metrics are needed from every node, tainted ones included.
            tolerations: [{ operator: 'Exists' }],
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: ALLOY_APP,
                image: imageString(args.image),
                args: [
                  'run',
                  `${ALLOY_PATHS.configDir}/${ALLOY_PATHS.configFile}`,
                  `--server.http.listen-addr=0.0.0.0:${ALLOY_HTTP_PORT}`,
                  `--storage.path=${ALLOY_PATHS.storage}`,
                  '--disable-reporting',
                ],
                env: [{ name: NODE_NAME_ENV, valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }],
                ports: [{ name: METRICS_PORT_NAME, containerPort: ALLOY_HTTP_PORT, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/-/ready', port: METRICS_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 5 },
                livenessProbe: {
                  httpGet: { path: '/-/ready', port: METRICS_PORT_NAME },
                  initialDelaySeconds: 30,
                  periodSeconds: 30,
                  timeoutSeconds: 5,
                  failureThreshold: 5,
                },
                resources: resources(args.resources),
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: [
                  { name: 'config', mountPath: ALLOY_PATHS.configDir, readOnly: true },
                  { name: 'pod-logs', mountPath: ALLOY_PATHS.podLogs, readOnly: true },
                  { name: 'state', mountPath: ALLOY_PATHS.storage },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'config', configMap: { name: ALLOY_APP } },
              { name: 'pod-logs', hostPath: { path: ALLOY_PATHS.podLogs, type: 'Directory' } },
              { name: 'state', hostPath: { path: ALLOY_HOST_STATE_DIR, type: 'DirectoryOrCreate' } },
              { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ],
          },
        },
      },
    },
    { ...opts, dependsOn: [configMap, binding] },
  );

  // The collector scrapes and pushes inside the cluster only: pods of both namespaces (metrics
  // ports, the distributor, Loki's write path, the gateway's TLS listener), the kubelets and
  // the API server. It is on the pod network, so the instance metadata service, which it never
  // needs, is out of reach (and stays out of reach of a compromised collector).
  const clusterAddresses = args.clusterCidrs.map((cidr) => ({ ipBlock: { cidr } }));
  const policy = networkPolicy(
    `${name}-alloy`,
    {
      name: ALLOY_APP,
      namespace: args.namespace,
      app: ALLOY_APP,
      podSelector: selector,
      egress: [
        args.dns,
        { to: [namespacePeer(args.namespace), namespacePeer(args.platformNamespace)] },
        ...(clusterAddresses.length > 0 ? [{ to: clusterAddresses, ports: tcpPorts(443, KUBELET_PORT) }] : []),
      ],
    },
    opts,
  );

  return { serviceAccount, role, binding, configMap, daemonSet, policy };
}
