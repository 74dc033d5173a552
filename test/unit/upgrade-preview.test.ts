/**
 * The upgrade's preview of the platform stack, from the engine's step events: what each
 * resource undergoes and why, with the stateful workloads flagged for what protects their data.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '@pulumi/pulumi/automation/index.js';
import { previewStepOf } from '../../src/pulumi/workspace.js';
import { previewStacks, renderEngineDiff } from '../../src/steps/cluster-preview.js';

const URN = 'urn:pulumi:prod-platform::lookout-platform::lookout:MetricsStore$kubernetes:apps/v1:StatefulSet::metrics-ingester';

function pre(op: string, type: string, urn: string, name: string, extra: { diffs?: string[]; keys?: string[]; detailedDiff?: Record<string, { kind: string; inputDiff: boolean }> } = {}): EngineEvent {
  return {
    sequence: 1,
    timestamp: 0,
    resourcePreEvent: { metadata: { op, urn, type, provider: '', new: { type, urn, custom: true, delete: false, id: '', parent: '', protect: false, inputs: { metadata: { name } }, outputs: {}, provider: '' }, ...extra } },
  } as unknown as EngineEvent;
}

describe('the engine diff of the platform stack', () => {
  it('keeps changes with their reasons and drops unchanged resources', () => {
    expect(previewStepOf(pre('same', 'kubernetes:core/v1:Service', URN, 'cortex-ingester'))).toBeUndefined();
    expect(previewStepOf(pre('update', 'kubernetes:apps/v1:StatefulSet', URN, 'cortex-ingester', { diffs: ['spec'] }))).toEqual({
      op: 'update',
      urn: URN,
      type: 'kubernetes:apps/v1:StatefulSet',
      diffs: ['spec'],
      replaceKeys: [],
      objectName: 'cortex-ingester',
    });
  });

  it("names the changed properties of a provider that reports only a detailed diff (the Kubernetes provider's)", () => {
    const detailedDiff = {
      'metadata.labels["app.kubernetes.io/version"]': { kind: 'update', inputDiff: false },
      'spec.template.spec.containers[0].image': { kind: 'update', inputDiff: false },
      'metadata.annotations["checksum/config"]': { kind: 'update', inputDiff: false },
    };
    expect(previewStepOf(pre('update', 'kubernetes:apps/v1:StatefulSet', URN, 'cortex-ingester', { diffs: [], detailedDiff }))?.diffs).toEqual(['metadata', 'spec']);
    // Changed keys, when the provider gives them, are taken as they are.
    expect(previewStepOf(pre('update', 'kubernetes:apps/v1:StatefulSet', URN, 'cortex-ingester', { diffs: ['spec'], detailedDiff }))?.diffs).toEqual(['spec']);
  });

  it('flags an updated ingester as a rolling replacement protected by WAL and replication, and asks only for a replacement', () => {
    const update = renderEngineDiff('prod-platform', [
      previewStepOf(pre('update', 'kubernetes:apps/v1:StatefulSet', URN, 'cortex-ingester', { diffs: ['spec'] }))!,
      previewStepOf(pre('update', 'kubernetes:core/v1:ConfigMap', URN.replace('StatefulSet::metrics-ingester', 'ConfigMap::loki-config'), 'loki-config', { diffs: ['data'] }))!,
    ]);
    expect(update.lines).toEqual([
      'Stack prod-platform: 2 to update.',
      '  update kubernetes:apps/v1:StatefulSet cortex-ingester (spec)',
      '    stateful: rolling replacement of its pods, one at a time, volumes kept; protected by WAL on its volume, replication factor 3: a restarting ingester replays its WAL, and the other two hold every series',
      '  update kubernetes:core/v1:ConfigMap loki-config (data)',
    ]);
    expect(update.destructive).toBe(false);

    const replace = renderEngineDiff('prod-platform', [
      previewStepOf(pre('replace', 'kubernetes:apps/v1:StatefulSet', URN, 'loki-write', { keys: ['spec.volumeClaimTemplates'], diffs: ['spec'] }))!,
      previewStepOf(pre('create-replacement', 'kubernetes:apps/v1:StatefulSet', URN, 'loki-write'))!,
      previewStepOf(pre('delete-replaced', 'kubernetes:apps/v1:StatefulSet', URN, 'loki-write'))!,
    ]);
    expect(replace.lines[0]).toBe('Stack prod-platform: 1 to replace.');
    expect(replace.lines[1]).toBe('  replace kubernetes:apps/v1:StatefulSet loki-write (replaced because spec.volumeClaimTemplates changed)');
    expect(replace.lines[2]).toMatch(/^ {4}stateful: the StatefulSet is deleted and created again under its name: all its pods stop together .*existing volumes are reattached as they are .*WAL on its volume, replication factor 3/);
    expect(replace.destructive).toBe(true);
  });

  it('says when nothing changes', () => {
    expect(renderEngineDiff('prod-platform', [])).toEqual({ lines: ['Stack prod-platform: no changes.'], destructive: false });
  });
});

describe('the engine diff of every cluster stack, tenants included', () => {
  const TENANT_URN = 'urn:pulumi:prod-tenant-acme::lookout-tenant::lookout:Tenant$kubernetes:apps/v1:Deployment::grafana';
  it('shows each stack in order, the platform first, with its own diff; a replaced tenant workload asks; removed tenants are named', async () => {
    const previewed: string[] = [];
    const stack = (name: string, events: EngineEvent[]) => ({
      stack: name,
      preview: async () => {
        previewed.push(name);
        return events.map((e) => previewStepOf(e)).filter((s) => s !== undefined);
      },
    });
    const result = await previewStacks(
      [
        stack('prod-platform', [pre('update', 'kubernetes:core/v1:ConfigMap', URN.replace('StatefulSet::metrics-ingester', 'ConfigMap::loki-config'), 'loki-config', { diffs: ['data'] })]),
        stack('prod-tenant-system', [pre('same', 'kubernetes:core/v1:Namespace', TENANT_URN, 'tenant-system')]),
        stack('prod-tenant-acme', [
          pre('update', 'kubernetes:apps/v1:Deployment', TENANT_URN, 'grafana', { diffs: ['spec'] }),
          pre('replace', 'kubernetes:core/v1:PersistentVolumeClaim', TENANT_URN.replace('Deployment::grafana', 'PersistentVolumeClaim::grafana'), 'grafana', { keys: ['spec.storageClassName'], diffs: ['spec'] }),
        ]),
      ],
      ['prod-tenant-gone'],
    );
    expect(previewed).toEqual(['prod-platform', 'prod-tenant-system', 'prod-tenant-acme']);
    expect(result.lines).toEqual([
      'Stack prod-platform: 1 to update.',
      '  update kubernetes:core/v1:ConfigMap loki-config (data)',
      'Stack prod-tenant-system: no changes.',
      'Stack prod-tenant-acme: 1 to update, 1 to replace.',
      '  update kubernetes:apps/v1:Deployment grafana (spec)',
      '  replace kubernetes:core/v1:PersistentVolumeClaim grafana (replaced because spec.storageClassName changed)',
      'Stack prod-tenant-gone: destroyed with its tenant, after the platform is applied.',
    ]);
    expect(result.destructive).toBe(true);
    expect(result.changes).toEqual({ 'prod-platform': { update: 1 }, 'prod-tenant-system': {}, 'prod-tenant-acme': { update: 1, replace: 1 } });
  });

  it('previews up to `concurrency` stacks at once and still shows them in the order given', async () => {
    let running = 0;
    let most = 0;
    const finished: string[] = [];
    // Each waits until the other of its pair has started; the second of each pair ends first.
    const stack = (name: string, turns: number) => ({
      stack: name,
      preview: async () => {
        running += 1;
        most = Math.max(most, running);
        for (let i = 0; i < turns || running < 2; i++) {
          if (i > 10_000) break;
          await new Promise((r) => setImmediate(r));
        }
        running -= 1;
        finished.push(name);
        return [previewStepOf(pre('update', 'kubernetes:apps/v1:Deployment', TENANT_URN.replace('prod-tenant-acme', name), 'grafana', { diffs: ['spec'] }))!];
      },
    });
    const result = await previewStacks([stack('prod-tenant-a', 20), stack('prod-tenant-b', 1), stack('prod-tenant-c', 20), stack('prod-tenant-d', 1)], [], 2);
    expect(most).toBe(2);
    expect(finished.indexOf('prod-tenant-b')).toBeLessThan(finished.indexOf('prod-tenant-a'));
    expect(result.lines.filter((l) => l.startsWith('Stack '))).toEqual(['a', 'b', 'c', 'd'].map((t) => `Stack prod-tenant-${t}: 1 to update.`));
  });

  it('asks nothing when no stack replaces or deletes', async () => {
    const result = await previewStacks([{ stack: 'prod-tenant-acme', preview: async () => [previewStepOf(pre('update', 'kubernetes:apps/v1:Deployment', TENANT_URN, 'grafana', { diffs: ['spec'] }))!] }]);
    expect(result.destructive).toBe(false);
    expect(result.lines).toEqual(['Stack prod-tenant-acme: 1 to update.', '  update kubernetes:apps/v1:Deployment grafana (spec)']);
  });
});

describe('the offline preview of a bundle upgrade', () => {
  it('flags exactly the stateful workloads whose pods roll, with what protects their data, and lists the migration', async () => {
    const [{ pendingUpgrade, previewLines }, { parseConfigText }] = await Promise.all([import('../../src/commands/upgrade.js'), import('../../src/config/load.js')]);
    const yaml = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: obs.example.com\n';
    const config = { ...parseConfigText(yaml, 'x.yaml', { provider: 'aws', name: 'prod' }), bundle: '2026.11.0' };
    const record = { name: 'prod', bundle: '2026.11.0', config } as never;
    const lines = previewLines(pendingUpgrade(record, { ...config, bundle: '2026.12.0' }));
    const stateful = lines.slice(lines.indexOf('Stateful workloads:') + 1, lines.indexOf('Migrations:'));
    expect(stateful.map((l) => l.trim().split(':')[0])).toEqual(['cortex-ingester', 'cortex-store-gateway', 'cortex-compactor', 'cortex-alertmanager', 'loki-write', 'loki-backend']);
    expect(stateful[0]).toMatch(/rolling replacement of its pods, one at a time .*what protects the data: WAL on its volume, replication factor 3/);
    expect(stateful[4]).toMatch(/loki-write: .*WAL on its volume, replication factor 3, chunks flushed on shutdown/);
    expect(lines).toContain('  cortex: v1.19.1 → v1.21.1');
    expect(lines.some((l) => l.startsWith('    upstream: tag v1.21.1'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^ {2}loki-ruler-storage \(bundle 2026\.12\.0, required\): /);

    // Same volume sizes in both bundles: nothing is replaced.
    expect(lines.some((l) => l.includes('replaced, not rolled'))).toBe(false);

    // A config change on the same bundle rolls no stateful workload and runs no migration.
    const same = previewLines(pendingUpgrade(record, { ...config, dns: { ...config.dns, domain: 'obs2.example.com' } }));
    expect(same).not.toContain('Stateful workloads:');
    expect(same).not.toContain('Migrations:');
  });
});

describe('the offline preview of a bundle that changes a volume size', () => {
  it('flags that stateful workload as replaced (not rolled), with what happens to its existing volumes', async () => {
    const [{ statefulReplacements, statefulRollouts }, { loadBundle }] = await Promise.all([import('../../src/commands/upgrade-diff.js'), import('../../src/bundle/manifest.js')]);
    const from = loadBundle('2026.12.0');
    const to = structuredClone(from);
    to.sizing.cortex.ingester.storage = '80Gi';
    const replaced = statefulReplacements(from, to);
    expect(replaced.map((r) => [r.workload, r.from, r.to])).toEqual([['cortex-ingester', from.sizing.cortex.ingester.storage, '80Gi']]);
    expect(replaced[0]!.line).toMatch(/^ {2}cortex-ingester: replaced, not rolled .*deleted and created again under its name, all its pods stop together; /);
    expect(replaced[0]!.line).toContain(`its existing volumes are reattached and keep ${from.sizing.cortex.ingester.storage}, volumes created from now on get 80Gi`);
    // A replaced workload is not also announced as a rolling update.
    const rollouts = statefulRollouts({ components: [{ component: 'cortex', from: 'a', to: 'b' }] }, false, ['cortex-ingester']);
    expect(rollouts.map((l) => l.trim().split(':')[0])).toEqual(['cortex-store-gateway', 'cortex-compactor', 'cortex-alertmanager']);
    expect(statefulReplacements(from, structuredClone(from))).toEqual([]);
  });
});
