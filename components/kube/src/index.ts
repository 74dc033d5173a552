/**
 * Conventions every Lookout workload follows, in one place: how images are referenced, how
 * workloads are sized and labelled, the restricted security context, spreading over zones,
 * and disruption budgets. Components compose these instead of repeating them.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';

export const PART_OF = 'lookout';

/** An upstream release image. The digest, when known, pins the exact bytes. */
export interface ImageRef {
  repository: string;
  tag: string;
  digest?: string;
}

export function imageString(image: ImageRef): string {
  return `${image.repository}:${image.tag}${image.digest ? `@${image.digest}` : ''}`;
}

export interface ResourceSpec {
  requests: { cpu: string; memory: string };
  /** Memory is always limited; a CPU limit is optional (throttling hurts latency-sensitive stores). */
  limits: { cpu?: string; memory: string };
}

/** How one workload is sized: replicas, resources and, for stateful ones, volume size. */
export interface WorkloadSizing {
  replicas: number;
  resources: ResourceSpec;
  /** Persistent volume size for StatefulSets, e.g. `50Gi`. */
  storage?: string;
}

export function resources(spec: ResourceSpec): k8s.types.input.core.v1.ResourceRequirements {
  return { requests: { ...spec.requests }, limits: { ...spec.limits } };
}

/** The recommended labels; `selectorLabels` is the stable subset used in selectors. */
export function selectorLabels(name: string, component: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': PART_OF,
  };
}

export function labels(name: string, component: string, version?: string): Record<string, string> {
  return {
    ...selectorLabels(name, component),
    'app.kubernetes.io/managed-by': 'pulumi',
    ...(version ? { 'app.kubernetes.io/version': version.slice(0, 63).replace(/[^A-Za-z0-9._-]/g, '-') } : {}),
  };
}

/** Pod-level defaults of the `restricted` Pod Security Standard. */
export function restrictedPodSecurityContext(uid = 10001, fsGroup = uid): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup,
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level defaults of the `restricted` Pod Security Standard. */
export function restrictedContainerSecurityContext(readOnlyRootFilesystem = true): k8s.types.input.core.v1.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ['ALL'] },
  };
}

/**
 * Spread replicas over zones first, then nodes. Zones are a hard constraint only when asked
 * (replicated stores need one replica per zone to survive a zone outage).
 */
export function zoneSpread(
  selector: Record<string, string>,
  options: { hardZones?: boolean } = {},
): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: options.hardZones ? 'DoNotSchedule' : 'ScheduleAnyway',
      labelSelector: { matchLabels: selector },
    },
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selector },
    },
  ];
}

/**
 * A PodDisruptionBudget allowing one pod at a time to be evicted: node drains and upgrades
 * proceed, but never take down more than one replica of a store at once.
 */
export function disruptionBudget(
  name: string,
  args: { namespace: pulumi.Input<string>; selector: Record<string, string>; labels?: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): k8s.policy.v1.PodDisruptionBudget {
  return new k8s.policy.v1.PodDisruptionBudget(
    name,
    {
      metadata: { name, namespace: args.namespace, labels: args.labels ?? args.selector },
      spec: { maxUnavailable: 1, selector: { matchLabels: args.selector } },
    },
    opts,
  );
}

/**
 * A short hash of configuration content, put in a pod template annotation so that pods
 * restart when their (mounted) configuration changes.
 */
export function configChecksum(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** `pulumi.Input<string>` resolved for a checksum annotation. */
export function checksumOf(...parts: pulumi.Input<string>[]): pulumi.Output<string> {
  return pulumi.all(parts).apply((values) => configChecksum(...values));
}

/** In-cluster DNS name of a Service. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

export * from './object-storage.js';
export * from './network.js';
export * from './immutable-fields.js';
export * from './headless-service.js';
