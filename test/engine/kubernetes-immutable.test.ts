/**
 * Immutable fields of a StatefulSet, for real: the real Pulumi engine and Kubernetes provider
 * against a real API server (kwok) that refuses to update them. A change to one (the ingester's
 * volume claim size, which a newer bundle brings; its selector, which a newer component
 * brings) must be previewed as a replacement and applied as one, never met with a 422. A
 * Deployment's selector (the distributors') is checked the same way: there the provider's own
 * preview handles the API server's "field is immutable".
 *
 * The instance is created by the compiled CLI (bounded at system-alerting; see
 * test/support/kwok-instance.ts). The change is then made the way a newer lookout would make
 * it, in this process: a changed copy of the bundle, or a changed label of @lookout/kube
 * (mocked below). Such a change cannot reach the compiled CLI, so the suite runs the steps
 * `upgrade` runs, themselves: its engine preview of the platform stack (`preview:platform`,
 * what the user is shown before anything changes) and the platform step.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BundleManifest } from '../../src/bundle/manifest.js';
import type { KubeObject } from '../support/kube-client.js';
import { instanceContextFor, journalStepContext, kwokInstanceMissing, startKwokInstance, withInstanceEnv, type KwokInstance } from '../support/kwok-instance.js';
import { suiteTitle } from '../support/test-binaries.js';

/** A newer @lookout/kube whose pods of the Cortex components listed carry one more selector label. */
const selectorChange = vi.hoisted(() => ({ components: [] as string[], label: { 'app.kubernetes.io/instance': 'v2' } }));
vi.mock('@lookout/kube', async (importOriginal) => {
  const kube = await importOriginal<typeof import('@lookout/kube')>();
  const extra = (name: string, component: string) => (name === 'cortex' && selectorChange.components.includes(component) ? selectorChange.label : {});
  return {
    ...kube,
    selectorLabels: (name: string, component: string) => ({ ...kube.selectorLabels(name, component), ...extra(name, component) }),
    labels: (name: string, component: string, version?: string) => ({ ...kube.labels(name, component, version), ...extra(name, component) }),
  };
});

const missing = kwokInstanceMissing();
const title = suiteTitle('immutable StatefulSet fields replaced, not updated, by the real engine against a real API server', { paths: {}, ...(missing ? { missing } : {}) });

const INSTANCE = 'kwok-immutable';
const NAMESPACE = 'lookout';
const INGESTER = 'cortex-ingester';
const STATEFUL_SET = 'kubernetes:apps/v1:StatefulSet';

type StatefulSet = KubeObject & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    volumeClaimTemplates: Array<{ metadata: { name: string }; spec: { resources: { requests: { storage: string } } } }>;
  };
  status?: { readyReplicas?: number };
};
type Claim = KubeObject & { spec: { resources: { requests: { storage: string } } } };

