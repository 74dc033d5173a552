/**
 * The workspace facade on the real Automation API (LocalWorkspace, Stack, PulumiCommand),
 * with a stub `pulumi` executable in place of the engine. The stub records each invocation
 * (arguments, directory, and the environment variables that matter, with the passphrase
 * only as a hash) and answers like the CLI would. This checks what the real SDK actually
 * sends to the CLI, which fakes of the Stack object cannot.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FailureError, InterruptedError } from '../../src/errors.js';
import { instancePaths } from '../../src/paths.js';
import { collectingReporter } from '../../src/progress/events.js';
import { engineBackendUrl } from '../../src/pulumi/backend.js';
import { AWS_IMPORT_IDS } from '../../src/providers/aws/import-ids.js';
import { openStack, type StackHandle } from '../../src/pulumi/workspace.js';

const PASSPHRASE = 'stub-run passphrase 7f3a';
const PROJECT = 'lookout-prod';
const STACK_NAME = 'prod-infra';
const FQ = `organization/${PROJECT}/${STACK_NAME}`;
const BUCKET_URN = `urn:pulumi:${STACK_NAME}::${PROJECT}::aws:s3/bucket:Bucket::metrics`;

const versionOf = (pkg: string) => (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
const KUBERNETES_VERSION = versionOf('@pulumi/kubernetes');

const EXPORT_PENDING = {
  version: 3,
  deployment: {
    manifest: { time: '2026-03-02T10:15:07.123456789Z', magic: 'abc', version: 'v3.248.0' },
    secrets_providers: { type: 'passphrase', state: { salt: 'v1:dGVzdA==:v1:AAAA:BBBB' } },
    resources: [{ urn: `urn:pulumi:${STACK_NAME}::${PROJECT}::pulumi:pulumi:Stack::${PROJECT}-${STACK_NAME}`, custom: false, type: 'pulumi:pulumi:Stack' }],
    pending_operations: [
      {
        resource: { urn: BUCKET_URN, custom: true, type: 'aws:s3/bucket:Bucket', inputs: { __defaults: [], bucket: 'lookout-prod-metrics-1a2b3c4d' } },
        type: 'creating',
      },
    ],
  },
};
const EXPORT_CLEAN = { ...EXPORT_PENDING, deployment: { ...EXPORT_PENDING.deployment, pending_operations: [] } };

const STUB = (node: string) => `#!${node}
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const root = path.dirname(path.dirname(__filename));
const mark = (f) => path.join(root, f);
const argv = process.argv.slice(2);
const env = process.env;
fs.appendFileSync(mark('calls.log'), JSON.stringify({
  argv,
  cwd: process.cwd(),
  env: {
    PULUMI_BACKEND_URL: env.PULUMI_BACKEND_URL,
    PULUMI_SKIP_UPDATE_CHECK: env.PULUMI_SKIP_UPDATE_CHECK,
    PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: env.PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER,
    PULUMI_AUTOMATION_API: env.PULUMI_AUTOMATION_API,
    passphraseSha256: env.PULUMI_CONFIG_PASSPHRASE ? crypto.createHash('sha256').update(env.PULUMI_CONFIG_PASSPHRASE).digest('hex') : null,
  },
}) + '\\n');
const is = (...words) => words.every((w, i) => argv[i] === w);
const done = (out) => { if (out !== undefined) process.stdout.write(out + '\\n'); process.exit(0); };
if (is('version')) done('v3.248.0');
if (is('stack', 'select')) {
  if (!fs.existsSync(mark('initialized'))) { process.stderr.write("error: no stack named '" + argv[3] + "' found\\n"); process.exit(255); }
  done();
}
if (is('stack', 'init')) {
  fs.writeFileSync(mark('initialized'), '');
  // What the CLI writes for a passphrase secrets provider: the salt, never the passphrase.
  fs.writeFileSync(path.join(process.cwd(), 'Pulumi.${STACK_NAME}.yaml'), 'encryptionsalt: v1:dGVzdA==:v1:AAAA:BBBB\\n');
  done();
}
if (is('plugin', 'install')) done();
// The Kubernetes provider is installed already, at the version @pulumi/kubernetes needs.
if (is('plugin', 'ls')) done(JSON.stringify([{ name: 'kubernetes', kind: 'resource', version: ${JSON.stringify(KUBERNETES_VERSION)}, size: 1, installTime: '2026-03-02T10:00:00Z', lastUsedTime: '2026-03-02T10:00:00Z' }]));
if (is('stack', 'export')) done(JSON.stringify(fs.existsSync(mark('refreshed')) ? ${JSON.stringify(EXPORT_CLEAN)} : ${JSON.stringify(EXPORT_PENDING)}));
if (is('refresh')) { fs.writeFileSync(mark('refreshed'), ''); done(); }
if (is('stack', 'output')) done(JSON.stringify({ url: 'https://prod.example.com', token: argv.includes('--show-secrets') ? 'tok-123' : '[secret]' }));
if (is('stack', 'history')) done('[]');
if (is('up')) {
  const mode = fs.existsSync(mark('up-mode')) ? fs.readFileSync(mark('up-mode'), 'utf8') : 'ok';
  if (mode === 'hang') {
    process.on('SIGINT', () => { process.stderr.write('error: update canceled\\n'); process.exit(255); });
    fs.writeFileSync(mark('up-started'), '');
    setInterval(() => {}, 1000);
    return;
  }
  if (mode === 'fail') {
    process.stdout.write('Diagnostics:\\n  aws:s3:Bucket (metrics):\\n    error: creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists\\n\\n');
    process.stderr.write('error: update failed\\n');
    process.exit(255);
  }
  done('Resources:\\n    1 unchanged');
}
process.stderr.write('stub: unexpected pulumi ' + argv.join(' ') + '\\n');
process.exit(2);
`;

interface Call {
  argv: string[];
  cwd: string;
  env: Record<string, string | null | undefined>;
}

let tmp: string;
let stubRoot: string;
let home: string;
let handle: StackHandle;
const savedHome = process.env.LOOKOUT_HOME;
const reporter = collectingReporter();

async function calls(): Promise<Call[]> {
  const text = await readFile(join(stubRoot, 'calls.log'), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l) as Call);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lookout-ws-auto-'));
  stubRoot = join(tmp, 'pulumi');
  home = join(tmp, 'home');
  process.env.LOOKOUT_HOME = home;
  await mkdir(join(stubRoot, 'bin'), { recursive: true });
  const bin = join(stubRoot, 'bin', 'pulumi');
  await writeFile(bin, STUB(process.execPath));
  await chmod(bin, 0o755);

  const pulumiCommand = await PulumiCommand.get({ root: stubRoot });
  handle = await openStack({
    instance: 'prod',
    project: PROJECT,
    stackName: STACK_NAME,
    program: async () => ({}),
    passphrase: PASSPHRASE,
    pulumiCommand,
    reporter,
    step: 'infra',
    providerPackages: ['@pulumi/aws', '@pulumi/kubernetes'],
    importIds: AWS_IMPORT_IDS,
  });
});

afterAll(async () => {
  if (savedHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = savedHome;
  await rm(tmp, { recursive: true, force: true });
});

describe('openStack on the real Automation API', () => {
  it('creates the stack with the passphrase secrets provider, in the work directory, with the workspace environment', async () => {
    const log = await calls();
    const stackCalls = log.filter((c) => c.argv[0] === 'stack');
    expect(stackCalls.map((c) => c.argv)).toEqual([
      ['stack', 'select', '--stack', FQ, '--non-interactive'],
      ['stack', 'init', FQ, '--secrets-provider', 'passphrase', '--non-interactive'],
    ]);
    const workDir = join(instancePaths('prod').workspaces, STACK_NAME);
    const expectedHash = createHash('sha256').update(PASSPHRASE).digest('hex');
    for (const c of stackCalls) {
      expect(c.cwd).toBe(workDir);
      expect(c.env).toEqual({
        PULUMI_BACKEND_URL: `file://${instancePaths('prod').pulumiState}?metadata=skip`,
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: 'true',
        PULUMI_AUTOMATION_API: 'true',
        passphraseSha256: expectedHash,
      });
    }
  });

  it('writes project settings with the nodejs runtime and the backend URL', async () => {
    const settings = parseYaml(await readFile(join(handle.workDir, 'Pulumi.yaml'), 'utf8')) as Record<string, unknown>;
    expect(settings).toEqual({ name: PROJECT, runtime: 'nodejs', backend: { url: engineBackendUrl(handle.backend) } });
  });
});

describe('StackHandle on the real Automation API', () => {
  it('prepares: installs the plugins not installed yet, exports, and imports the pending create with the refresh flags', async () => {
    const plan = await handle.prepare();
    expect(plan.importPendingCreates).toEqual([{ urn: BUCKET_URN, id: 'lookout-prod-metrics-1a2b3c4d' }]);

    const log = (await calls()).filter((c) => ['plugin', 'refresh'].includes(c.argv[0]!) || c.argv[1] === 'export');
    expect(log.map((c) => c.argv)).toEqual([
      ['plugin', 'ls', '--json', '--non-interactive'],
      ['plugin', 'install', 'resource', 'aws', `v${versionOf('@pulumi/aws')}`, '--non-interactive'],
      ['stack', 'export', '--show-secrets', '--stack', FQ, '--non-interactive'],
      [
        'refresh', '--yes', '--skip-preview', '--stack', FQ,
        '--import-pending-creates', BUCKET_URN, '--import-pending-creates', 'lookout-prod-metrics-1a2b3c4d',
        '--non-interactive',
      ],
    ]);
    const refresh = log[log.length - 1]!;
    expect(refresh.cwd).toBe(handle.workDir);
    expect(refresh.env.passphraseSha256).toBe(createHash('sha256').update(PASSPHRASE).digest('hex'));
    expect(refresh.env.PULUMI_BACKEND_URL).toBe(engineBackendUrl(handle.backend));
  });

  it('runs up with the stack, the inline program client and no colour, and returns the outputs', async () => {
    const outputs = await handle.up({ totalHint: 3 });
    expect(outputs).toEqual({ url: 'https://prod.example.com', token: 'tok-123' });
    const up = (await calls()).find((c) => c.argv[0] === 'up')!;
    expect(up.argv.slice(0, 3)).toEqual(['up', '--yes', '--skip-preview']);
    expect(up.argv).toEqual(expect.arrayContaining(['--color', 'never', '--exec-kind', 'auto.inline', '--stack', FQ, '--non-interactive']));
    expect(up.argv.some((a) => a.startsWith('--client=127.0.0.1:'))).toBe(true);
    expect(up.argv).toContain('--event-log');
  });

  it('turns a failed up into FailureError quoting the engine error', async () => {
    await writeFile(join(stubRoot, 'up-mode'), 'fail');
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain('creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists');
    expect(err.message).not.toMatch(/code: -?\d+|255/);
  });

  it('stops the engine with SIGINT when the signal aborts, and reports InterruptedError', async () => {
    await writeFile(join(stubRoot, 'up-mode'), 'hang');
    const controller = new AbortController();
    const result = handle.up({ signal: controller.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => stat(join(stubRoot, 'up-started')), { timeout: 20_000, interval: 50 });
    controller.abort();
    const err = await result;
    expect(err).toBeInstanceOf(InterruptedError);
  });

  it('never wrote the passphrase into any file of the instance', async () => {
    const files = (await readdir(home, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['Pulumi.yaml', `Pulumi.${STACK_NAME}.yaml`]));
    for (const f of files) {
      const path = join(f.parentPath, f.name);
      expect(await readFile(path, 'utf8'), path).not.toContain(PASSPHRASE);
    }
    expect(JSON.stringify(reporter.events)).not.toContain(PASSPHRASE);
  });
});
