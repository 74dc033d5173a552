/**
 * Checks for the Kubernetes objects a stack program renders under mocks: each one validated
 * against the Kubernetes OpenAPI schema (kubernetes-models), and the workload rules every
 * Lookout component follows (resources on every container, nothing privileged but
 * node-exporter, a PodDisruptionBudget for every workload that serves traffic).
 */
import { createRequire } from 'node:module';
import type { MockedResource } from '../../src/plan/mock-runtime.js';

const require = createRequire(import.meta.url);

/** `kubernetes:apps/v1:Deployment` → `{ apiVersion: 'apps/v1', kind: 'Deployment' }`. */
export function kubernetesTypeOf(type: string): { group: string; version: string; kind: string; apiVersion: string } | undefined {
  const m = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(type);
  if (!m) return undefined;
  const [, group, version, kind] = m as unknown as [string, string, string, string];
  return { group, version, kind, apiVersion: group === 'core' ? version : `${group}/${version}` };
}

/** Kubernetes objects among the mocked resources; `*Patch` resources are partial by design and skipped. */
export function kubernetesObjects(resources: readonly MockedResource[]): MockedResource[] {
  return resources.filter((r) => r.custom && kubernetesTypeOf(r.type) && !r.type.endsWith('Patch'));
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

function modelClass(apiVersion: string, kind: string): ModelClass {
  const dir = apiVersion.includes('/') ? apiVersion : `v1`;
  const mod = require(`kubernetes-models/${dir}/${kind}`) as Record<string, ModelClass>;
  const cls = mod[kind];
  if (!cls) throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return cls;
}

/** Validation errors per object, as `<Kind>/<name>: <message>`; empty when all are valid. */
export function validateKubernetesObjects(resources: readonly MockedResource[]): string[] {
  const problems: string[] = [];
  for (const r of kubernetesObjects(resources)) {
    const t = kubernetesTypeOf(r.type)!;
    const object = { ...r.inputs, apiVersion: t.apiVersion, kind: t.kind };
    try {
      new (modelClass(t.apiVersion, t.kind))(object).validate();
    } catch (err) {
      problems.push(`${t.kind}/${r.name}: ${(err as Error).message.split('\n').slice(0, 6).join(' ')}`);
    }
  }
  return problems;
}

type PodSpec = { containers?: Container[]; initContainers?: Container[]; securityContext?: Record<string, unknown> };
type Container = { name: string; resources?: { requests?: Record<string, string>; limits?: Record<string, string> }; securityContext?: { privileged?: boolean } };

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob']);

function podSpecOf(r: MockedResource): PodSpec | undefined {
  const kind = kubernetesTypeOf(r.type)?.kind;
  if (!kind || !WORKLOAD_KINDS.has(kind)) return undefined;
  if (kind === 'CronJob') return r.inputs.spec?.jobTemplate?.spec?.template?.spec;
  return r.inputs.spec?.template?.spec;
}

export function workloads(resources: readonly MockedResource[]): MockedResource[] {
  return kubernetesObjects(resources).filter((r) => podSpecOf(r) !== undefined);
}

/** Containers without requests and a memory limit, as `<Kind>/<name>/<container>`. */
export function containersWithoutResources(resources: readonly MockedResource[]): string[] {
  const out: string[] = [];
  for (const r of workloads(resources)) {
    const spec = podSpecOf(r)!;
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      const ok = c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory;
      if (!ok) out.push(`${kubernetesTypeOf(r.type)!.kind}/${r.name}/${c.name}`);
    }
  }
  return out;
}

/** Privileged containers outside node-exporter. */
export function unexpectedPrivilegedContainers(resources: readonly MockedResource[]): string[] {
  const out: string[] = [];
  for (const r of workloads(resources)) {
    const spec = podSpecOf(r)!;
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      if (c.securityContext?.privileged && !/node-exporter/.test(`${r.name}/${c.name}`)) {
        out.push(`${kubernetesTypeOf(r.type)!.kind}/${r.name}/${c.name}`);
      }
    }
  }
  return out;
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/**
 * Deployments and StatefulSets that a Service selects (they serve traffic) but that no
 * PodDisruptionBudget in the same namespace covers.
 */
export function servingWorkloadsWithoutPdb(resources: readonly MockedResource[]): string[] {
  const objects = kubernetesObjects(resources);
  const ofKind = (kind: string) => objects.filter((r) => kubernetesTypeOf(r.type)!.kind === kind);
  const services = ofKind('Service');
  const pdbs = ofKind('PodDisruptionBudget');
  const out: string[] = [];
  for (const w of [...ofKind('Deployment'), ...ofKind('StatefulSet')]) {
    const podLabels = w.inputs.spec?.template?.metadata?.labels as Record<string, string> | undefined;
    const ns = w.inputs.metadata?.namespace;
    const served = services.some((s) => s.inputs.metadata?.namespace === ns && matches(s.inputs.spec?.selector, podLabels));
    if (!served) continue;
    const covered = pdbs.some((p) => p.inputs.metadata?.namespace === ns && matches(p.inputs.spec?.selector?.matchLabels, podLabels));
    if (!covered) out.push(`${kubernetesTypeOf(w.type)!.kind}/${w.name}`);
  }
  return out;
}

const RESTRICTED_VOLUME_TYPES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

type SecurityContext = {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type?: string };
  capabilities?: { add?: string[]; drop?: string[] };
};

/**
 * Where a pod template breaks the Pod Security Standard of its level (the checks of the
 * Kubernetes `baseline` and `restricted` profiles that apply to what Lookout renders), as
 * `<Kind>/<name>: <problem>`; empty when it complies. `privileged` allows everything.
 */
export function podSecurityViolations(workload: MockedResource, level: 'privileged' | 'baseline' | 'restricted'): string[] {
  if (level === 'privileged') return [];
  const spec = podSpecOf(workload) as PodSpec & {
    hostNetwork?: boolean;
    hostPID?: boolean;
    hostIPC?: boolean;
    volumes?: Array<Record<string, unknown> & { name: string }>;
    securityContext?: SecurityContext;
  };
  const kind = kubernetesTypeOf(workload.type)!.kind;
  const out: string[] = [];
  const fail = (problem: string) => out.push(`${kind}/${workload.inputs.metadata?.name}: ${problem}`);
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Array<Container & { securityContext?: SecurityContext; ports?: Array<{ hostPort?: number }> }>;
  // baseline
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[field]) fail(field);
  for (const v of spec.volumes ?? []) if ('hostPath' in v) fail(`hostPath volume ${v.name}`);
  for (const c of containers) {
    if (c.securityContext?.privileged) fail(`${c.name} is privileged`);
    for (const cap of c.securityContext?.capabilities?.add ?? []) if (!BASELINE_CAPABILITIES.has(cap)) fail(`${c.name} adds ${cap}`);
    for (const p of c.ports ?? []) if (p.hostPort) fail(`${c.name} uses hostPort ${p.hostPort}`);
  }
  if (level === 'baseline') return out;
  // restricted
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) fail(`volume ${v.name} of type ${type}`);
  }
  const pod = spec.securityContext ?? {};
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) fail(`${c.name} may escalate privileges`);
    if (!(sc.runAsNonRoot ?? pod.runAsNonRoot)) fail(`${c.name} does not require a non-root user`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) fail(`${c.name} runs as uid 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') fail(`${c.name} has no RuntimeDefault seccomp profile`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(`${c.name} does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? []) if (cap !== 'NET_BIND_SERVICE') fail(`${c.name} adds ${cap}`);
  }
  return out;
}
