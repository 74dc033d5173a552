import { configChecksum, imageString } from '@lookout/kube';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleManifestSchema } from '../../../src/bundle/manifest.js';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';
import {
  containersWithoutResources,
  kubernetesTypeOf,
  servingWorkloadsWithoutPdb,
  unexpectedPrivilegedContainers,
  validateKubernetesObjects,
  workloads,
} from '../../../test/support/kubernetes.js';
import { ALLOY_RBAC_RULES, ALLOY_SELECTOR, METRICS_PORT_NAME, NODE_EXPORTER_DISABLED_COLLECTORS, SelfMonitoring, renderAlloyConfig } from '../src/index.js';

const DOMAIN = 'obs.example.com';
const CLUSTER_CIDRS = ['10.0.0.0/16', '172.20.0.0/16'];
// Read directly: `loadBundle` resolves `bundles/` relative to the compiled dist/ layout.
const bundle = bundleManifestSchema.parse(JSON.parse(readFileSync(new URL('../../../bundles/2026.11.0.json', import.meta.url), 'utf8')));

const T = {
  component: 'lookout:k8s:SelfMonitoring',
  serviceAccount: 'kubernetes:core/v1:ServiceAccount',
  clusterRole: 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRole',
  clusterRoleBinding: 'kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding',
  configMap: 'kubernetes:core/v1:ConfigMap',
  daemonSet: 'kubernetes:apps/v1:DaemonSet',
  deployment: 'kubernetes:apps/v1:Deployment',
  service: 'kubernetes:core/v1:Service',
  pdb: 'kubernetes:policy/v1:PodDisruptionBudget',
  namespace: 'kubernetes:core/v1:Namespace',
  networkPolicy: 'kubernetes:networking.k8s.io/v1:NetworkPolicy',
};

let resources: MockedResource[];

beforeAll(async () => {
  const run = await runProgramUnderMocks(
    async () => {
      const c = bundle.components;
      new SelfMonitoring('self-monitoring', {
        domain: DOMAIN,
        clusterCidrs: CLUSTER_CIDRS,
        images: { alloy: c.alloy.image, kubeStateMetrics: c.kubeStateMetrics.image, nodeExporter: c.nodeExporter.image },
        sizing: { alloy: bundle.sizing.alloy, kubeStateMetrics: bundle.sizing.kubeStateMetrics, nodeExporter: bundle.sizing.nodeExporter },
      });
      return {};
    },
    { project: 'lookout-test', stack: 'self-monitoring' },
  );
  resources = run.resources;
});

