/**
 * Creates, checks, upgrades, interrupts, resumes and destroys a real instance on AWS.
 * Opt-in: see test/e2e/README.md.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { e2eSuite, writeSuiteConfig } from './cli.js';

const { enabled, title, home, name, lookout } = e2eSuite('AWS', 'LOOKOUT_E2E_AWS', 'LOOKOUT_E2E_DOMAIN and LOOKOUT_E2E_CIDR');

function writeConfig(cidrs: string[], tenants: string[] = ['team-a']): string {
  return writeSuiteConfig(
    home,
    [
      'aws:',
      `  region: ${process.env.LOOKOUT_E2E_REGION ?? 'eu-west-1'}`,
      '  availabilityZones: 2',
      '  natGateways: single',
      '  nodes: { instanceType: m7i.large, min: 2, desired: 2, max: 3 }',
      `  apiAllowedCidrs: [${cidrs.join(', ')}]`,
    ],
    tenants,
  );
}

describe.skipIf(!enabled)(title, () => {
  const cidr = process.env.LOOKOUT_E2E_CIDR ?? '203.0.113.0/24';

  afterAll(async () => {
    await lookout(['destroy', name, '--delete-data', '--yes']);
  });

  it('plans offline, then creates (interrupted once, resumed) and reports the instance', async () => {
    const config = writeConfig([cidr]);
    const plan = await lookout(['plan', 'aws', name, '-c', config, '--json']);
    expect(plan.code).toBe(0);

    const interrupted = await lookout(['create', 'aws', name, '-c', config, '--yes', '--json'], { interruptAtResources: 10 });
    expect(interrupted.code).toBe(130);

    const created = await lookout(['create', 'aws', name, '-c', config, '--yes', '--json']);
    expect(created.code).toBe(0);
    const result = JSON.parse(created.stdout.trim().split('\n').at(-1)!);
    expect(result.status).toBe('ready');
    const kubeconfig = join(home, name, 'kubeconfig');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(readFileSync(kubeconfig, 'utf8')).toContain(result.outputs.infra.clusterEndpoint);

    const status = await lookout(['status', name, '--json']);
    const parsed = JSON.parse(status.stdout.trim().split('\n')[0]!);
    expect(parsed.instance.status).toBe('ready');
    expect(parsed.certificate.daysLeft).toBeGreaterThan(60);

    const verified = await lookout(['status', name, '--verify']);
    expect(verified.code).toBe(0);
  });

  it('adds a tenant without touching the others, and removes it again', async () => {
    const added = await lookout(['upgrade', name, '-c', writeConfig([cidr], ['team-a', 'team-b']), '--yes', '--json']);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('"step":"tenant:team-b"');
    const removed = await lookout(['upgrade', name, '-c', writeConfig([cidr], ['team-a']), '--yes', '--json']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain('"step":"tenant-remove:team-b"');
  });

  it('upgrades a config change after a preview', async () => {
    const config = writeConfig([cidr, '198.51.100.0/24']);
    const upgraded = await lookout(['upgrade', name, '-c', config, '--yes', '--json']);
    expect(upgraded.code).toBe(0);
    expect(upgraded.stdout).toMatch(/"changes":\{[^}]*"update":\s*[1-9]/);
  });

  it('destroys everything, data included', async () => {
    const destroyed = await lookout(['destroy', name, '--delete-data', '--yes', '--json']);
    expect(destroyed.code).toBe(0);
    expect(JSON.parse(destroyed.stdout.trim().split('\n').at(-1)!).status).toBe('destroyed');
  });
});
