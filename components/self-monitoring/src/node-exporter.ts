/**
 * node-exporter on every node. It needs the host's network and PID namespaces and read-only
 * views of /proc, /sys and the root filesystem, but no privilege: it runs as nobody with every
 * capability dropped.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import {
  imageString,
  labels,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  type ImageRef,
  type ResourceSpec,
} from '@lookout/kube';
import { METRICS_PORT_NAME } from './alloy-config.js';

export const NODE_EXPORTER_APP = 'node-exporter';
const PORT = 9100;
const NOBODY = 65534;
/** Pod network interfaces (veth pairs, a VPC CNI's `eni*`) would add a series set per pod. */
const POD_INTERFACES = '^(veth.*|eni.*|[a-f0-9]{15})$';

export interface NodeExporterArgs {
  namespace: string;
  image: ImageRef;
  resources: ResourceSpec;
}

export function createNodeExporter(name: string, args: NodeExporterArgs, opts: pulumi.CustomResourceOptions) {
  const meta = labels(NODE_EXPORTER_APP, 'exporter', args.image.tag);
  const selector = selectorLabels(NODE_EXPORTER_APP, 'exporter');
  const host = [
    { name: 'proc', hostPath: '/proc', mountPath: '/host/proc' },
    { name: 'sys', hostPath: '/sys', mountPath: '/host/sys' },
    { name: 'root', hostPath: '/', mountPath: '/host/root' },
  ];
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
            hostNetwork: true,
            hostPID: true,
            securityContext: restrictedPodSecurityContext(NOBODY),
            tolerations: [{ operator: 'Exists' }],
            containers: [
              {
                name: NODE_EXPORTER_APP,
                image: imageString(args.image),
                args: [
                  '--path.procfs=/host/proc',
                  '--path.sysfs=/host/sys',
                  '--path.rootfs=/host/root',
                  `--web.listen-address=:${PORT}`,
                  '--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|run/containerd/.+|var/lib/docker/.+|var/lib/kubelet/.+)($|/)',
                  `--collector.netclass.ignored-devices=${POD_INTERFACES}`,
                  `--collector.netdev.device-exclude=${POD_INTERFACES}`,
                ],
                ports: [{ name: METRICS_PORT_NAME, containerPort: PORT, hostPort: PORT, protocol: 'TCP' }],
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
  return { daemonSet };
}
