/**
 * The decisions behind create, upgrade and destroy that need no cloud: which tenants to
 * remove, what an upgrade changes, which migrations run, which secrets must be in the
 * environment, recorded outputs, the destroy targets, the load balancer wait, and the
 * kube-token shim.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetResourcesCommand, ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { availableBundles, loadBundle, type BundleManifest } from '../../src/bundle/manifest.js';
import { bundlePath, migrationSteps, MIGRATIONS, plannedMigrations } from '../../src/bundle/migrations.js';
import { upgradeDiff, renderUpgradeDiff } from '../../src/commands/upgrade-diff.js';
import { parseConfigText } from '../../src/config/load.js';
import { runSteps, type Journal } from '../../src/engine/index.js';
import { ensureLookoutShim } from '../../src/k8s/exec-shim.js';
import { awsStackKubeconfig } from '../../src/providers/aws/cluster.js';
import { awsTeardown, loadBalancerGoneStep } from '../../src/providers/aws/teardown.js';
import { collectingReporter, silentReporter } from '../../src/progress/events.js';
import { removedTenants } from '../../src/steps/cluster-steps.js';
import type { InstanceContext } from '../../src/steps/context.js';
import { checkBeforeCloud } from '../../src/config/checks.js';
import type { ConfigError } from '../../src/errors.js';
import { loadBalancerTargets } from '../../src/steps/destroy-steps.js';
import { latestOutputs, recordedStep } from '../../src/steps/recorded.js';

const run = promisify(execFile);
const home = mkdtempSync(join(tmpdir(), 'lookout-lifecycle-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

const base = parseConfigText(
  [
    'aws: { region: eu-west-1, apiAllowedCidrs: [10.0.0.0/8] }',
    'dns: { domain: obs.example.com }',
    'tenants:',
    '  - { name: team-a, tokens: [default, ci] }',
    '  - { name: team-b }',
  ].join('\n'),
  'x.yaml',
  { provider: 'aws', name: 'demo' },
);

describe('tenants to remove', () => {
  it('are those the instance runs and the config no longer names', () => {
    expect(removedTenants(base.tenants, base.tenants)).toEqual([]);
    expect(removedTenants(base.tenants, [base.tenants[1]!])).toEqual(['team-a']);
    expect(removedTenants(undefined, base.tenants)).toEqual([]);
  });
});

describe('upgrade diff', () => {
  const bundle = loadBundle('2026.11.0');
  const newer: BundleManifest = {
    ...bundle,
    version: '2026.12.0',
    previous: '2026.11.0',
    components: { ...bundle.components, loki: { ...bundle.components.loki, image: { ...bundle.components.loki.image, tag: '3.7.7' } } },
  };

  it('names changed component versions, config fields and tenants', () => {
    const changed = {
      ...base,
      aws: { ...base.aws!, nodes: { ...base.aws!.nodes, desired: 4 } },
      tenants: [{ ...base.tenants[0]!, tokens: ['default'] }, { ...base.tenants[1]!, name: 'team-c' }],
    };
    const diff = upgradeDiff({ config: base, bundle }, { config: changed, bundle: newer });
    expect(diff.components).toEqual([{ component: 'loki', from: '3.7.5', to: '3.7.7' }]);
    expect(diff.config).toEqual([
      { field: 'aws.nodes.desired', from: '3', to: '4' },
      { field: 'tenants[team-a].tokens', from: '["default","ci"]', to: '["default"]' },
    ]);
    expect(diff.tenantsAdded).toEqual(['team-c']);
    expect(diff.tenantsRemoved).toEqual(['team-b']);
    const text = renderUpgradeDiff(diff).join('\n');
    expect(text).toContain('loki: 3.7.5 → 3.7.7');
    expect(text).toContain('Tenants removed');
  });

  it('says so when nothing changes', () => {
    expect(renderUpgradeDiff(upgradeDiff({ config: base, bundle }, { config: base, bundle }))).toEqual(['No component or config changes.']);
  });
});

describe('bundle migrations', () => {
  const bundle = loadBundle('2026.11.0');
  const chain: Record<string, BundleManifest> = {
    '2026.11.0': bundle,
    '2026.12.0': { ...bundle, version: '2026.12.0', previous: '2026.11.0', migrations: [{ id: 'test-move-ruler', description: 'x', skippable: false }] },
    '2027.1.0': { ...bundle, version: '2027.1.0', previous: '2026.12.0', migrations: [] },
  };
  const load = (v: string) => chain[v] ?? loadBundle(v);

  it('follow the chain of previous versions, and refuse a migration this lookout lacks', () => {
    expect(bundlePath('2026.11.0', '2027.1.0', load).map((b) => b.version)).toEqual(['2026.12.0', '2027.1.0']);
    expect(plannedMigrations('2026.11.0', '2026.11.0', load)).toEqual([]);
    expect(() => plannedMigrations('2026.11.0', '2027.1.0', load)).toThrow(/needs migration "test-move-ruler"/);
    MIGRATIONS['test-move-ruler'] = () => ({ before: [], after: [{ name: 'migrate:test-move-ruler', title: 'x', run: async () => ({}) }] });
    try {
      const planned = plannedMigrations('2026.11.0', '2027.1.0', load);
      expect(planned.map((m) => `${m.bundle} ${m.id}`)).toEqual(['2026.12.0 test-move-ruler']);
      expect(migrationSteps(planned, {} as never).after.map((s) => s.name)).toEqual(['migrate:test-move-ruler']);
    } finally {
      delete MIGRATIONS['test-move-ruler'];
    }
  });

  it('every migration a shipped bundle lists is implemented', () => {
    for (const version of availableBundles()) {
      for (const m of loadBundle(version).migrations) expect(MIGRATIONS[m.id], m.id).toBeDefined();
    }
  });
});

describe('secrets named by the config', () => {
  it('must all be in the environment, and the error names each field', async () => {
    const config = {
      ...base,
      tls: { ...base.tls, rfc2136: { server: '10.0.0.53', port: 53, zone: 'obs.example.com', keyName: 'k', keySecretEnv: 'TSIG_SECRET' } },
      tenants: [
        {
          ...base.tenants[0]!,
          grafana: {
            oidc: {
              authUrl: 'https://idp/auth',
              tokenUrl: 'https://idp/token',
              apiUrl: 'https://idp/userinfo',
              clientId: 'c',
              clientSecretEnv: 'TEAM_A_OIDC',
              scopes: [],
              allowedDomains: [],
            },
          },
        },
      ],
    } as InstanceContext['config'];
    const err = (await checkBeforeCloud(config, { file: 'x.yaml', purpose: 'apply', env: {} }).catch((e: unknown) => e)) as ConfigError;
    expect(err.issues).toEqual([
      { path: 'tls.rfc2136.keySecretEnv', message: 'the environment variable TSIG_SECRET it names is not set' },
      { path: 'tenants[0].grafana.oidc.clientSecretEnv', message: 'the environment variable TEAM_A_OIDC it names is not set' },
    ]);
    await expect(checkBeforeCloud(config, { file: 'x.yaml', purpose: 'apply', env: { TSIG_SECRET: 'c2VjcmV0', TEAM_A_OIDC: 'y' } })).resolves.toEqual([]);
  });
});

describe('recorded outputs', () => {
  const journal = {
    version: 1,
    instance: 'demo',
    history: [],
    runs: [
      { command: 'create', steps: [{ name: 'platform', status: 'done', outputs: { lb: 'old' }, startedAt: '2026-11-01T00:00:00Z', finishedAt: '2026-11-01T00:10:00Z' }] },
      { command: 'upgrade', steps: [{ name: 'platform', status: 'done', outputs: { lb: 'new' }, startedAt: '2026-11-10T00:00:00Z', finishedAt: '2026-11-10T00:10:00Z' }] },
      { command: 'tls-renew', steps: [{ name: 'platform', status: 'failed', error: 'x', startedAt: '2026-11-20T00:00:00Z' }] },
    ],
  } as unknown as Journal;

  it('are the latest done ones', () => {
    expect(latestOutputs(journal, 'platform')).toEqual({ lb: 'new' });
    expect(latestOutputs(journal, 'tls')).toBeUndefined();
  });

  it('stand in for steps of earlier runs, or fail saying create must finish first', async () => {
    const dir = mkdtempSync(join(home, 'journal-'));
    const result = await runSteps({
      instance: 'demo',
      command: 'verify',
      steps: [recordedStep(journal, 'platform', 'platform outputs'), { name: 'use', title: 'use', run: async (ctx) => ctx.outputsOf('platform') }],
      journalPath: join(dir, 'journal.json'),
      lockPath: join(dir, 'lock.json'),
      reporter: silentReporter,
      resume: 'unfinished',
    });
    expect(result.outputs.use).toEqual({ lb: 'new' });
    await expect(
      runSteps({
        instance: 'demo',
        command: 'verify2',
        steps: [recordedStep(journal, 'tls', 'certificate')],
        journalPath: join(dir, 'journal.json'),
        lockPath: join(dir, 'lock.json'),
        reporter: silentReporter,
        resume: 'unfinished',
      }),
    ).rejects.toThrow(/no recorded certificate/);
  });
});

describe('destroy', () => {
  it('targets the LoadBalancer Service and the DNS record that points at it, nothing else', () => {
    const resources = [
      { urn: 'urn:pulumi:p::lookout-platform::lookout:k8s:Gateway$kubernetes:core/v1:Service::gateway-public', type: 'kubernetes:core/v1:Service', inputs: { spec: { type: 'LoadBalancer' } } },
      { urn: 'urn:pulumi:p::lookout-platform::lookout:k8s:Gateway$kubernetes:core/v1:Service::gateway-internal', type: 'kubernetes:core/v1:Service', inputs: { spec: { type: 'ClusterIP' } } },
      { urn: 'urn:pulumi:p::lookout-platform::aws:route53/record:Record::tenant-hosts', type: 'aws:route53/record:Record' },
      { urn: 'urn:pulumi:p::lookout-platform::kubernetes:apps/v1:Deployment::gateway', type: 'kubernetes:apps/v1:Deployment' },
    ];
    expect(loadBalancerTargets(resources, awsTeardown.loadBalancerDependents).map((u) => u.split('::').pop())).toEqual(['gateway-public', 'tenant-hosts']);
    // A provider whose record is not in the stack has only the Service to remove.
    expect(loadBalancerTargets(resources, []).map((u) => u.split('::').pop())).toEqual(['gateway-public']);
  });

  it('waits until AWS no longer lists a load balancer tagged with the instance, and says what is left on timeout', async () => {
    const tagging = mockClient(ResourceGroupsTaggingAPIClient);
    const arn = 'arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/k8s-lookout-gateway/abc';
    tagging.on(GetResourcesCommand).resolvesOnce({ ResourceTagMappingList: [{ ResourceARN: arn }] }).resolves({ ResourceTagMappingList: [] });
    const c = { name: 'demo', config: base } as unknown as InstanceContext;
    const reporter = collectingReporter();
    const dir = mkdtempSync(join(home, 'lb-'));
    const opts = { instance: 'demo', journalPath: join(dir, 'j.json'), lockPath: join(dir, 'l.json'), reporter, resume: 'unfinished' as const };
    await runSteps({ ...opts, command: 'd1', steps: [loadBalancerGoneStep(c, { deadlineMs: 5_000, intervalMs: 10 })] });
    const calls = tagging.commandCalls(GetResourcesCommand);
    expect(calls.length).toBe(2);
    expect(calls[0]!.args[0].input).toEqual({ ResourceTypeFilters: ['elasticloadbalancing:loadbalancer'], TagFilters: [{ Key: 'lookout:instance', Values: ['demo'] }] });
    expect(reporter.events).toContainEqual(expect.objectContaining({ type: 'step-progress', message: expect.stringContaining('k8s-lookout-gateway/abc') }));

    tagging.reset();
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [{ ResourceARN: arn }] });
    await expect(runSteps({ ...opts, command: 'd2', steps: [loadBalancerGoneStep(c, { deadlineMs: 50, intervalMs: 10 })] })).rejects.toThrow(
      /has not deleted the load balancer\(s\) arn:aws:elasticloadbalancing/,
    );
    tagging.restore();
  });
});

describe('the kube-token shim', () => {
  it('puts a lookout of this installation first on the PATH, without machine paths in the kubeconfig', async () => {
    process.env.LOOKOUT_HOME = home;
    try {
      const path = await ensureLookoutShim({ PATH: '/usr/bin:/bin' });
      const shim = join(home, 'bin', 'lookout');
      expect(path).toBe(`${join(home, 'bin')}:/usr/bin:/bin`);
      expect(statSync(shim).mode & 0o777).toBe(0o700);
      expect(readFileSync(shim, 'utf8')).toContain(process.execPath);
      const { stdout } = await run('lookout', ['--version'], { env: { ...process.env, PATH: path } });
      expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    } finally {
      delete process.env.LOOKOUT_HOME;
    }
    const kubeconfig = JSON.parse(awsStackKubeconfig({ clusterName: 'c', endpoint: 'https://e', certificateAuthorityData: 'Q0E=', region: 'eu-west-1' }));
    expect(kubeconfig.users[0].user.exec).toMatchObject({ command: 'lookout', args: ['kube-token', '--cluster', 'c', '--region', 'eu-west-1'] });
  });
});
