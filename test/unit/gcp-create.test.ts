/**
 * `create gcp` end to end as far as it runs without a cloud: the steps in critical-path order
 * (preflight, infra, kube access, DNS delegation and TLS, platform, tenants, alerting, verify),
 * and the chain of what one step hands the next: the infra program's outputs, run under the GCP
 * mocks, are what the kubeconfig step, the DNS delegation and the cluster layers read.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWithGcpMocks } from '../../components/gcp/test/support.js';
import { createSteps } from '../../src/commands/create.js';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import type { StepContext } from '../../src/engine/index.js';
import { gcpProvider } from '../../src/providers/gcp/index.js';
import { infraGcpProgram } from '../../src/providers/gcp/infra-stack.js';
import { gcpKubeconfigStep, type GcpInfraStepOutputs } from '../../src/providers/gcp/infra-steps.js';
import { instanceBucketNames } from '../../src/providers/gcp/naming.js';
import type { InstanceContext } from '../../src/steps/context.js';

const home = mkdtempSync(join(tmpdir(), 'lookout-gcp-create-'));
const previousHome = process.env.LOOKOUT_HOME;
let config: ResolvedConfig;
beforeAll(async () => {
  process.env.LOOKOUT_HOME = home;
  config = await loadConfig(new URL('../../examples/gcp-small.yaml', import.meta.url).pathname, { provider: 'gcp', name: 'demo' });
});
afterAll(() => {
  if (previousHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = previousHome;
  rmSync(home, { recursive: true, force: true });
});

const context = () => ({ name: 'demo', config, provider: gcpProvider, configFile: 'gcp-small.yaml' }) as unknown as InstanceContext;

describe('create gcp', () => {
  it('runs the critical path in order: preflight, infra, kubeconfig, delegation, tls, platform, tenants, alerting, verify', async () => {
    const steps = await createSteps(context(), undefined);
    expect(steps.map((s) => s.name)).toEqual([
      'preflight',
      'infra',
      'kubeconfig',
      'dns-delegation',
      'tls',
      'platform',
      'tenant:system',
      ...config.tenants.map((t) => `tenant:${t.name}`),
      'system-alerting',
      'verify',
    ]);
    // A tenant the previous config had and this one does not is removed before alerting.
    const again = await createSteps(context(), [{ name: 'gone' }]);
    expect(again.map((s) => s.name).slice(-3)).toEqual(['tenant-remove:gone', 'system-alerting', 'verify']);
  });

  it('hands the infra outputs (under the GCP mocks) to the kubeconfig, the delegation and the cluster layers', async () => {
    const gcp = config.gcp!;
    const run = await runWithGcpMocks(infraGcpProgram({ instance: 'demo', config }), { project: gcp.project, region: gcp.region, stack: 'demo-infra' });
    // What the infra step records: the stack's outputs (it has no secret ones).
    const infra = JSON.parse(JSON.stringify(run.outputs)) as GcpInfraStepOutputs;

    const ctx = { outputsOf: (step: string) => (step === 'infra' ? infra : undefined) } as unknown as StepContext;
    const { path } = await gcpKubeconfigStep({ name: 'demo' }).run(ctx);
    const kubeconfig = readFileSync(path, 'utf8');
    expect(kubeconfig).toContain(infra.clusterEndpoint);
    expect(kubeconfig).toContain(infra.clusterCertificateAuthority);

    expect(gcpProvider.dnsZone(infra as never)).toEqual({ nameServers: infra.nameServers, delegated: false });
    expect(gcpProvider.describeLocation(infra as never)).toBe(`${gcp.zone} (project ${gcp.project})`);
    const layers = await gcpProvider.clusterLayers(context(), infra as never);
    const buckets = instanceBucketNames('demo', gcp.project, gcp.region);
    expect(layers.platform.metricsStore.storage).toEqual({ backend: 'gcs', blocksBucket: buckets.metrics, rulesBucket: buckets.rules });
    expect(layers.platform.logStore.storage).toEqual({ backend: 'gcs', bucket: buckets.logs });
    expect(layers.platform.metricsStore.serviceAccountAnnotations!.blocks).toEqual({ 'iam.gke.io/gcp-service-account': infra.serviceAccounts.metricsStore });
    expect(layers.kubeconfig).toContain(infra.clusterEndpoint);
    expect(gcpProvider.clusterFingerprint(infra as never).cluster).toBe(infra.clusterEndpoint);
  });
});
