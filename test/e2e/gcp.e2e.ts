/**
 * Creates (interrupted once, resumed), verifies, adds and removes a tenant on, and destroys a
 * real instance on GCP, with an empty leftover report at the end. Opt-in: see test/e2e/README.md.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { e2eSuite, resultOf, writeSuiteConfig } from './cli.js';

// The instance name (e2e-<6 hex>) is within GCP's 20 characters, so the service account ids fit.
const { enabled, title, home, name, lookout } = e2eSuite('GCP', 'LOOKOUT_E2E_GCP', 'LOOKOUT_E2E_GCP_PROJECT, LOOKOUT_E2E_DOMAIN and LOOKOUT_E2E_CIDR');
const region = process.env.LOOKOUT_E2E_GCP_REGION ?? 'europe-west1';
// The shared state in a bucket, when given: the lock, journal and secrets then live in GCS too.
const state = process.env.LOOKOUT_E2E_GCP_STATE;
const withState = (args: string[]) => (state ? [...args, '--state', state] : args);

function writeConfig(tenants: string[] = ['team-a']): string {
  return writeSuiteConfig(
    home,
    [
      'gcp:',
      `  project: ${process.env.LOOKOUT_E2E_GCP_PROJECT ?? 'e2e-project'}`,
      `  region: ${region}`,
      // Zonal: one zone's nodes, and GKE's free tier covers one zonal control plane.
      `  zone: ${region}-b`,
      '  nodes: { machineType: e2-standard-4, min: 2, max: 3 }',
      '  releaseChannel: REGULAR',
      `  apiAllowedCidrs: [${process.env.LOOKOUT_E2E_CIDR ?? '203.0.113.0/24'}]`,
    ],
    tenants,
    process.env.LOOKOUT_E2E_GCP_PARENT_ZONE,
  );
}

describe.skipIf(!enabled)(title, () => {
  afterAll(async () => {
    await lookout(['destroy', name, '--delete-data', '--yes']);
  });

  it('plans offline, then creates (interrupted once, resumed) and verifies every tenant', async () => {
    const config = writeConfig();
    expect((await lookout(['plan', 'gcp', name, '-c', config, '--json'])).code).toBe(0);

    const interrupted = await lookout(withState(['create', 'gcp', name, '-c', config, '--yes', '--json']), { interruptAtResources: 10 });
    expect(interrupted.code).toBe(130);

    const created = await lookout(withState(['create', 'gcp', name, '-c', config, '--yes', '--json']));
    expect(created.code, created.stderr).toBe(0);
    const result = resultOf(created);
    expect(result.status).toBe('ready');
    expect(result.outputs.verify.tenants).toEqual(['system', 'team-a']);
    const kubeconfig = join(home, name, 'kubeconfig');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const text = readFileSync(kubeconfig, 'utf8');
    expect(text).toContain(result.outputs.infra.clusterEndpoint);
    // Tokens come from `lookout kube-token --provider gcp`; none is written down.
    expect(text).toContain('--provider');
    expect(text).not.toMatch(/token:/);

    const status = await lookout(['status', name, '--json']);
    expect(JSON.parse(status.stdout.trim().split('\n')[0]!).instance.status).toBe('ready');
    expect((await lookout(['status', name, '--verify'])).code).toBe(0);
  });

  it('adds a tenant without touching the others, and removes it again', async () => {
    const added = await lookout(['upgrade', name, '-c', writeConfig(['team-a', 'team-b']), '--yes', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('"step":"tenant:team-b"');
    const removed = await lookout(['upgrade', name, '-c', writeConfig(['team-a']), '--yes', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain('"step":"tenant-remove:team-b"');
  });

  it('destroys everything, data included, and finds nothing left with the instance’s label', async () => {
    const destroyed = await lookout(['destroy', name, '--delete-data', '--yes', '--json']);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain('"step":"infra-unprotect"');
    expect(resultOf(destroyed)).toMatchObject({ status: 'destroyed', keptBuckets: [], leftovers: [] });
  });
});
