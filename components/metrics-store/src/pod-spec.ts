/**
 * The pod template every Cortex workload shares: one container running `-target=<component>`
 * against the shared config file, the restricted security context with a read-only root
 * filesystem, and `/data` and `/tmp` as the only writable paths.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import {
  imageString,
  labels,
  objectStorageEnv,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  zoneSpread,
  type ImageRef,
  type ObjectStorageConnection,
  type WorkloadSizing,
} from '@lookout/kube';
import {
  APP_NAME,
  COMPONENT_LAYOUT,
  CONFIG_MAP,
  GOSSIP_LABEL,
  GOSSIP_PORT,
  GRPC_PORT,
  HTTP_PORT,
  HTTP_PORT_NAME,
  OVERRIDES_EXPORTER,
  PATHS,
  RUNTIME_CONFIG_MAP,
  SERVICE_ACCOUNTS,
  type CortexComponent,
} from './layout.js';

/** The volume that holds a component's state: a PVC for StatefulSets, an emptyDir otherwise. */
export const DATA_VOLUME = 'data';

/** Labels a Service or PodDisruptionBudget selects one component's pods by. */
export function componentSelector(component: CortexComponent): Record<string, string> {
  return selectorLabels(APP_NAME, COMPONENT_LAYOUT[component].target);
}

/** Every Cortex pod joins the memberlist cluster behind the gossip Service. */
export function gossipSelector(): Record<string, string> {
  return { 'app.kubernetes.io/name': APP_NAME, [GOSSIP_LABEL.key]: GOSSIP_LABEL.value };
}

export interface PodTemplateArgs {
  component: CortexComponent;
  image: ImageRef;
  sizing: WorkloadSizing;
  /** `checksum/config` annotation: pods roll when the (non-runtime) config changes. */
  configChecksum: pulumi.Input<string>;
  /** Where the buckets are: S3 keys from a Secret reach the container as environment variables. */
  storage: ObjectStorageConnection;
}

