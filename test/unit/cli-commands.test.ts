/**
 * The commands as a user runs them: the real binary, in a throwaway LOOKOUT_HOME, with no
 * cloud credentials. Everything that must be refused before touching the cloud is refused
 * with the right exit code and message, and `status` renders recorded state.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { runSteps } from '../../src/engine/index.js';
import { instancePaths } from '../../src/paths.js';
import { silentReporter } from '../../src/progress/events.js';
import { writeInstanceRecord } from '../../src/state/instance-record.js';
import { testRecord } from '../support/instance-record.js';
import { checkCreateAgainstRecord } from '../../src/commands/create.js';
import { compareBundleVersions } from '../../src/commands/upgrade.js';
import type { Command } from 'commander';

const root = new URL('../..', import.meta.url).pathname;
const home = mkdtempSync(join(tmpdir(), 'lookout-cli-'));
// The example without its `name:` line, so any instance name can use it.
const example = join(home, 'aws.yaml');
writeFileSync(example, readFileSync(join(root, 'examples/aws.yaml'), 'utf8').replace(/^name: .*$/m, ''));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function lookout(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) clean[k] = v;
  const merged: Record<string, string | undefined> = {
    ...clean,
    LOOKOUT_HOME: home,
    // No credentials anywhere the SDK would look.
    AWS_CONFIG_FILE: join(home, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...env,
  };
  const finalEnv = Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined));
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin/lookout'), ...args], { env: finalEnv }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const NO_STACK = /^\s+at /m;
/** Strong enough to be chosen for a new instance. */
const PASSPHRASE = 'a passphrase for the CLI tests, long enough';

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('create', () => {
  it('fails fast without credentials: exit 1, what to set, and nothing recorded, so the next run starts afresh', async () => {
    const r = await lookout(['create', 'aws', 'nocreds', '-c', example, '--yes'], { LOOKOUT_PASSPHRASE: PASSPHRASE, NO_COLOR: '1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: no AWS credentials were found');
    expect(r.stderr).toMatch(/hint: .*AWS_PROFILE.*AWS_ACCESS_KEY_ID/);
    expect(r.stderr).not.toMatch(NO_STACK);
    // The preflight changed nothing: no record, no journal, no run to resume.
    expect(existsSync(join(home, 'nocreds', 'instance.json'))).toBe(false);
    expect(existsSync(join(home, 'nocreds', 'journal.json'))).toBe(false);
    const again = await lookout(['create', 'aws', 'nocreds', '-c', example, '--yes'], { LOOKOUT_PASSPHRASE: PASSPHRASE, NO_COLOR: '1' });
    expect(again.stderr).toMatch(/Starting create of nocreds/);
    expect(again.stderr).not.toMatch(/Resuming|attempt 2/);
    // And status agrees: there is no such instance.
    const status = await lookout(['status', 'nocreds']);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/no instance named "nocreds"/);
  });

  it('without a terminal and without --yes, refuses before anything runs (exit 2)', async () => {
    const r = await lookout(['create', 'aws', 'piped', '-c', example], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: create needs confirmation, and there is no terminal to ask on$/m);
    expect(r.stderr).toMatch(/hint: Pass --yes/);
    expect(existsSync(join(home, 'piped'))).toBe(false);
  });

  it('refuses a --parallel that is not a whole number from 1 to 16, naming the flag, before anything (exit 2)', async () => {
    for (const bad of ['0', '17', 'four', '2.5', '-1']) {
      const r = await lookout(['create', 'aws', 'par', '-c', example, '--yes', '--parallel', bad], { LOOKOUT_PASSPHRASE: PASSPHRASE });
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/^error: --parallel: expected a whole number of tenant stacks from 1 to 16, found "/m);
      expect(r.stderr).not.toMatch(NO_STACK);
    }
    const upgrade = await lookout(['upgrade', 'par', '--yes', '--parallel', '99'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(upgrade.code).toBe(2);
    expect(upgrade.stderr).toMatch(/--parallel: expected a whole number/);
    expect(existsSync(join(home, 'par'))).toBe(false);
  });

  it('reports the failure as a JSON event under --json', async () => {
    const r = await lookout(['create', 'aws', 'nocredsjson', '-c', example, '--json', '--yes'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(r.code).toBe(1);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'run-started', command: 'create', instance: 'nocredsjson' });
    expect(events).toContainEqual(expect.objectContaining({ type: 'step-failed', step: 'preflight' }));
    expect(events.at(-1)).toMatchObject({ type: 'error', exitCode: 1, message: 'no AWS credentials were found' });
  });

  it('asks for the passphrase in the environment when there is no terminal (exit 2, nothing touched)', async () => {
    const r = await lookout(['create', 'aws', 'nopass', '-c', example, '--yes'], { LOOKOUT_PASSPHRASE: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LOOKOUT_PASSPHRASE/);
    expect(existsSync(join(home, 'nopass'))).toBe(false);
  });

  it('refuses a weak passphrase for a new instance, saying the rule and why, before anything', async () => {
    const r = await lookout(['create', 'aws', 'weakpass', '-c', example, '--yes'], { LOOKOUT_PASSPHRASE: 'password1234' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LOOKOUT_PASSPHRASE is too weak .* at least 10\^10 are needed, because it encrypts/);
    expect(existsSync(join(home, 'weakpass'))).toBe(false);
  });

  it('hands LOOKOUT_PASSPHRASE to no child process (here the AWS credential_process the preflight runs)', async () => {
    const dump = join(home, 'credential-process-env');
    const script = join(home, 'credential-process.sh');
    writeFileSync(script, `#!/bin/sh\nenv > '${dump}'\necho '{"Version": 1}'\n`, { mode: 0o700 });
    const config = join(home, 'aws-config-with-process');
    writeFileSync(config, `[profile lookout-test]\ncredential_process = ${script}\nregion = eu-west-1\n`);
    const r = await lookout(['create', 'aws', 'childenv', '-c', example, '--yes'], {
      LOOKOUT_PASSPHRASE: PASSPHRASE,
      AWS_PROFILE: 'lookout-test',
      AWS_CONFIG_FILE: config,
    });
    expect(r.code, r.stderr).toBe(1);
    const childEnv = readFileSync(dump, 'utf8');
    expect(childEnv).toMatch(/^AWS_PROFILE=lookout-test$/m);
    expect(childEnv).not.toContain('LOOKOUT_PASSPHRASE');
    expect(childEnv).not.toContain(PASSPHRASE);
  });

  it('runs create gcp as far as its preflight, which fails fast without Google credentials: exit 1, what to do, nothing recorded', async () => {
    const gcpExample = join(home, 'gcp.yaml');
    writeFileSync(gcpExample, readFileSync(join(root, 'examples/gcp-small.yaml'), 'utf8').replace(/^name: .*$/m, ''));
    const r = await lookout(['create', 'gcp', 'gcpnocreds', '-c', gcpExample, '--yes'], {
      LOOKOUT_PASSPHRASE: PASSPHRASE,
      NO_COLOR: '1',
      // No Application Default Credentials, and no metadata server to ask (nothing leaves loopback).
      GOOGLE_APPLICATION_CREDENTIALS: join(home, 'no-google-credentials.json'),
      METADATA_SERVER_DETECTION: 'none',
      CLOUDSDK_CONFIG: join(home, 'no-gcloud'),
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/Check credentials, project, APIs, quotas and names/);
    expect(r.stderr).toContain('error: no usable Google Cloud credentials for the project lookup');
    expect(r.stderr).toMatch(/hint: Run `gcloud auth application-default login`/);
    expect(r.stderr).not.toMatch(NO_STACK);
    expect(existsSync(join(home, 'gcpnocreds', 'instance.json'))).toBe(false);
  });

  it('offers both bucket schemes, s3:// and gs://, in the --state usage hint and help', async () => {
    const bad = await lookout(['status', 'prod', '--state', 'ftp://x/y']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--state: expected s3://<bucket>[/<prefix>][?region=<aws-region>], gs://<bucket>[/<prefix>] or file://<absolute path>');
    expect(bad.stderr).toMatch(/^hint: .*`--state gs:\/\/acme-lookout-state\/prod`/m);
    for (const command of ['create', 'upgrade', 'destroy', 'status']) {
      const help = await lookout([command, '--help']);
      expect(help.stdout).toContain('--state <url>');
      expect(help.stdout).toContain('gs://bucket/prefix');
    }
  });

  it('refuses a bad --state before anything else', async () => {
    const r = await lookout(['create', 'aws', 'prod', '-c', example, '--yes', '--state', 'http://example.com/x'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--state/);
    expect(existsSync(join(home, 'prod'))).toBe(false);
  });

  it('checks a re-run against the recorded instance: same provider, region and state', () => {
    const config = parseConfigText('aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: a.example.com\n', 'x.yaml', {
      provider: 'aws',
      name: 'demo',
    });
    const record = {
      version: 1 as const,
      name: 'demo',
      provider: 'aws' as const,
      region: 'us-east-1',
      accountId: '1',
      bundle: '2026.11.0',
      config,
      status: 'ready' as const,
      createdAt: '',
      updatedAt: '',
    };
    expect(() => checkCreateAgainstRecord(record, config, undefined)).toThrow(/lives in us-east-1/);
    expect(() => checkCreateAgainstRecord({ ...record, region: 'eu-west-1' }, config, 's3://team-state/p')).toThrow(/keeps its state in the default/);
    expect(() => checkCreateAgainstRecord({ ...record, region: 'eu-west-1' }, config, undefined)).not.toThrow();
    // The same state, written differently, is the same state.
    const shared = { ...record, region: 'eu-west-1', stateUrl: 's3://team-state/p/' };
    expect(() => checkCreateAgainstRecord(shared, config, 's3://team-state/p')).not.toThrow();
    expect(() => checkCreateAgainstRecord(shared, config, 's3://team-state/q')).toThrow(/keeps its state in s3:\/\/team-state\/p\//);
    expect(() => checkCreateAgainstRecord({ ...record, status: 'destroyed' }, config, 's3://team-state/p')).not.toThrow();
  });
});

describe('commands on an instance', () => {
  beforeAll(async () => {
    process.env.LOOKOUT_HOME = home;
    const config = parseConfigText(
      'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: obs.example.com\n',
      'x.yaml',
      { provider: 'aws', name: 'known' },
    );
    await writeInstanceRecord({
      version: 1,
      name: 'known',
      provider: 'aws',
      region: 'eu-west-1',
      accountId: '111122223333',
      bundle: '2026.11.0',
      config,
      status: 'ready',
      createdAt: '2026-11-01T00:00:00.000Z',
      updatedAt: '2026-11-01T00:00:00.000Z',
    });
    const paths = instancePaths('known');
    await runSteps({
      instance: 'known',
      command: 'create',
      journalPath: paths.journal,
      lockPath: paths.lock,
      reporter: silentReporter,
      resume: 'always',
      steps: [
        { name: 'preflight', title: 'Check credentials, region, quotas and names', run: async () => ({ accountId: '111122223333' }) },
        {
          name: 'infra',
          title: 'Create the network, EKS cluster, buckets and DNS zone',
          run: async () => ({
            clusterName: 'lookout-known',
            clusterEndpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
            buckets: { metrics: 'lookout-known-metrics-0123abcd' },
            zoneId: 'Z123',
            delegated: false,
            nameServers: ['ns-1.awsdns-01.org'],
          }),
        },
      ],
    });
    delete process.env.LOOKOUT_HOME;
  });

  it('status shows the record, the recorded outputs and the journal, without credentials or passphrase', async () => {
    const r = await lookout(['status', 'known']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Instance known: ready/m);
    expect(r.stdout).toContain('aws eu-west-1 (account 111122223333)');
    expect(r.stdout).toContain('lookout-known  https://ABC.gr7.eu-west-1.eks.amazonaws.com');
    expect(r.stdout).toContain('ns-1.awsdns-01.org');
    expect(r.stdout).toMatch(/create: done/);
    expect(r.stdout).toMatch(/✓ Create the network, EKS cluster, buckets and DNS zone/);
  });

  it('status --json gives the same data as one JSON object', async () => {
    const r = await lookout(['status', 'known', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { type: string; instance: { name: string }; infra: { zoneId: string }; journal: { runs: unknown[] } };
    expect(result.type).toBe('result');
    expect(result.instance.name).toBe('known');
    expect(result.infra.zoneId).toBe('Z123');
    expect(result.journal.runs).toHaveLength(1);
  });

  it('upgrade and destroy without a terminal need --yes (exit 2, before any cloud call)', async () => {
    for (const args of [['upgrade', 'known'], ['destroy', 'known']]) {
      const r = await lookout(args, { LOOKOUT_PASSPHRASE: 'pw' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/needs confirmation.*no terminal/);
      expect(r.stderr).toMatch(/--yes/);
    }
  });

  it('upgrade refuses a downgrade and a malformed --to', async () => {
    const old = await lookout(['upgrade', 'known', '--to', '2025.1.0', '--yes'], { LOOKOUT_PASSPHRASE: 'pw' });
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/older than the installed 2026.11.0/);
    const bad = await lookout(['upgrade', 'known', '--to', 'latest', '--yes'], { LOOKOUT_PASSPHRASE: 'pw' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to: must be a bundle version such as 2026.11.0, found "latest"/);
  });

  it('upgrade refuses a config that moves the region', async () => {
    const moved = join(home, 'moved.yaml');
    writeFileSync(moved, readFileSync(example, 'utf8').replace('region: eu-west-1', 'region: us-east-2'));
    const r = await lookout(['upgrade', 'known', '-c', moved, '--yes'], { LOOKOUT_PASSPHRASE: 'pw' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/aws.region: the instance lives in eu-west-1, the config says us-east-2/);
  });

  it('commands on an unknown instance exit 2 and say how to create it', async () => {
    for (const args of [['status', 'ghost'], ['upgrade', 'ghost', '--yes'], ['destroy', 'ghost', '--yes']]) {
      const r = await lookout(args, { LOOKOUT_PASSPHRASE: 'pw' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/no instance named "ghost"/);
      expect(r.stderr).toMatch(/lookout create/);
    }
  });
});

describe('bundle versions', () => {
  it('compare numerically, not as strings', () => {
    expect(compareBundleVersions('2026.11.0', '2026.9.3')).toBeGreaterThan(0);
    expect(compareBundleVersions('2026.11.0', '2026.11.0')).toBe(0);
    expect(compareBundleVersions('2025.12.9', '2026.1.0')).toBeLessThan(0);
  });
});

describe('every command', () => {
  /** The commands a person can run (leaves of the tree, hidden ones excluded), by full name. */
  function commands(cmd: Command, prefix = ''): Array<[string, Command]> {
    const visible = cmd.commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden);
    return visible.flatMap((c) => {
      const name = `${prefix}${c.name()}`;
      return c.commands.length > 0 ? commands(c, `${name} `) : [[name, c] as [string, Command]];
    });
  }

  it('takes --json and --debug, as the README says', async () => {
    // The built CLI, as the binary loads it (it reads its version from the package next to it).
    const { buildProgram } = (await import(join(root, 'dist/src/cli.js'))) as typeof import('../../src/cli.js');
    const all = commands(buildProgram());
    expect(all.map(([name]) => name)).toEqual(['plan', 'create', 'upgrade', 'destroy', 'status', 'list', 'tls renew', 'tenant add', 'tenant remove', 'tenant list', 'token create', 'token revoke', 'token list', 'config schema', 'config validate']);
    for (const [name, cmd] of all) {
      const flags = cmd.options.map((o) => o.long);
      expect(flags, name).toContain('--json');
      expect(flags, name).toContain('--debug');
    }
  });

  it('config schema --json gives the schema as one result event', async () => {
    const r = await lookout(['config', 'schema', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const event = JSON.parse(lines[0]!) as { type: string; schema: { properties: Record<string, unknown> } };
    expect(event.type).toBe('result');
    expect(Object.keys(event.schema.properties)).toContain('tenants');
  });
});

describe('upgrade --check and an upgrade with nothing to do', () => {
  beforeAll(async () => {
    process.env.LOOKOUT_HOME = home;
    const yaml = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: obs.example.com\n';
    const records = [['older', '2026.11.0'], ['current', '2026.12.0'], ['unfinished', '2026.12.0'], ['halfway', '2026.11.0', { upgradingTo: '2026.12.0' }]] as const;
    for (const [name, bundle, extra] of records) {
      const config = { ...parseConfigText(yaml, 'x.yaml', { provider: 'aws', name }), bundle };
      await writeInstanceRecord(testRecord({ name, bundle, config, ...extra }));
    }
    delete process.env.LOOKOUT_HOME;
  });

  /** Leaves an `upgrade` run in the journal that stopped in its platform step, as a kill would. */
  async function interruptedUpgrade(name: string) {
    process.env.LOOKOUT_HOME = home;
    const paths = instancePaths(name);
    await runSteps({
      instance: name,
      command: 'upgrade',
      journalPath: paths.journal,
      lockPath: paths.lock,
      reporter: silentReporter,
      resume: 'always',
      steps: [{ name: 'platform', title: 'x', run: async () => { throw new Error('killed mid-platform'); } }],
    }).catch(() => {});
    delete process.env.LOOKOUT_HOME;
    return paths;
  }

  it('--check exits 3 and names the newer bundle, or the pending bundle and its migrations, changing nothing', async () => {
    const newer = await lookout(['upgrade', 'older', '--check']);
    expect(newer.code).toBe(3);
    expect(newer.stdout).toContain('a newer bundle is available: 2026.12.0 (installed 2026.11.0); run `lookout upgrade older --to 2026.12.0`');
    const target = await lookout(['upgrade', 'older', '--check', '--to', '2026.12.0']);
    expect(target.code).toBe(3);
    expect(target.stdout).toContain('bundle 2026.11.0 → 2026.12.0 is pending (migrations: loki-ruler-storage)');
    const status = await lookout(['status', 'older', '--json']);
    expect((JSON.parse(status.stdout) as { instance: { bundle: string } }).instance.bundle).toBe('2026.11.0');
    expect(existsSync(instancePaths('older').journal)).toBe(false);
  });

  it('status shows when a newer bundle is available, and not when the instance runs the newest', async () => {
    const older = await lookout(['status', 'older']);
    expect(older.stdout).toContain('  available   bundle 2026.12.0: run `lookout upgrade older --to 2026.12.0` (preview first, then it asks)');
    expect((JSON.parse((await lookout(['status', 'older', '--json'])).stdout) as { newerBundle: string | null }).newerBundle).toBe('2026.12.0');
    const current = await lookout(['status', 'current']);
    expect(current.code).toBe(0);
    expect(current.stdout).toMatch(/^ {2}bundle {6}2026\.12\.0: cortex v1\.21\.1/m);
    expect(current.stdout).not.toContain('available');
  });

  it('--check exits 3 for a config change, naming the fields', async () => {
    const changed = join(home, 'changed.yaml');
    writeFileSync(changed, 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.1.0.0/16]\ndns:\n  domain: obs.example.com\n');
    const r = await lookout(['upgrade', 'current', '--check', '-c', changed]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('config changes are pending: aws.apiAllowedCidrs');
  });

  it('--check exits 0 when nothing is pending, also as JSON', async () => {
    const r = await lookout(['upgrade', 'current', '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Nothing is pending: current runs bundle 2026.12.0, the newest this lookout ships, with this config.');
    const json = await lookout(['upgrade', 'current', '--check', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'check', pending: false, bundle: '2026.12.0' });
  });

  it('an upgrade with nothing to change says so and records no run', async () => {
    const r = await lookout(['upgrade', 'current', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Nothing to upgrade: current already runs bundle 2026.12.0 with this config.');
    expect(existsSync(instancePaths('current').journal)).toBe(false);
  });

  it('an unfinished earlier run is resumed, not reported as nothing to upgrade', async () => {
    await interruptedUpgrade('unfinished');
    const r = await lookout(['upgrade', 'unfinished', '--yes'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(r.stdout).not.toContain('Nothing to upgrade');
    // It goes on to the steps, and the first needs credentials this test does not have.
    expect(r.code).toBe(1);
  });

  it('an interrupted `upgrade --to X` is resumed toward X by a plain upgrade, which says so; a conflicting --to is refused', async () => {
    const paths = await interruptedUpgrade('halfway');
    const conflicting = await lookout(['upgrade', 'halfway', '--to', '2026.11.0', '--yes'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    expect(conflicting.code).toBe(2);
    expect(conflicting.stderr).toMatch(/--to 2026\.11\.0: the upgrade of halfway to bundle 2026\.12\.0 was interrupted and has not finished/);
    expect(conflicting.stderr).not.toMatch(NO_STACK);

    const check = await lookout(['upgrade', 'halfway', '--check']);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain('bundle 2026.11.0 → 2026.12.0 is pending');

    const plain = await lookout(['upgrade', 'halfway', '--yes', '--json'], { LOOKOUT_PASSPHRASE: PASSPHRASE });
    const logs = plain.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; message?: string });
    expect(logs).toContainEqual(expect.objectContaining({
      type: 'log',
      message: "Resuming the interrupted upgrade of halfway to bundle 2026.12.0 (no --to given: the interrupted run's target); halfway records bundle 2026.11.0 until it finishes.",
    }));
    // It goes on to the steps toward 2026.12.0, and the first needs credentials this test does not have.
    expect(plain.code).toBe(1);
    // The record keeps the installed bundle and the target until the upgrade finishes.
    const after = JSON.parse(readFileSync(paths.instanceRecord, 'utf8')) as { bundle: string; upgradingTo?: string };
    expect(after).toMatchObject({ bundle: '2026.11.0', upgradingTo: '2026.12.0' });
  });

  it('refuses an unknown bundle and a downgrade with exit 2, before anything changes', async () => {
    const unknown = await lookout(['upgrade', 'older', '--to', '2099.1.0', '--yes']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--to: must be a bundle this lookout ships \(2026\.11\.0, 2026\.12\.0\).*found "2099\.1\.0"/);
    const down = await lookout(['upgrade', 'current', '--to', '2026.11.0', '--yes']);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/older than the installed 2026\.12\.0; downgrades are not supported/);
    for (const r of [unknown, down]) expect(r.stderr).not.toMatch(NO_STACK);
  });
});
