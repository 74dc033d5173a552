/**
 * Headless Services relabelled by the real Pulumi engine and Kubernetes provider against a real
 * API server (kwok): after each `up`, the stack's state must record each Service as the API
 * server holds it, so the next preview has nothing to change.
 *
 * The defect this guards against (issue 8, seen as a "phantom diff" after an upgrade): the
 * provider's await of a headless Service can hand back the copy its shared informer cached
 * before the apply, and the state then keeps the old labels and resourceVersion beside the
 * new inputs; every later preview lists an update of that Service. Lookout's headless Services
 * skip that await (@lookout/kube headlessService, where the mechanism is traced through the
 * provider's source). Several Services in one namespace, relabelled in one `up`, are what
 * makes the race likely: all but the first subscribe to an informer that is already running.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headlessService } from '@lookout/kube';
import { instancePaths } from '../../src/paths.js';
import { openStack } from '../../src/pulumi/workspace.js';
import { silentReporter } from '../../src/progress/events.js';
import { startEngineCluster, type EngineCluster } from '../support/engine-cluster.js';
import type { KubeObject } from '../support/kube-client.js';
import { kwokBinaries } from '../support/kwok-cluster.js';
import { engineBinaries } from '../support/pulumi-engine.js';
import { suiteTitle } from '../support/test-binaries.js';

const missing = [kwokBinaries(), engineBinaries()].map((b) => b.missing).filter(Boolean).join('; ');
const title = suiteTitle("headless Services' state after relabelling, with the real engine and a real API server", { paths: {}, ...(missing ? { missing } : {}) });

const PROJECT = 'lookout-headless-test';
const INSTANCE = 'engine-headless';
const STACK = 'h';
const NAMESPACE = 'headless';
const SERVICES = ['gossip-a', 'gossip-b', 'gossip-c', 'frontend-headless', 'backend-headless', 'store-headless'];
const VERSION_LABEL = 'app.kubernetes.io/version';
/** Relabellings after the create: each one another chance for the race. */
const ROUNDS = ['v2', 'v3', 'v4'];

/** The Services, declared the way the components declare theirs, at one version label. */
function program(kubeconfig: string, version: string) {
  return async () => {
    const provider = new k8s.Provider('k8s', { kubeconfig: pulumi.secret(kubeconfig), enableServerSideApply: true });
    const ns = new k8s.core.v1.Namespace('ns', { metadata: { name: NAMESPACE } }, { provider });
    for (const name of SERVICES) {
      headlessService(
        name,
        {
          metadata: { name, namespace: NAMESPACE, labels: { 'app.kubernetes.io/name': name, [VERSION_LABEL]: version } },
          spec: { publishNotReadyAddresses: true, selector: { 'app.kubernetes.io/name': name }, ports: [{ name: 'tcp', port: 7946, targetPort: 7946, protocol: 'TCP' }] },
        },
        { provider, dependsOn: [ns] },
      );
    }
  };
}

interface CheckpointResource {
  type: string;
  outputs?: { metadata?: { name?: string; resourceVersion?: string; labels?: Record<string, string> } };
}

/** Each Service's recorded live object in the stack's state file: name → resourceVersion and version label. */
function recordedServices(): Map<string, { resourceVersion?: string; version?: string }> {
  // The file backend's state of the stack (what `pulumi stack export` reads).
  const file = join(instancePaths(INSTANCE).pulumiState, '.pulumi', 'stacks', PROJECT, `${STACK}.json`);
  const state = JSON.parse(readFileSync(file, 'utf8')) as { checkpoint: { latest: { resources: CheckpointResource[] } } };
  return new Map(
    state.checkpoint.latest.resources
      .filter((r) => r.type === 'kubernetes:core/v1:Service')
      .map((r) => [r.outputs!.metadata!.name!, { resourceVersion: r.outputs!.metadata!.resourceVersion, version: r.outputs!.metadata!.labels?.[VERSION_LABEL] }]),
  );
}

describe.skipIf(Boolean(missing))(title, () => {
  let running: EngineCluster;
  const passphrase = `headless-test-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    // No LoadBalancer Service here: nothing for the harness's load-balancer controller to do.
    running = await startEngineCluster({ nodes: 1, loadBalancers: false, homePrefix: 'lookout-headless-home-' });
  }, 300_000);

  afterAll(async () => {
    await running?.stop();
  });

  const open = (version: string) =>
    openStack({
      instance: INSTANCE,
      project: PROJECT,
      stackName: STACK,
      program: program(readFileSync(running.cluster.kubeconfigPath, 'utf8'), version),
      passphrase,
      pulumiCommand: running.pulumiCommand,
      reporter: silentReporter,
      providerPackages: ['@pulumi/kubernetes'],
      // Kubernetes objects only: the provider adopts what a killed run created.
      importIds: {},
    });

  /** Each Service as the API server holds it: name → resourceVersion and version label. */
  async function liveServices(): Promise<Map<string, { resourceVersion?: string; version?: string }>> {
    const list = await running.cluster.kube.list<KubeObject & { metadata: { labels?: Record<string, string> } }>(`/api/v1/namespaces/${NAMESPACE}/services`);
    return new Map(list.items.map((s) => [s.metadata.name, { resourceVersion: String(s.metadata.resourceVersion), version: s.metadata.labels?.[VERSION_LABEL] }]));
  }

  it('records every relabelled headless Service as applied, so the next preview changes nothing', async () => {
    await (await open('v1')).up();
    expect([...(await liveServices()).keys()].sort()).toEqual([...SERVICES].sort());
    for (const version of ROUNDS) {
      // The relabelling, as the preview shows it: an update of each Service's metadata (the
      // provider names the property only in its detailed diff).
      const planned = await (await open(version)).preview();
      expect((planned.steps ?? []).map((st) => [st.objectName, st.op, st.diffs]).sort()).toEqual(SERVICES.map((name) => [name, 'update', ['metadata']]).sort());
      await (await open(version)).up();
      const live = await liveServices();
      for (const name of SERVICES) expect(live.get(name)?.version, `${name} in the API server`).toBe(version);
      // The state holds the object the API server holds: its labels and its resourceVersion.
      expect(recordedServices(), `the state after relabelling to ${version}`).toEqual(live);
      // Hence nothing to do: every resource of the preview is the same.
      const preview = await (await open(version)).preview();
      expect(Object.keys(preview.changes).filter((op) => op !== 'same'), `the preview after relabelling to ${version}`).toEqual([]);
      expect(preview.steps ?? []).toEqual([]);
    }
  }, 600_000);
});
