/**
 * The platform stack registers @lookout/kube's StatefulSet replacement for every StatefulSet
 * of every component, and feeds it the stack's deployed state (PlatformArgs.deployed): a
 * changed immutable field is previewed as a replacement of that StatefulSet alone.
 */
import { describe, expect, it } from 'vitest';
import { IMMUTABLE_FIELDS_ANNOTATION, immutableFieldsHash, STATEFUL_SET_TYPE, type DeployedResource } from '@lookout/kube';
import { loadBundle } from '../../src/bundle/manifest.js';
import { loadConfig } from '../../src/config/load.js';
import { withKubernetesMocks } from '../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../src/plan/mock-runtime.js';
import { awsClusterLayers } from '../../src/providers/aws/cluster.js';
import { createAwsMockBehaviour } from '../../src/providers/aws/mocks.js';
import { platformProgram, PLATFORM_PROJECT } from '../../stacks/platform.js';
import { AWS_RECORDED_INFRA } from '../support/aws-infra.js';

const root = new URL('../..', import.meta.url).pathname;
const behaviour = withKubernetesMocks({ cloud: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }) });

async function platformRun(o: { preview: boolean; deployed?: DeployedResource[] }) {
  const config = await loadConfig(`${root}examples/aws.yaml`, { provider: 'aws', name: 'prod' });
  const layers = awsClusterLayers(config.name, AWS_RECORDED_INFRA);
  const run = await runProgramUnderMocks(
    platformProgram({
      instance: config.name,
      config,
      bundle: loadBundle(config.bundle),
      kubeconfig: layers.kubeconfig,
      cloud: layers.platform,
      tls: { certificatePem: 'CERT', privateKeyPem: 'KEY' },
      ...(o.deployed ? { deployed: () => o.deployed! } : {}),
    }),
    { project: PLATFORM_PROJECT, stack: 'prod-platform', behaviour, preview: o.preview },
  );
  return run.resources.filter((r) => r.type === STATEFUL_SET_TYPE);
}

describe('immutable fields of the platform’s StatefulSets', () => {
  it('carry the hash of each StatefulSet’s immutable fields, and in a preview leave unknown only the one whose fields changed', async () => {
    const statefulSets = await platformRun({ preview: false });
    expect(statefulSets.map((s) => s.inputs.metadata.name).sort()).toEqual(
      expect.arrayContaining(['cortex-alertmanager', 'cortex-compactor', 'cortex-ingester', 'cortex-store-gateway', 'loki-backend', 'loki-write']),
    );
    for (const s of statefulSets) expect(s.inputs.metadata.annotations[IMMUTABLE_FIELDS_ANNOTATION], s.name).toBe(immutableFieldsHash(s.inputs.spec));

    // The state says the ingester was deployed with smaller claims: only it is previewed as changed.
    const deployed = statefulSets.map((s) => ({ type: s.type, inputs: structuredClone(s.inputs) }));
    const ingester = deployed.find((d) => d.inputs.metadata.name === 'cortex-ingester')!;
    ingester.inputs.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '1Gi';
    const previewed = await platformRun({ preview: true, deployed });
    const annotation = (name: string) => previewed.find((s) => s.inputs.metadata.name === name)!.inputs.metadata.annotations[IMMUTABLE_FIELDS_ANNOTATION];
    expect(typeof annotation('cortex-ingester')).not.toBe('string');
    for (const s of previewed.filter((p) => p.inputs.metadata.name !== 'cortex-ingester')) expect(annotation(s.inputs.metadata.name), s.name).toBe(immutableFieldsHash(s.inputs.spec));
  });
});
