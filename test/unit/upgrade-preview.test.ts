/**
 * The upgrade's preview of the platform stack, from the engine's step events: what each
 * resource undergoes and why, with the stateful workloads flagged for what protects their data.
 */
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '@pulumi/pulumi/automation/index.js';
import { previewStepOf } from '../../src/pulumi/workspace.js';
import { renderEngineDiff } from '../../src/steps/cluster-preview.js';

const URN = 'urn:pulumi:prod-platform::lookout-platform::lookout:MetricsStore$kubernetes:apps/v1:StatefulSet::metrics-ingester';

function pre(op: string, type: string, urn: string, name: string, extra: { diffs?: string[]; keys?: string[] } = {}): EngineEvent {
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
    expect(replace.lines[2]).toMatch(/^ {4}stateful: the StatefulSet is deleted and created again; its volumes are kept .*WAL on its volume, replication factor 3/);
    expect(replace.destructive).toBe(true);
  });

  it('says when nothing changes', () => {
    expect(renderEngineDiff('prod-platform', [])).toEqual({ lines: ['Stack prod-platform: no changes.'], destructive: false });
  });
});
