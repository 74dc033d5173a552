/**
 * @lookout/kube's StatefulSet replacement (src/immutable-fields.ts) under Pulumi's mocks: the
 * options every StatefulSet gets, and the annotation that leaves the provider's dry run out
 * of a preview exactly when the immutable fields differ from the deployed ones.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { withKubernetesMocks } from '../../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../../src/plan/mock-runtime.js';
import {
  deployedImmutableFields,
  IMMUTABLE_FIELDS_ANNOTATION,
  immutableFieldsHash,
  STATEFUL_SET_TYPE,
  statefulSetReplacement,
  type DeployedResource,
} from '@lookout/kube';

const SPEC = {
  serviceName: 'gossip',
  podManagementPolicy: 'Parallel',
  replicas: 3,
  selector: { matchLabels: { 'app.kubernetes.io/name': 'cortex', 'app.kubernetes.io/component': 'ingester' } },
  template: {
    metadata: { labels: { 'app.kubernetes.io/name': 'cortex', 'app.kubernetes.io/component': 'ingester' } },
    spec: { containers: [{ name: 'ingester', image: 'quay.io/cortexproject/cortex:v1.21.1' }] },
  },
  volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '50Gi' } } } }],
};

interface Seen {
  opts: pulumi.CustomResourceOptions;
  annotation: pulumi.Output<string>;
}

/** Registers one StatefulSet (and one Deployment) under the transformation; returns what each carried to the engine. */
async function register(spec: typeof SPEC, o: { preview: boolean; deployed?: Map<string, string> }): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  await runProgramUnderMocks(
    async () => {
      pulumi.runtime.registerStackTransformation(statefulSetReplacement(() => o.deployed ?? new Map()));
      // Registered after it, so it sees what the engine would.
      pulumi.runtime.registerStackTransformation((args) => {
        const metadata = (args.props as { metadata?: { annotations?: Record<string, pulumi.Output<string>> } }).metadata;
        seen.set(args.type, { opts: args.opts as pulumi.CustomResourceOptions, annotation: metadata?.annotations?.[IMMUTABLE_FIELDS_ANNOTATION] as pulumi.Output<string> });
        return undefined;
      });
      new k8s.apps.v1.StatefulSet('ingester', { metadata: { name: 'cortex-ingester', namespace: 'lookout', labels: { a: 'b' } }, spec });
      new k8s.apps.v1.Deployment('distributor', { metadata: { name: 'cortex-distributor', namespace: 'lookout' }, spec: { selector: spec.selector, template: spec.template } });
      return {};
    },
    { project: 'immutable', stack: 'test', behaviour: withKubernetesMocks({}), preview: o.preview },
  );
  return seen;
}

const known = (o: pulumi.Output<string>) => (o as unknown as { isKnown: Promise<boolean> }).isKnown;
const valueOf = (o: pulumi.Output<string>) => new Promise<string>((resolve) => o.apply((v) => resolve(v)));