function container(args: PodTemplateArgs): k8s.types.input.core.v1.Container {
  const { target } = COMPONENT_LAYOUT[args.component];
  return {
    name: target,
    image: imageString(args.image),
    imagePullPolicy: 'IfNotPresent',
    args: [`-target=${target}`, `-config.file=${PATHS.configFile}`, ...(COMPONENT_LAYOUT[args.component].args ?? [])],
    // S3 keys from a Secret only where a bucket is used.
    ...(COMPONENT_LAYOUT[args.component].identity ? withEnv(objectStorageEnv(args.storage)) : {}),
    ports: [
      { name: HTTP_PORT_NAME, containerPort: HTTP_PORT, protocol: 'TCP' },
      { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
      { name: 'gossip', containerPort: GOSSIP_PORT, protocol: 'TCP' },
    ],
    resources: resources(args.sizing.resources),
    securityContext: restrictedContainerSecurityContext(true),
    // `/ready` turns false while an ingester replays its WAL or a store-gateway loads index
    // headers: Services stop sending traffic, nothing restarts.
    readinessProbe: { httpGet: { path: '/ready', port: HTTP_PORT_NAME }, initialDelaySeconds: 15, periodSeconds: 10, timeoutSeconds: 2 },
    // The HTTP server answers long before the component is ready, so liveness only asks
    // "is the process serving", never "is the ring healthy": a WAL replay must not be killed.
    livenessProbe: { tcpSocket: { port: HTTP_PORT_NAME }, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 6 },
    volumeMounts: [
      { name: 'config', mountPath: PATHS.configDir, readOnly: true },
      { name: 'runtime-config', mountPath: PATHS.runtimeConfigDir, readOnly: true },
      { name: DATA_VOLUME, mountPath: PATHS.data },
      { name: 'tmp', mountPath: PATHS.tmp },
    ],
  };
}

/** An `env` field only when there is something in it, so containers without one stay as they were. */
function withEnv(env: k8s.types.input.core.v1.EnvVar[]): { env?: k8s.types.input.core.v1.EnvVar[] } {
  return env.length > 0 ? { env } : {};
}

/** Labels the overrides exporter's pods carry and are selected by. */
export function overridesExporterSelector(): Record<string, string> {
  return selectorLabels(APP_NAME, OVERRIDES_EXPORTER.target);
}

export interface OverridesExporterTemplateArgs {
  image: ImageRef;
  sizing: WorkloadSizing;
  configChecksum: pulumi.Input<string>;
}

/**
 * The overrides exporter's pod: the shared config (Cortex parses and validates all of it
 * whatever the target) and the runtime config it exports, re-read in place like everywhere
 * else. It touches no bucket, so it runs without the `cortex` ServiceAccount and its pod
 * identity, and without an API token; it joins no memberlist ring, so it has no gossip port
 * or label.
 */
export function overridesExporterPodTemplate(args: OverridesExporterTemplateArgs): k8s.types.input.core.v1.PodTemplateSpec {
  return {
    metadata: {
      labels: labels(APP_NAME, OVERRIDES_EXPORTER.target, args.image.tag),
      annotations: { 'checksum/config': args.configChecksum },
    },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: restrictedPodSecurityContext(),
      terminationGracePeriodSeconds: OVERRIDES_EXPORTER.terminationGracePeriodSeconds,
      containers: [
        {
          name: OVERRIDES_EXPORTER.target,
          image: imageString(args.image),
          imagePullPolicy: 'IfNotPresent',
          args: [`-target=${OVERRIDES_EXPORTER.target}`, `-config.file=${PATHS.configFile}`],
          ports: [{ name: HTTP_PORT_NAME, containerPort: HTTP_PORT, protocol: 'TCP' }],
          resources: resources(args.sizing.resources),
          securityContext: restrictedContainerSecurityContext(true),
          readinessProbe: { httpGet: { path: '/ready', port: HTTP_PORT_NAME }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 2 },
          livenessProbe: { tcpSocket: { port: HTTP_PORT_NAME }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 6 },
          volumeMounts: [
            { name: 'config', mountPath: PATHS.configDir, readOnly: true },
            { name: 'runtime-config', mountPath: PATHS.runtimeConfigDir, readOnly: true },
            { name: 'tmp', mountPath: PATHS.tmp },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: CONFIG_MAP } },
        { name: 'runtime-config', configMap: { name: RUNTIME_CONFIG_MAP } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
    },
  };
}

export function podTemplate(args: PodTemplateArgs): k8s.types.input.core.v1.PodTemplateSpec {
  const layout = COMPONENT_LAYOUT[args.component];
  const selector = componentSelector(args.component);
  const volumes: k8s.types.input.core.v1.Volume[] = [
    { name: 'config', configMap: { name: CONFIG_MAP } },
    { name: 'runtime-config', configMap: { name: RUNTIME_CONFIG_MAP } },
    { name: 'tmp', emptyDir: {} },
  ];
  // StatefulSets get `data` from their volumeClaimTemplates instead.
  if (layout.kind === 'Deployment') volumes.push({ name: DATA_VOLUME, emptyDir: {} });
  return {
    metadata: {
      labels: { ...labels(APP_NAME, layout.target, args.image.tag), [GOSSIP_LABEL.key]: GOSSIP_LABEL.value },
      annotations: { 'checksum/config': args.configChecksum },
    },
    spec: {
      // Workloads with a bucket run as their identity's account: the workload identity is bound
      // to it, and its token stays mounted (the default), as reports disagree on whether every
      // cloud's pod identity agent works without it. The others touch no bucket and call no
      // Kubernetes API: no account of theirs, no token.
      ...(layout.identity ? { serviceAccountName: SERVICE_ACCOUNTS[layout.identity] } : { automountServiceAccountToken: false }),
      enableServiceLinks: false,
      securityContext: restrictedPodSecurityContext(),
      terminationGracePeriodSeconds: layout.terminationGracePeriodSeconds,
      topologySpreadConstraints: zoneSpread(selector, { hardZones: layout.hardZoneSpread && args.sizing.replicas >= 3 }),
      containers: [container(args)],
      volumes,
    },
  };
}
