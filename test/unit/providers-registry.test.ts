/**
 * The registry: it lists every provider, the command line and the config take their choices
 * from it, reserved providers are refused clearly, and each provider loads lazily: importing
 * the registry loads no provider, loading a provider loads neither Pulumi nor a cloud SDK,
 * and its config block loads only zod.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { splitProviderFlag } from '../../src/commands/kube-token.js';
import { CONFIG_BLOCKS, instanceNameLimit } from '../../src/config/provider-blocks.js';
import { configSchema } from '../../src/config/schema.js';
import {
  KUBE_TOKEN_DEFAULT_PROVIDER,
  PROVIDER_IDS,
  loadConfigBlocks,
  loadProvider,
} from '../../src/providers/registry.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lookout-registry-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The modules a fresh process loads to run `body` (ESM, against the build), as the start-up test records them. */
async function modulesLoadedBy(label: string, body: string): Promise<string[]> {
  const file = join(dir, `${label}.txt`);
  const script = `const registry = await import(${JSON.stringify(`${root}dist/src/providers/registry.js`)});\n${body}\n`;
  await run(process.execPath, ['--import', join(root, 'test/fixtures/record-modules.mjs'), '--input-type=module', '-e', script], {
    env: { ...process.env, LOOKOUT_LOADED_MODULES_FILE: file },
  });
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

const HEAVY = /@pulumi\/|@aws-sdk\/|@google-cloud\/|acme-client|kubernetes-models/;
const PROVIDER_FOLDER = /\/dist\/src\/providers\/(?!registry\.js$|types\.js$)/;

describe('the provider registry', () => {
  it('lists aws, gcp and kubernetes', () => {
    expect(PROVIDER_IDS).toEqual(['aws', 'gcp', 'kubernetes']);
    expect(KUBE_TOKEN_DEFAULT_PROVIDER).toBe('aws');
  });

  it('gives the config its provider choices and each available provider’s block', async () => {
    expect(configSchema.shape.provider.unwrap().options).toEqual([...PROVIDER_IDS]);
    expect(CONFIG_BLOCKS.map((b) => b.id)).toEqual(['aws', 'gcp', 'kubernetes']);
    expect(Object.keys(configSchema.shape)).toEqual(expect.arrayContaining(['aws', 'gcp', 'kubernetes']));
    // The kubernetes block keeps the clouds' instance-name budget, so tenant names stay as long.
    expect(instanceNameLimit('kubernetes')).toBe(instanceNameLimit('aws'));
    expect((await loadConfigBlocks()).map((b) => b.id)).toEqual([...PROVIDER_IDS]);
    // Every name a provider derives fits at its own limit, and no further.
    for (const block of CONFIG_BLOCKS) {
      const limit = instanceNameLimit(block.id);
      expect(block.derivedNames('a'.repeat(limit)).every((d) => d.name.length <= d.limit)).toBe(true);
      expect(block.derivedNames('a'.repeat(limit + 1)).some((d) => d.name.length > d.limit)).toBe(true);
    }
  });

  it('loads the kubernetes provider: no Pulumi package of its own, no DNS zone, and the user’s buckets', async () => {
    const k8s = await loadProvider('kubernetes');
    expect(k8s.id).toBe('kubernetes');
    expect(k8s.pulumiPackages).toEqual([]);
    expect(k8s.managesDnsZone).toBe(false);
    expect(k8s.teardown.loadBalancerDependents).toEqual([]);
    const record = { config: { kubernetes: { objectStorage: { buckets: { metrics: 'm-b', logs: 'l-b', rules: 'r-b' } } } } };
    expect(k8s.teardown.dataBuckets(record as never)).toEqual(['m-b', 'l-b', 'r-b']);
  });

  it('loads the GCP provider, with its teardown steps', async () => {
    const gcp = await loadProvider('gcp');
    expect(gcp.id).toBe('gcp');
    expect(gcp.tenantDataStore).toBeDefined();
    expect(gcp.teardown.after({} as never, { deleteData: false, record: {} as never }).map((s) => s.name)).toEqual(['infra-unprotect', 'infra-destroy', 'leftovers']);
  });

  it('loads the AWS provider once, with every part of the interface', async () => {
    const aws = await loadProvider('aws');
    expect(await loadProvider('aws')).toBe(aws);
    expect(aws.id).toBe('aws');
    expect(aws.pulumiPackages).toEqual(['@pulumi/aws']);
    expect(Object.keys(aws.importIds)).toContain('aws:s3/bucket:Bucket');
    expect(aws.teardown.loadBalancerDependents).toEqual(['aws:route53/record:Record']);
    expect(aws.teardown.dataBuckets({ name: 'prod', accountId: '123456789012', region: 'eu-west-1' } as never)).toHaveLength(3);
  });

  it('loads nothing of a provider when imported, and no Pulumi or cloud SDK when a provider is loaded', async () => {
    const registryOnly = await modulesLoadedBy('registry', '');
    // The recorder works: the registry itself was seen.
    expect(registryOnly.some((m) => m.endsWith('/dist/src/providers/registry.js'))).toBe(true);
    expect(registryOnly.filter((m) => PROVIDER_FOLDER.test(m) || HEAVY.test(m) || /\/zod\//.test(m))).toEqual([]);

    const provider = await modulesLoadedBy('provider', `await registry.loadProvider('aws'); await registry.loadProvider('gcp'); await registry.loadProvider('kubernetes');`);
    expect(provider.some((m) => m.endsWith('/dist/src/providers/aws/index.js'))).toBe(true);
    expect(provider.some((m) => m.endsWith('/dist/src/providers/gcp/index.js'))).toBe(true);
    expect(provider.some((m) => m.endsWith('/dist/src/providers/kubernetes/index.js'))).toBe(true);
    expect(provider.filter((m) => HEAVY.test(m))).toEqual([]);

    const block = await modulesLoadedBy('config-block', `await registry.loadConfigBlocks();`);
    expect(block.some((m) => m.endsWith('/dist/src/providers/aws/config.js'))).toBe(true);
    expect(block.some((m) => m.endsWith('/dist/src/providers/gcp/config.js'))).toBe(true);
    expect(block.some((m) => m.endsWith('/dist/src/providers/kubernetes/config.js'))).toBe(true);
    expect(block.filter((m) => HEAVY.test(m))).toEqual([]);

    // And the recorder does see what a provider loads once asked for real work.
    const planned = await modulesLoadedBy(
      'plan',
      `const { loadConfig } = await import(${JSON.stringify(`${root}dist/src/config/load.js`)});
       const config = await loadConfig(${JSON.stringify(`${root}examples/aws.yaml`)}, { provider: 'aws', name: 'prod' });
       await (await registry.loadProvider('aws')).plan(config);`,
    );
    expect(planned.some((m) => m.includes('@pulumi/aws'))).toBe(true);
  });
});

describe('lookout kube-token', () => {
  it('means the AWS provider when no --provider is given (kubeconfigs in existing state name none)', () => {
    expect(splitProviderFlag(['--cluster', 'lookout-prod', '--region', 'eu-west-1'])).toEqual({
      provider: 'aws',
      rest: ['--cluster', 'lookout-prod', '--region', 'eu-west-1'],
    });
    expect(splitProviderFlag(['--provider=gcp', '--x'])).toEqual({ provider: 'gcp', rest: ['--x'] });
    expect(() => splitProviderFlag(['--provider', 'azure'])).toThrow(/--provider must name a provider, found "azure"/);
  });

  it('refuses its own flags when they are wrong, with exit 2, before asking for credentials', async () => {
    const err = await run(process.execPath, [`${root}bin/lookout`, 'kube-token', '--cluster', 'lookout-prod']).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('kube-token: required option --region not given');
    const unknown = await run(process.execPath, [`${root}bin/lookout`, 'kube-token', '--cluster', 'a', '--region', 'b', '--bogus']).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--bogus'/);
  });
});