describe('StatefulSet replacement on immutable fields', () => {
  it('gives every StatefulSet delete-before-replace, replacement on its immutable fields, and their hash; other kinds are left alone', async () => {
    const seen = await register(SPEC, { preview: false });
    const statefulSet = seen.get(STATEFUL_SET_TYPE)!;
    expect(statefulSet.opts.deleteBeforeReplace).toBe(true);
    expect(statefulSet.opts.replaceOnChanges).toEqual(['spec.selector', 'spec.serviceName', 'spec.volumeClaimTemplates', 'spec.podManagementPolicy']);
    expect(await valueOf(statefulSet.annotation)).toBe(immutableFieldsHash(SPEC));
    const deployment = seen.get('kubernetes:apps/v1:Deployment')!;
    expect(deployment.opts.deleteBeforeReplace).toBeUndefined();
    expect(deployment.annotation).toBeUndefined();
  });

  it('refuses a StatefulSet whose volumes would be deleted with it', () => {
    const transform = statefulSetReplacement();
    const args = (spec: object) => ({ type: STATEFUL_SET_TYPE, name: 'ingester', props: { metadata: { name: 'cortex-ingester' }, spec }, opts: {}, resource: undefined as never });
    expect(() => transform(args({ ...SPEC, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } }))).toThrow(
      /persistentVolumeClaimRetentionPolicy\.whenDeleted must stay Retain/,
    );
    expect(transform(args({ ...SPEC, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } }))?.opts).toMatchObject({ deleteBeforeReplace: true });
  });

  it('hashes only the immutable fields, whatever their key order', () => {
    const base = immutableFieldsHash(SPEC);
    expect(immutableFieldsHash({ ...SPEC, replicas: 5, template: { ...SPEC.template, metadata: { labels: {} } } })).toBe(base);
    expect(immutableFieldsHash({ volumeClaimTemplates: SPEC.volumeClaimTemplates, selector: SPEC.selector, podManagementPolicy: 'Parallel', serviceName: 'gossip' })).toBe(base);
    const bigger = structuredClone(SPEC);
    bigger.volumeClaimTemplates[0]!.spec.resources.requests.storage = '60Gi';
    expect(immutableFieldsHash(bigger)).not.toBe(base);
    expect(immutableFieldsHash({ ...SPEC, selector: { matchLabels: { ...SPEC.selector.matchLabels, extra: 'x' } } })).not.toBe(base);
    expect(immutableFieldsHash({ ...SPEC, serviceName: 'other' })).not.toBe(base);
  });

  it('reads the deployed hashes from a stack state by namespace and name, ignoring other kinds and resources pending deletion', () => {
    const state: DeployedResource[] = [
      { type: STATEFUL_SET_TYPE, inputs: { metadata: { name: 'cortex-ingester', namespace: 'lookout' }, spec: SPEC } },
      { type: STATEFUL_SET_TYPE, inputs: { metadata: { name: 'old' , namespace: 'lookout' }, spec: SPEC }, delete: true },
      { type: 'kubernetes:apps/v1:Deployment', inputs: { metadata: { name: 'cortex-distributor', namespace: 'lookout' }, spec: SPEC } },
      { type: STATEFUL_SET_TYPE, inputs: { metadata: { name: 'bare' }, spec: SPEC } },
    ];
    expect([...deployedImmutableFields(state)]).toEqual([
      ['lookout/cortex-ingester', immutableFieldsHash(SPEC)],
      ['default/bare', immutableFieldsHash(SPEC)],
    ]);
  });

  it('in a preview, leaves the hash unknown exactly when the immutable fields differ from the deployed ones', async () => {
    const deployed = new Map([['lookout/cortex-ingester', immutableFieldsHash(SPEC)]]);
    // Unchanged: known, so the preview shows no change.
    const same = await register(SPEC, { preview: true, deployed });
    expect(await known(same.get(STATEFUL_SET_TYPE)!.annotation)).toBe(true);
    // A new claim size: unknown in the preview (the provider then skips its dry run over the live object)…
    const bigger = structuredClone(SPEC);
    bigger.volumeClaimTemplates[0]!.spec.resources.requests.storage = '60Gi';
    const previewed = await register(bigger, { preview: true, deployed });
    expect(await known(previewed.get(STATEFUL_SET_TYPE)!.annotation)).toBe(false);
    // …and the new hash in the update that applies it.
    const applied = await register(bigger, { preview: false, deployed });
    expect(await valueOf(applied.get(STATEFUL_SET_TYPE)!.annotation)).toBe(immutableFieldsHash(bigger));
    // Nothing deployed yet (a new stack): a create, previewed by the provider as usual.
    const fresh = await register(bigger, { preview: true });
    expect(await known(fresh.get(STATEFUL_SET_TYPE)!.annotation)).toBe(true);
  });
});