const ofType = (type: string) => resources.filter((r) => r.type === type);
const named = (type: string, name: string) => {
  const found = ofType(type).filter((r) => r.inputs.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
  return found[0]!;
};
const podSpec = (w: MockedResource) => w.inputs.spec.template.spec;

describe('SelfMonitoring under mocks', () => {
  it('renders a small, fixed set of resources, all children of the component', () => {
    const counts: Record<string, number> = {};
    for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    expect(counts).toEqual({
      [T.component]: 1,
      [T.serviceAccount]: 2,
      [T.clusterRole]: 2,
      [T.clusterRoleBinding]: 2,
      [T.configMap]: 1,
      [T.daemonSet]: 2,
      [T.deployment]: 1,
      [T.service]: 1,
      [T.pdb]: 1,
      [T.namespace]: 1,
      [T.networkPolicy]: 5,
    });
    for (const r of resources.filter((x) => x.custom)) expect(r.parentType, r.name).toBe(T.component);
  });

  it('renders only objects valid against the Kubernetes schemas', () => {
    expect(validateKubernetesObjects(resources)).toEqual([]);
  });

  it('sets requests and a memory limit on every container, from the bundle', () => {
    expect(containersWithoutResources(resources)).toEqual([]);
    const sizing = {
      alloy: bundle.sizing.alloy.resources,
      'kube-state-metrics': bundle.sizing.kubeStateMetrics.resources,
      'node-exporter': bundle.sizing.nodeExporter.resources,
    };
    for (const w of workloads(resources)) {
      const [container] = podSpec(w).containers;
      expect(container.resources, w.inputs.metadata.name).toEqual(sizing[w.inputs.metadata.name as keyof typeof sizing]);
    }
  });

  it('runs the images the bundle pins', () => {
    const images = workloads(resources).map((w) => podSpec(w).containers[0].image).sort();
    const c = bundle.components;
    expect(images).toEqual([imageString(c.alloy.image), imageString(c.kubeStateMetrics.image), imageString(c.nodeExporter.image)].sort());
  });

  it('runs nothing privileged, not even node-exporter, and nothing that can escalate', () => {
    expect(unexpectedPrivilegedContainers(resources)).toEqual([]);
    for (const w of workloads(resources)) {
      const spec = podSpec(w);
      expect(spec.securityContext.seccompProfile, w.name).toEqual({ type: 'RuntimeDefault' });
      for (const c of spec.containers) {
        expect(c.securityContext, `${w.name}/${c.name}`).toEqual({
          allowPrivilegeEscalation: false,
          privileged: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.livenessProbe, `${w.name}/${c.name}`).toBeDefined();
        expect(c.readinessProbe, `${w.name}/${c.name}`).toBeDefined();
      }
    }
  });

  it('runs as root only in the collector, which must read root-owned pod logs, and read-only', () => {
    const rootPods = workloads(resources).filter((w) => podSpec(w).securityContext.runAsNonRoot !== true);
    expect(rootPods.map((w) => w.inputs.metadata.name)).toEqual(['alloy']);
    const alloy = podSpec(rootPods[0]!);
    expect(alloy.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false });
    expect(alloy.hostNetwork).toBeUndefined();
    expect(alloy.hostPID).toBeUndefined();
    const mounts = Object.fromEntries(alloy.containers[0].volumeMounts.map((m: { name: string }) => [m.name, m]));
    const volumes = Object.fromEntries(alloy.volumes.map((v: { name: string }) => [v.name, v]));
    expect(volumes['pod-logs'].hostPath).toEqual({ path: '/var/log/pods', type: 'Directory' });
    expect(mounts['pod-logs']).toEqual({ name: 'pod-logs', mountPath: '/var/log/pods', readOnly: true });
    // The only writable host path is the collector's own state directory.
    const writableHostPaths = alloy.containers[0].volumeMounts
      .filter((m: { name: string; readOnly?: boolean }) => volumes[m.name].hostPath && !m.readOnly)
      .map((m: { name: string }) => volumes[m.name].hostPath.path);
    expect(writableHostPaths).toEqual(['/var/lib/lookout/alloy']);
    for (const w of workloads(resources).filter((x) => x !== rootPods[0])) {
      expect(podSpec(w).securityContext, w.name).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    }
  });

  it('runs node-exporter off the host network, with read-only host mounts and no token: it cannot reach the instance metadata service', () => {
    const daemonSet = named(T.daemonSet, 'node-exporter');
    const spec = podSpec(daemonSet);
    // NetworkPolicies do not apply to host-network pods, and the metadata service's hop limit
    // does not stop them: on the pod network, both do.
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.hostPID).toBeUndefined();
    expect(spec.automountServiceAccountToken).toBe(false);
    const container = spec.containers[0];
    expect(container.ports).toEqual([{ name: METRICS_PORT_NAME, containerPort: 9100, protocol: 'TCP' }]);
    const mounts = container.volumeMounts;
    expect(mounts.map((m: { mountPath: string }) => m.mountPath).sort()).toEqual(['/host/proc', '/host/root', '/host/sys']);
    for (const m of mounts) expect(m.readOnly, m.mountPath).toBe(true);
    // What would describe the pod's own network namespace instead of the node's is off.
    for (const c of NODE_EXPORTER_DISABLED_COLLECTORS) expect(container.args).toContain(`--no-collector.${c}`);
    for (const c of ['cpu', 'meminfo', 'filesystem', 'netclass']) expect(container.args.join(' ')).not.toContain(`--no-collector.${c}`);
    // It may send nothing at all; only the collector may scrape it.
    const policy = named(T.networkPolicy, 'node-exporter').inputs;
    expect(policy.metadata.namespace).toBe('lookout-node');
    expect(policy.spec.podSelector).toEqual(daemonSet.inputs.spec.selector);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([]);
    expect(policy.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: ALLOY_SELECTOR } }], ports: [{ protocol: 'TCP', port: 9100 }] }]);
  });

  it('puts what needs the host in a namespace of its own, at Pod Security privileged, where everything else is denied', () => {
    const ns = named(T.namespace, 'lookout-node');
    expect(ns.inputs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.inputs.metadata.labels['pod-security.kubernetes.io/audit']).toBe('baseline');
    expect(workloads(resources).map((w) => [w.inputs.metadata.name, w.inputs.metadata.namespace]).sort()).toEqual([
      ['alloy', 'lookout-node'],
      ['kube-state-metrics', 'lookout'],
      ['node-exporter', 'lookout-node'],
    ]);
    const deny = named(T.networkPolicy, 'default-deny').inputs;
    expect(deny.metadata.namespace).toBe('lookout-node');
    expect(deny.spec).toEqual({ podSelector: { matchLabels: {} }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
  });

  it('lets the collector reach the cluster and nothing outside it, and into the platform namespace', () => {
    const alloy = named(T.networkPolicy, 'alloy').inputs;
    expect(alloy.metadata.namespace).toBe('lookout-node');
    expect(alloy.spec.policyTypes).toEqual(['Egress']);
    const peers = alloy.spec.egress.flatMap((r: { to: unknown[] }) => r.to);
    // DNS, the two namespaces' pods, and the API server and kubelets in the cluster's CIDRs.
    expect(peers).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lookout' } } });
    expect(peers).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lookout-node' } } });
    const blocks = peers.filter((p: { ipBlock?: unknown }) => p.ipBlock).map((p: { ipBlock: { cidr: string } }) => p.ipBlock.cidr);
    expect(blocks).toEqual(CLUSTER_CIDRS);
    expect(alloy.spec.egress.find((r: { to: Array<{ ipBlock?: unknown }> }) => r.to[0]?.ipBlock).ports.map((p: { port: number }) => p.port)).toEqual([443, 10250]);
    const ingress = named(T.networkPolicy, 'self-monitoring-collector').inputs;
    expect(ingress.metadata.namespace).toBe('lookout');
    expect(ingress.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: ALLOY_SELECTOR }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lookout-node' } } }] },
    ]);
    const ksm = named(T.networkPolicy, 'kube-state-metrics').inputs;
    expect(ksm.spec.egress).toEqual([{ to: CLUSTER_CIDRS.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  it('refuses to run without the CIDRs of the API server and kubelets', () => {
    const c = bundle.components;
    const base = {
      domain: DOMAIN,
      images: { alloy: c.alloy.image, kubeStateMetrics: c.kubeStateMetrics.image, nodeExporter: c.nodeExporter.image },
      sizing: { alloy: bundle.sizing.alloy, kubeStateMetrics: bundle.sizing.kubeStateMetrics, nodeExporter: bundle.sizing.nodeExporter },
    };
    expect(() => new SelfMonitoring('x', { ...base, clusterCidrs: [] })).toThrow(/clusterCidrs must list where the API server/);
    expect(() => new SelfMonitoring('x', { ...base, clusterCidrs: ['10.0.0.0/33'] })).toThrow(/clusterCidrs must be IPv4 or IPv6 CIDRs/);
  });

  it('gives kube-state-metrics a PodDisruptionBudget, and no serving workload goes without one', () => {
    expect(servingWorkloadsWithoutPdb(resources)).toEqual([]);
    const deployment = named(T.deployment, 'kube-state-metrics');
    const [pdb] = ofType(T.pdb);
    expect(pdb!.inputs.metadata.namespace).toBe('lookout');
    expect(pdb!.inputs.spec.selector.matchLabels).toEqual(deployment.inputs.spec.selector.matchLabels);
    expect(deployment.inputs.spec.replicas).toBe(bundle.sizing.kubeStateMetrics.replicas);
    const service = named(T.service, 'kube-state-metrics');
    expect(service.inputs.spec.ports).toEqual([{ name: METRICS_PORT_NAME, port: 8080, targetPort: METRICS_PORT_NAME, protocol: 'TCP' }]);
  });

  it('grants minimal RBAC: no wildcards, kube-state-metrics only lists and watches, the collector only what its config uses', () => {
    for (const role of ofType(T.clusterRole)) {
      for (const rule of role.inputs.rules) {
        for (const field of ['verbs', 'resources', 'apiGroups']) expect(rule[field], `${role.inputs.metadata.name} ${field}`).not.toContain('*');
        expect(rule.verbs.every((v: string) => ['get', 'list', 'watch'].includes(v)), role.inputs.metadata.name).toBe(true);
      }
    }
    const ksm = named(T.clusterRole, 'lookout-kube-state-metrics');
    for (const rule of ksm.inputs.rules) expect(rule.verbs).toEqual(['list', 'watch']);
    const ksmKinds = ksm.inputs.rules.flatMap((r: { resources: string[] }) => r.resources).sort();
    const args: string[] = podSpec(named(T.deployment, 'kube-state-metrics')).containers[0].args;
    expect(args).toContain(`--resources=${ksmKinds.join(',')}`);

    expect(named(T.clusterRole, 'lookout-node-alloy').inputs.rules).toEqual(ALLOY_RBAC_RULES);
    expect(ALLOY_RBAC_RULES.flatMap((r) => r.resources)).not.toContain('secrets');

    for (const binding of ofType(T.clusterRoleBinding)) {
      const role = binding.inputs.roleRef.name;
      expect(ofType(T.clusterRole).map((r) => r.inputs.metadata.name)).toContain(role);
      const [subject] = binding.inputs.subjects;
      expect(ofType(T.serviceAccount).some((sa) => sa.inputs.metadata.name === subject.name && sa.inputs.metadata.namespace === subject.namespace)).toBe(true);
    }
  });

  it('mounts the rendered collector configuration and rolls the pods when it changes', () => {
    const config = renderAlloyConfig({ domain: DOMAIN, namespace: 'lookout' });
    const configMap = named(T.configMap, 'alloy');
    expect(configMap.inputs.data).toEqual({ 'config.alloy': config });
    const ds = named(T.daemonSet, 'alloy');
    expect(ds.inputs.spec.template.metadata.annotations['checksum/config']).toBe(configChecksum(config));
    const spec = podSpec(ds);
    expect(spec.serviceAccountName).toBe('alloy');
    expect(spec.containers[0].env).toEqual([{ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }]);
    expect(spec.containers[0].args.slice(0, 2)).toEqual(['run', '/etc/alloy/config.alloy']);
  });

  it('exposes metrics of its own pods on the port named http-metrics, so the collector scrapes them', () => {
    for (const w of workloads(resources)) {
      const ports = podSpec(w).containers.flatMap((c: { ports?: Array<{ name: string }> }) => c.ports ?? []);
      expect(ports.map((p: { name: string }) => p.name), w.name).toContain(METRICS_PORT_NAME);
      expect(w.inputs.spec.template.metadata.labels['app.kubernetes.io/name'], w.name).toBe(w.inputs.metadata.name);
    }
  });

  it('runs the DaemonSets on every node, tainted ones included', () => {
    for (const ds of ofType(T.daemonSet)) expect(podSpec(ds).tolerations, ds.name).toEqual([{ operator: 'Exists' }]);
    expect(kubernetesTypeOf(T.daemonSet)?.kind).toBe('DaemonSet');
  });
});
