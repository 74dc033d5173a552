/**
 * The package's example program (examples/index.ts) runs under the mocks as users would run
 * it with `pulumi up`. Importing it here also puts it under the test type-check.
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { placeholderLoadBalancerHostname, withKubernetesMocks } from '../../../src/plan/k8s-mocks.js';
import { runProgramUnderMocks } from '../../../src/plan/mock-runtime.js';
import { validateKubernetesObjects } from '../../../test/support/kubernetes.js';

describe('examples/index.ts', () => {
  it('builds the gateway from stack config', async () => {
    pulumi.runtime.setAllConfig(
      {
        'gateway-example:domain': 'demo.example.com',
        'gateway-example:kubeconfig': 'unused-under-mocks',
        'gateway-example:tlsCertificate': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        'gateway-example:tlsKey': '-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n',
      },
      ['gateway-example:kubeconfig', 'gateway-example:tlsCertificate', 'gateway-example:tlsKey'],
    );
    const run = await runProgramUnderMocks(() => import('../examples/index.js') as Promise<Record<string, unknown>>, {
      project: 'gateway-example',
      stack: 'dev',
      behaviour: withKubernetesMocks(),
    });
    expect(validateKubernetesObjects(run.resources)).toEqual([]);
    const configMap = run.resources.find((r) => r.type === 'kubernetes:core/v1:ConfigMap')!;
    expect(configMap.inputs.data['nginx.conf']).toContain('\\\\.demo\\\\.example\\\\.com$');
    expect(configMap.inputs.data['nginx.conf']).toContain('rate=200r/s');
    expect(run.outputs.internalUrl).toBe('http://gateway-internal.lookout.svc.cluster.local:8080');
    expect(run.outputs.tenantsSecret).toBe('gateway-tenants');
    expect(run.outputs.loadBalancerHostname).toBe(placeholderLoadBalancerHostname('gateway'));
  });
});
