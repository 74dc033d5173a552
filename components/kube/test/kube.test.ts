/**
 * The conventions of @lookout/kube, on their own: the other components rely on them, and the
 * package is published for other teams' workloads.
 */
import { describe, expect, it } from 'vitest';
import { withKubernetesMocks } from '../../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../../src/plan/mock-runtime.js';
import { validateKubernetesObjects } from '../../../test/support/kubernetes.js';
import {
  configChecksum,
  disruptionBudget,
  imageString,
  labels,
  resources,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  selectorLabels,
  serviceHost,
  zoneSpread,
} from '@lookout/kube';

describe('@lookout/kube', () => {
  it('pins an image by digest when it has one', () => {
    expect(imageString({ repository: 'quay.io/x/y', tag: 'v1' })).toBe('quay.io/x/y:v1');
    expect(imageString({ repository: 'quay.io/x/y', tag: 'v1', digest: 'sha256:abc' })).toBe('quay.io/x/y:v1@sha256:abc');
  });

  it('keeps selector labels stable and makes any version a valid label value', () => {
    const all = labels('cortex', 'ingester', `v1.19.1+build/${'x'.repeat(80)}`);
    expect(all).toMatchObject(selectorLabels('cortex', 'ingester'));
    const version = all['app.kubernetes.io/version']!;
    expect(version.length).toBeLessThanOrEqual(63);
    expect(version).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(labels('cortex', 'ingester')).not.toHaveProperty('app.kubernetes.io/version');
  });

  it('meets the restricted Pod Security Standard', () => {
    expect(restrictedPodSecurityContext()).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(restrictedPodSecurityContext(472).runAsUser).toBe(472);
    expect(restrictedContainerSecurityContext()).toEqual({
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(restrictedContainerSecurityContext(false).readOnlyRootFilesystem).toBe(false);
  });

  it('limits memory always and CPU only when asked', () => {
    expect(resources({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } }).limits).toEqual({ memory: '2Gi' });
  });

  it('spreads over zones softly unless zones are a hard constraint', () => {
    const selector = selectorLabels('loki', 'write');
    expect(zoneSpread(selector).map((c) => c.whenUnsatisfiable)).toEqual(['ScheduleAnyway', 'ScheduleAnyway']);
    expect(zoneSpread(selector, { hardZones: true })[0]).toMatchObject({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' });
  });

  it('changes the checksum with the content and with how it is split', () => {
    expect(configChecksum('a', 'b')).toBe(configChecksum('a', 'b'));
    expect(configChecksum('a', 'b')).not.toBe(configChecksum('ab'));
    expect(configChecksum('a')).toMatch(/^[0-9a-f]{16}$/);
    expect(serviceHost('loki-read', 'lookout')).toBe('loki-read.lookout.svc.cluster.local');
  });

  it('builds a valid disruption budget that lets one pod go at a time', async () => {
    const run = await runProgramUnderMocks(
      async () => {
        disruptionBudget('gateway', { namespace: 'lookout', selector: selectorLabels('gateway', 'gateway') }, {});
        return {};
      },
      { project: 'kube-test', stack: 'test', behaviour: withKubernetesMocks() },
    );
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    const [pdb] = run.resources;
    expect(pdb!.type).toBe('kubernetes:policy/v1:PodDisruptionBudget');
    expect(pdb!.inputs.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selectorLabels('gateway', 'gateway') } });
  });
});
