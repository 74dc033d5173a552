/**
 * The GCP create steps that run without an engine: the preflight step records the instance
 * before the first change (against nock for Google's APIs), and the kubeconfig step writes a
 * file only its owner can read, holding no token: kubectl asks `lookout kube-token --provider gcp`.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { gcpKubeconfigStep, gcpPreflightStep, type GcpInfraStepOutputs } from '../../src/providers/gcp/infra-steps.js';
import { REQUIRED_SERVICES } from '../../src/providers/gcp/preflight.js';
import { readInstanceRecord } from '../../src/state/instance-record.js';
import { googleApi, testGoogleAuth } from '../support/google-api.js';
import { testStepContext } from '../support/step-context.js';

const PROJECT = 'acme-observability';
const home = mkdtempSync(join(tmpdir(), 'lookout-gcp-steps-'));
const previousHome = process.env.LOOKOUT_HOME;
let config: ResolvedConfig;
beforeAll(async () => {
  process.env.LOOKOUT_HOME = home;
  nock.disableNetConnect();
  config = await loadConfig(new URL('../../examples/gcp-small.yaml', import.meta.url).pathname, { provider: 'gcp', name: 'demo' });
});
afterAll(() => {
  nock.enableNetConnect();
  if (previousHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = previousHome;
  rmSync(home, { recursive: true, force: true });
});

const stepContext = (outputs: Record<string, unknown> = {}) => testStepContext('create', outputs);

describe('GCP create steps', () => {
  it('preflight: checks the project and records the instance (provider gcp, the project as its account) before anything is created', async () => {
    const seen: string[] = [];
    googleApi('https://cloudresourcemanager.googleapis.com', seen).get(`/v3/projects/${PROJECT}`).reply(200, { name: 'projects/42', projectId: PROJECT, state: 'ACTIVE' });
    googleApi('https://cloudbilling.googleapis.com', seen).get(`/v1/projects/${PROJECT}/billingInfo`).reply(200, { billingEnabled: true });
    googleApi('https://serviceusage.googleapis.com', seen)
      .get(`/v1/projects/${PROJECT}/services:batchGet`)
      .query(true)
      .reply(200, { services: REQUIRED_SERVICES.map((s) => ({ config: { name: s }, state: 'ENABLED' })) });
    const compute = googleApi('https://compute.googleapis.com', seen);
    compute.get(`/compute/v1/projects/${PROJECT}/regions/europe-west1`).reply(200, { quotas: [{ metric: 'CPUS', limit: 24, usage: 0 }] });
    compute.get(`/compute/v1/projects/${PROJECT}/zones/europe-west1-b`).reply(200, {});
    googleApi('https://container.googleapis.com', seen).get(`/v1/projects/${PROJECT}/locations/-/clusters`).reply(200, {});
    googleApi('https://storage.googleapis.com', seen).get('/storage/v1/b').query(true).reply(200, {});
    googleApi('https://cloudkms.googleapis.com', seen).get(`/v1/projects/${PROJECT}/locations/europe-west1/keyRings/lookout-demo`).reply(404, {});
    googleApi('https://dns.googleapis.com', seen).get(`/dns/v1/projects/${PROJECT}/managedZones`).reply(200, { managedZones: [{ name: 'example-com', dnsName: 'example.com.' }] });

    const c = { name: 'demo', config, configFile: 'lookout.yaml' } as never;
    const outputs = await gcpPreflightStep(c, async () => testGoogleAuth(PROJECT)).run(stepContext());
    expect(outputs).toEqual({ project: PROJECT, projectNumber: '42', region: 'europe-west1', secretsKey: { keyRing: false, key: false }, parentZoneName: 'example-com' });
    expect(seen).toHaveLength(9);
    const record = await readInstanceRecord('demo');
    expect(record).toMatchObject({ name: 'demo', provider: 'gcp', region: 'europe-west1', accountId: PROJECT, status: 'creating', bundle: config.bundle });
  });

  it('kubeconfig: mode 0600, the cluster and its CA, and an exec plugin that gets tokens from lookout, no token inside', async () => {
    const infra = {
      clusterName: 'lookout-demo',
      clusterEndpoint: 'https://34.1.2.3',
      clusterCertificateAuthority: Buffer.from('-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n').toString('base64'),
    } as GcpInfraStepOutputs;
    const { path } = await gcpKubeconfigStep({ name: 'demo' }).run(stepContext({ infra }));
    expect(path).toBe(join(home, 'demo', 'kubeconfig'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const kubeconfig = JSON.parse(readFileSync(path, 'utf8'));
    expect(kubeconfig.clusters).toEqual([{ name: 'lookout-demo', cluster: { server: 'https://34.1.2.3', 'certificate-authority-data': infra.clusterCertificateAuthority } }]);
    const exec = kubeconfig.users[0].user.exec;
    expect(exec.command).toMatch(/\/bin\/lookout$/);
    expect(exec.args).toEqual(['kube-token', '--provider', 'gcp']);
    expect(JSON.stringify(kubeconfig)).not.toMatch(/token"\s*:/);
  });
});
