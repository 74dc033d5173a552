/**
 * node-exporter on every node, laid out so that it cannot obtain the node role's credentials:
 * on the pod network (no `hostNetwork`, no `hostPID`, no `hostPort`), as nobody with every
 * capability dropped, with read-only views of the host's /proc, /sys and root filesystem, no
 * service account token, and a NetworkPolicy that denies it every egress. See the package
 * README ("node-exporter and the instance metadata service") for why this layout, and not the
 * host network.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  imageString,
  labels,
  networkPolicy,
  podsPeer,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  tcpPorts,
  type ImageRef,
  type ResourceSpec,
} from '@lookout/kube';
import { METRICS_PORT_NAME } from './alloy-config.js';

export const NODE_EXPORTER_APP = 'node-exporter';
export const NODE_EXPORTER_PORT = 9100;
const NOBODY = 65534;
/** Pod network interfaces (veth pairs, a VPC CNI's `eni*`) would add a series set per pod. */
const POD_INTERFACES = '^(veth.*|eni.*|[a-f0-9]{15})$';

/**
 * Collectors that read per-network-namespace files (`/proc/net/*`, `/proc/sys/net/*`) or a
 * netlink socket: off the host network they would describe the pod's own namespace, so they are
 * off. The node's interfaces are still seen through /sys (`netclass`, sysfs keeps the host's
 * network namespace), and their traffic through the kubelet's cAdvisor (the root cgroup, `id="/"`).
 */
export const NODE_EXPORTER_DISABLED_COLLECTORS = ['arp', 'conntrack', 'ipvs', 'netdev', 'netstat', 'nfs', 'nfsd', 'sockstat', 'udp_queues'] as const;

export interface NodeExporterArgs {
  namespace: string;
  image: ImageRef;
  resources: ResourceSpec;
  /** Labels of the collector's pods, the only ones that may scrape it. */
  collectorSelector: Record<string, string>;
}

export function createNodeExporter(name: string, args: NodeExporterArgs, opts: pulumi.CustomResourceOptions) {
  const meta = labels(NODE_EXPORTER_APP, 'exporter', args.image.tag);
  const selector = selectorLabels(NODE_EXPORTER_APP, 'exporter');
  const host = [
    { name: 'proc', hostPath: '/proc', mountPath: '/host/proc' },
    { name: 'sys', hostPath: '/sys', mountPath: '/host/sys' },
    { name: 'root', hostPath: '/', mountPath: '/host/root' },
  ];
  // Scraped by the collector; it connects to nothing, the instance metadata service included.
  // This holds because the pod is on the pod network: NetworkPolicies do not apply to
  // host-network pods.
  const policy = networkPolicy(
    `${name}-node-exporter`,
    {
      name: NODE_EXPORTER_APP,
      namespace: args.namespace,
      app: NODE_EXPORTER_APP,
      podSelector: selector,
      ingress: [{ from: [podsPeer(args.collectorSelector)], ports: tcpPorts(NODE_EXPORTER_PORT) }],
      egress: [],
    },
    opts,
  );
  const daemonSet = new k8s.apps.v1.DaemonSet(
    `${name}-node-exporter`,
    {
      metadata: { name: NODE_EXPORTER_APP, namespace: args.namespace, labels: meta },
      spec: {
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: {
          metadata: { labels: meta },
          spec: {
            // It reads nothing from the API server.
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(NOBODY),
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: NODE_EXPORTER_APP,
                image: imageString(args.image),
                args: [
                  // The host's procfs: system-wide counters (CPU, memory, disks, pressure) and
                  // the host's mounts (1/mountinfo) for the filesystem collector.
                  '--path.procfs=/host/proc',
                  '--path.sysfs=/host/sys',
                  '--path.rootfs=/host/root',
                  `--web.listen-address=:${NODE_EXPORTER_PORT}`,
                  '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)',
                  `--collector.netclass.ignored-devices=${POD_INTERFACES}`,
                  ...NODE_EXPORTER_DISABLED_COLLECTORS.map((c) => `--no-collector.${c}`),
                ],
                ports: [{ name: METRICS_PORT_NAME, containerPort: NODE_EXPORTER_PORT, protocol: 'TCP' }],
                readinessProbe: { httpGet: { path: '/', port: METRICS_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 5 },
                livenessProbe: { httpGet: { path: '/', port: METRICS_PORT_NAME }, initialDelaySeconds: 10, periodSeconds: 30, timeoutSeconds: 5 },
                resources: resources(args.resources),
                securityContext: restrictedContainerSecurityContext(),
                volumeMounts: host.map((m) => ({
                  name: m.name,
                  mountPath: m.mountPath,
                  readOnly: true,
                  // Mounts made on the host later (new volumes) become visible too.
                  ...(m.name === 'root' ? { mountPropagation: 'HostToContainer' } : {}),
                })),
              },
            ],
            volumes: host.map((m) => ({ name: m.name, hostPath: { path: m.hostPath } })),
          },
        },
      },
    },
    opts,
  );
  return { daemonSet, policy };
}