describe.skipIf(Boolean(missing))(title, () => {
  let instance: KwokInstance;

  beforeAll(async () => {
    instance = await startKwokInstance({
      name: INSTANCE,
      domain: 'obs.immutable.test',
      tenants: [],
      buckets: { metrics: 'imm-metrics', logs: 'imm-logs', rules: 'imm-rules' },
    });
    await instance.createUntilAlerting();
  }, 1_500_000);

  afterAll(async () => {
    await instance?.stop();
  });

  /** The StatefulSets of that name in the platform namespace (there must be exactly one). */
  const ingesters = async () =>
    (await instance.cluster.kube.list<StatefulSet>(`/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`)).items.filter((s) => s.metadata.name === INGESTER);
  const ingesterClaims = async () =>
    (await instance.cluster.kube.list<Claim>(`/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims`)).items
      .filter((c) => c.metadata.name.includes(`-${INGESTER}-`))
      .map((c) => ({ name: c.metadata.name, uid: c.metadata.uid, storage: c.spec.resources.requests.storage }))
      .sort((a, b) => a.name.localeCompare(b.name));

  /**
   * `upgrade`'s preview of the platform stack, then (unless only previewing) its platform
   * step, with the given bundle. Returns the preview's lines as shown to the user.
   */
  async function upgradeWith(bundle: BundleManifest | undefined, o: { apply: boolean }): Promise<string[]> {
    return withInstanceEnv(instance, async () => {
      const [{ clusterPreviewStep }, { platformStep }] = await Promise.all([import('../../src/steps/cluster-preview.js'), import('../../src/steps/cluster-steps.js')]);
      const c = await instanceContextFor(instance, INSTANCE, bundle);
      const ctx = await journalStepContext(INSTANCE);
      await clusterPreviewStep(c).run(ctx);
      const lines = ctx.logged.flatMap((l) => l.message.split('\n'));
      if (o.apply) await platformStep(c).run(ctx);
      return lines;
    });
  }

  const statefulSetLines = (lines: string[], op: string) => lines.filter((l) => l.startsWith(`  ${op} ${STATEFUL_SET} `));

  /** The bundle the instance runs now: its own, with the ingester claim size the API server holds (a case may have grown it). */
  async function runningBundle(): Promise<BundleManifest> {
    const { loadBundle } = await import('../../src/bundle/manifest.js');
    const bundle = structuredClone(loadBundle((await withInstanceEnv(instance, () => instanceContextFor(instance, INSTANCE))).bundle.version));
    bundle.sizing.cortex.ingester.storage = (await ingesters())[0]!.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage;
    return bundle;
  }

  it('previews a bigger ingester volume claim as a replacement, applies it without a 422, and keeps the volumes', async () => {
    const [before] = await ingesters();
    const claimsBefore = await ingesterClaims();
    expect(claimsBefore.length, 'the ingesters have their volumes').toBe(before!.spec.replicas);
    const { loadBundle } = await import('../../src/bundle/manifest.js');
    const bundle = structuredClone(loadBundle((await withInstanceEnv(instance, () => instanceContextFor(instance, INSTANCE))).bundle.version));
    const size = Number(/^(\d+)Gi$/.exec(bundle.sizing.cortex.ingester.storage!)![1]);
    bundle.sizing.cortex.ingester.storage = `${size + 10}Gi`;

    const lines = await upgradeWith(bundle, { apply: true });
    // The preview: the ingester's StatefulSet is replaced, because of its claim template, and
    // said to be what it is; no StatefulSet is updated, none other replaced.
    expect(statefulSetLines(lines, 'replace'), lines.join('\n')).toEqual([
      expect.stringMatching(new RegExp(`^  replace ${STATEFUL_SET} ${INGESTER} \\(replaced because .*spec\\.volumeClaimTemplates.* changed\\)$`)),
    ]);
    expect(statefulSetLines(lines, 'update'), lines.join('\n')).toEqual([]);
    const flagged = lines[lines.findIndex((l) => l.includes(`StatefulSet ${INGESTER} (replaced`)) + 1]!;
    expect(flagged).toMatch(/^ {4}stateful: the StatefulSet is deleted and created again under its name: all its pods stop together/);
    expect(flagged).toMatch(/existing volumes are reattached as they are/);

    // Applied: exactly one ingester StatefulSet, a new object with the new claim size, Ready.
    const after = await ingesters();
    expect(after).toHaveLength(1);
    expect(after[0]!.metadata.uid).not.toBe(before!.metadata.uid);
    expect(after[0]!.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe(`${size + 10}Gi`);
    expect(after[0]!.status?.readyReplicas).toBe(after[0]!.spec.replicas);
    // The volumes are the same claims, reattached, at their old size, as the preview said.
    expect(await ingesterClaims()).toEqual(claimsBefore);

    // The state now matches: the same bundle previews no StatefulSet change at all.
    const again = await upgradeWith(bundle, { apply: false });
    expect(again.filter((l) => l.includes(STATEFUL_SET)), again.join('\n')).toEqual([]);
  }, 1_200_000);

  /**
   * Gives the listed Cortex components one more selector label, runs upgrade's preview and
   * platform step, and checks the API server then holds exactly one workload of that name: a
   * new object (the old one was deleted) with the new selector, Ready. Returns the preview.
   */
  async function changeSelector(components: string[], workload: () => Promise<StatefulSet[]>): Promise<string[]> {
    const [before] = await workload();
    selectorChange.components = components;
    try {
      const lines = await upgradeWith(await runningBundle(), { apply: true });
      const after = await workload();
      expect(after).toHaveLength(1);
      expect(after[0]!.metadata.uid).not.toBe(before!.metadata.uid);
      expect(after[0]!.spec.selector.matchLabels).toMatchObject(selectorChange.label);
      expect(after[0]!.status?.readyReplicas).toBe(after[0]!.spec.replicas);
      return lines;
    } finally {
      selectorChange.components = [];
    }
  }

  it('previews a changed ingester selector as a replacement and applies it without a 422', async () => {
    const lines = await changeSelector(['ingester'], ingesters);
    expect(statefulSetLines(lines, 'replace'), lines.join('\n')).toEqual([
      expect.stringMatching(new RegExp(`^  replace ${STATEFUL_SET} ${INGESTER} \\(replaced because .*spec\\.selector.* changed\\)$`)),
    ]);
    expect(statefulSetLines(lines, 'update'), lines.join('\n')).toEqual([]);
  }, 1_200_000);

  it('previews a changed Deployment selector (the distributors) as a replacement too, and applies it without a 422', async () => {
    const distributors = async () =>
      (await instance.cluster.kube.list<StatefulSet>(`/apis/apps/v1/namespaces/${NAMESPACE}/deployments`)).items.filter((d) => d.metadata.name === 'cortex-distributor');
    // The ingester keeps the selector the case above gave it (if it ran): only the distributor changes.
    const ingesterChanged = Boolean((await ingesters())[0]!.spec.selector.matchLabels['app.kubernetes.io/instance']);
    const lines = await changeSelector(ingesterChanged ? ['ingester', 'distributor'] : ['distributor'], distributors);
    expect(lines.filter((l) => l.startsWith('  replace ')), lines.join('\n')).toEqual([
      expect.stringMatching(/^ {2}replace kubernetes:apps\/v1:Deployment cortex-distributor \(replaced because .*spec\.selector.* changed\)$/),
    ]);
  }, 1_200_000);
});
