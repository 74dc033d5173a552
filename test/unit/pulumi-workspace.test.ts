import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname, tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { waitFor as pWaitFor } from '../../src/wait-for.js';
import type {
  DestroyOptions,
  EngineEvent,
  InlineProgramArgs,
  LocalWorkspaceOptions,
  PreviewOptions,
  PulumiCommand,
  RefreshOptions,
  UpOptions,
} from '@pulumi/pulumi/automation/index.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FailureError, InterruptedError, UsageError } from '../../src/errors.js';
import { instancePaths } from '../../src/paths.js';
import { collectingReporter, type ProgressEvent } from '../../src/progress/events.js';
import { AWS_IMPORT_IDS } from '../../src/providers/aws/import-ids.js';
import { lockDirKey } from '../../src/pulumi/diy-store.js';
import { engineBackendUrl } from '../../src/pulumi/backend.js';
import { gcsStore } from '../../src/pulumi/gcs-store.js';
import { openStack, workspaceEnvVars, type AutomationStack, type StackHandleDeps } from '../../src/pulumi/workspace.js';
import { localLockEnvironment } from '../../src/pulumi/locks.js';
import { acquireInstanceLock, readInstanceLock, type InstanceLock } from '../../src/engine/index.js';
import { silentReporter } from '../../src/progress/events.js';
import { recordHere } from '../support/lock-ledger.js';

const require = createRequire(import.meta.url);
const PASSPHRASE = 'tr0ub4dor&3-lookout-test';
const PROJECT = 'lookout-prod';
const STACK_NAME = 'prod-infra';
const FQ = `organization/${PROJECT}/${STACK_NAME}`;
const urn = (t: string, n: string) => `urn:pulumi:${STACK_NAME}::${PROJECT}::${t}::${n}`;
const BUCKET_URN = urn('aws:s3/bucket:Bucket', 'metrics');
const ROLE_URN = urn('aws:iam/role:Role', 'cluster');

let home: string;
const savedHome = process.env.LOOKOUT_HOME;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'lookout-ws-'));
  process.env.LOOKOUT_HOME = home;
});
afterEach(async () => {
  if (savedHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = savedHome;
  await rm(home, { recursive: true, force: true });
});

interface FakeBehaviour {
  up?: (opts: UpOptions) => Promise<{ outputs: Record<string, { value: unknown; secret: boolean }> }>;
  preview?: (opts: PreviewOptions) => Promise<{ changeSummary: Record<string, number>; stdout: string }>;
  destroy?: (opts: DestroyOptions) => Promise<unknown>;
  exported?: () => unknown;
  createError?: Error;
  /** What `pulumi plugin ls` lists; nothing by default. */
  installedPlugins?: Array<{ name: string; kind: string; version?: string }>;
  /** The CLI the workspace runs; a new one per harness by default. */
  pulumiCommand?: object;
}

function exportWith(resources: unknown[] = [], pending: unknown[] = []) {
  return { version: 3, deployment: { manifest: { time: '2026-03-02T10:00:00Z', magic: '', version: 'v3.248.0' }, resources, pending_operations: pending } };
}

/** A fake Automation API stack, built from the options openStack hands to createOrSelectStack. */
function harness(b: FakeBehaviour = {}) {
  const created: Array<{ args: InlineProgramArgs; opts: LocalWorkspaceOptions }> = [];
  const run = vi.fn(async (..._args: unknown[]) => ({ stdout: '', stderr: '', code: 0 }));
  const installPlugin = vi.fn(async (_name: string, _version: string, _kind?: string) => {});
  const installPluginFromServer = vi.fn(async () => {});
  const listPlugins = vi.fn(async () => b.installedPlugins ?? []);
  const pulumiCommand = b.pulumiCommand ?? { command: 'pulumi', run };
  const up = vi.fn(b.up ?? (async (_opts: UpOptions) => ({ outputs: {} })));
  const preview = vi.fn(b.preview ?? (async (_opts: PreviewOptions) => ({ changeSummary: {}, stdout: '' })));
  const destroy = vi.fn(b.destroy ?? (async (_opts: DestroyOptions): Promise<unknown> => ({})));
  const refresh = vi.fn(async (_o?: RefreshOptions) => ({}));
  const exportStack = vi.fn(async () => (b.exported ? b.exported() : exportWith()) as never);
  const outputs = vi.fn(async (): Promise<Record<string, { value: unknown; secret: boolean }>> => ({ url: { value: 'https://prod.example.com', secret: false }, token: { value: 's3cr3t-token', secret: true } }));

  const deps: StackHandleDeps = {
    lockEnv: localLockEnvironment(),
    async createOrSelectStack(args, opts) {
      created.push({ args, opts });
      if (b.createError) throw b.createError;
      const stack: AutomationStack = {
        name: args.stackName,
        workspace: {
          workDir: opts.workDir!,
          envVars: opts.envVars!,
          pulumiCommand,
          installPlugin,
          installPluginFromServer,
          listPlugins,
        },
        up,
        preview,
        destroy,
        refresh,
        exportStack,
        outputs,
      };
      return stack;
    },
  };
  return { deps, created, run, installPlugin, listPlugins, up, preview, destroy, refresh, exportStack, outputs };
}

const program = async () => ({ ok: true });
const fakeCommand = { command: 'pulumi', version: null } as unknown as PulumiCommand;

function options(reporter = collectingReporter(), extra: Partial<Parameters<typeof openStack>[0]> = {}) {
  // An AWS instance's stacks: the cloud's package first, then Kubernetes.
  const providerPackages = ['@pulumi/aws', '@pulumi/kubernetes'];
  return { instance: 'prod', project: PROJECT, stackName: STACK_NAME, program, passphrase: PASSPHRASE, pulumiCommand: fakeCommand, reporter, step: 'infra', providerPackages, importIds: AWS_IMPORT_IDS, ...extra };
}

/** An error shaped like the Automation API's CommandError for a failed `pulumi up`. */
function commandError(stderr: string, stdout = ''): Error {
  const inner = `code: 255\n stdout: ${stdout}\n stderr: ${stderr}\n err?: \n`;
  const e = new Error(`code: -2\n stdout: \n stderr: ${inner}\n err?: CommandError: ${inner}\n`);
  e.name = 'CommandError';
  return e;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('openStack', () => {
  it('selects the stack through the Automation API with the backend, passphrase, secrets provider and project settings', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);

    expect(h.created).toHaveLength(1);
    const { args, opts } = h.created[0]!;
    expect(args).toEqual({ projectName: PROJECT, stackName: FQ, program });
    const stateDir = instancePaths('prod').pulumiState;
    const workDir = join(instancePaths('prod').workspaces, STACK_NAME);
    expect(opts).toEqual({
      workDir,
      envVars: {
        PULUMI_BACKEND_URL: `file://${stateDir}?metadata=skip`,
        PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: 'true',
        PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: 'true',
        // The engine's own temporary directory, emptied around every operation.
        TMPDIR: join(workDir, 'tmp'),
      },
      secretsProvider: 'passphrase',
      pulumiCommand: fakeCommand,
      projectSettings: { name: PROJECT, runtime: 'nodejs', backend: { url: `file://${stateDir}?metadata=skip` } },
    });
    expect(handle.qualifiedName).toBe(FQ);
    expect(handle.workDir).toBe(workDir);
    expect((await stat(workDir)).mode & 0o777).toBe(0o700);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it('uses the --state bucket as the backend', async () => {
    const h = harness();
    await openStack(options(collectingReporter(), { stateUrl: 's3://acme-state/prod?region=eu-west-1' }), { ...h.deps, store: undefined, s3Client: () => ({}) as never });
    expect(h.created[0]!.opts.envVars!.PULUMI_BACKEND_URL).toBe('s3://acme-state/prod?region=eu-west-1');
    expect(workspaceEnvVars({ kind: 'gs', url: 'gs://b/p', display: '', bucket: 'b', prefix: 'p' }, 'x').PULUMI_BACKEND_URL).toBe('gs://b/p');
  });

  it('rejects a bad --state before touching anything, and an empty passphrase', async () => {
    const h = harness();
    await expect(openStack(options(collectingReporter(), { stateUrl: 'http://x' }), h.deps)).rejects.toBeInstanceOf(UsageError);
    await expect(openStack(options(collectingReporter(), { passphrase: '' }), h.deps)).rejects.toBeInstanceOf(UsageError);
    expect(h.created).toHaveLength(0);
  });

  it('maps a failure to select the stack, without the passphrase in the message', async () => {
    const h = harness({ createError: commandError(`error: could not decrypt with ${PASSPHRASE}: bad stuff`) });
    const err = (await openStack(options(), h.deps).catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain('could not decrypt');
    expect(err.message).not.toContain(PASSPHRASE);
    expect(err.message).toContain('[redacted]');
  });
});

describe('StackHandle.up', () => {
  it('prepares (plugins, export), then runs up with the signal and onEvent, and returns the outputs unwrapped', async () => {
    const h = harness({
      up: async () => ({ outputs: { endpoint: { value: 'https://prod.example.com', secret: false }, adminPassword: { value: 'hunter2', secret: true } } }),
    });
    const handle = await openStack(options(), h.deps);
    const controller = new AbortController();

    const outputs = await handle.up({ signal: controller.signal, totalHint: 12 });

    expect(outputs).toEqual({ endpoint: 'https://prod.example.com', adminPassword: 'hunter2' });
    const versionOf = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
    expect(h.installPlugin.mock.calls).toEqual([
      ['aws', `v${versionOf('@pulumi/aws')}`, 'resource'],
      ['kubernetes', `v${versionOf('@pulumi/kubernetes')}`, 'resource'],
    ]);
    expect(h.exportStack).toHaveBeenCalledTimes(1);
    expect(h.exportStack.mock.invocationCallOrder[0]!).toBeLessThan(h.up.mock.invocationCallOrder[0]!);
    expect(h.installPlugin.mock.invocationCallOrder[1]!).toBeLessThan(h.exportStack.mock.invocationCallOrder[0]!);
    const upOpts = h.up.mock.calls[0]![0];
    // The call's own signal, following the command's (see withFollowingSignal).
    expect(upOpts.signal).toBeInstanceOf(AbortSignal);
    expect(upOpts.signal).not.toBe(controller.signal);
    expect(typeof upOpts.onEvent).toBe('function');
    expect(upOpts.color).toBe('never');
  });

  it('installs plugins once but prepares before every operation', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);
    await handle.up();
    await handle.up();
    expect(h.installPlugin).toHaveBeenCalledTimes(options().providerPackages.length);
    expect(h.exportStack).toHaveBeenCalledTimes(2);

    // An explicit prepare right before an operation is not repeated by it.
    await handle.prepare();
    await handle.up();
    expect(h.exportStack).toHaveBeenCalledTimes(3);
  });

  it('installs only the plugins `pulumi plugin ls` does not list at the exact version', async () => {
    const versionOf = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
    const h = harness({
      installedPlugins: [
        { name: 'kubernetes', kind: 'resource', version: versionOf('@pulumi/kubernetes') },
        // Another version of the cloud's provider is not the one the program needs.
        { name: 'aws', kind: 'resource', version: '1.0.0' },
      ],
    });
    const handle = await openStack(options(), h.deps);
    await handle.up();
    expect(h.listPlugins).toHaveBeenCalledTimes(1);
    expect(h.installPlugin.mock.calls).toEqual([['aws', `v${versionOf('@pulumi/aws')}`, 'resource']]);
  });

  it('settles each plugin once per CLI, for every stack handle of the process, even when they start together', async () => {
    const cli = { command: 'pulumi', run: vi.fn() };
    const first = harness({ pulumiCommand: cli });
    const second = harness({ pulumiCommand: cli });
    const [a, b] = await Promise.all([openStack(options(), first.deps), openStack(options(), second.deps)]);
    await Promise.all([a.up(), b.up()]);
    expect(first.installPlugin.mock.calls.length + second.installPlugin.mock.calls.length).toBe(options().providerPackages.length);
    expect(first.listPlugins.mock.calls.length + second.listPlugins.mock.calls.length).toBe(1);

    // A handle on another CLI settles its own.
    const other = harness();
    await (await openStack(options(), other.deps)).up();
    expect(other.installPlugin).toHaveBeenCalledTimes(options().providerPackages.length);
  });

  it('installs the plugins when `pulumi plugin ls` fails', async () => {
    const h = harness();
    h.listPlugins.mockRejectedValueOnce(commandError('error: could not read the plugin directory\n'));
    await (await openStack(options(), h.deps)).up();
    expect(h.installPlugin).toHaveBeenCalledTimes(options().providerPackages.length);
  });

  it('tries a failed plugin installation again for the next stack', async () => {
    const cli = { command: 'pulumi', run: vi.fn() };
    const failing = harness({ pulumiCommand: cli });
    failing.installPlugin.mockRejectedValueOnce(commandError('error: could not download plugin\n'));
    await expect((await openStack(options(), failing.deps)).up()).rejects.toBeInstanceOf(FailureError);
    const next = harness({ pulumiCommand: cli });
    await (await openStack(options(), next.deps)).up();
    expect(next.installPlugin).toHaveBeenCalledTimes(options().providerPackages.length);
  });

  it('reports progress from engine events against the total hint', async () => {
    const meta = (u: string, op: 'create' | 'same') => ({ op, urn: u, type: u.split('::')[2]!, provider: '' });
    const h = harness({
      up: async (opts) => {
        const events: EngineEvent[] = [
          { sequence: 1, timestamp: 1, resourcePreEvent: { metadata: meta(BUCKET_URN, 'create') } },
          { sequence: 2, timestamp: 2, resOutputsEvent: { metadata: meta(BUCKET_URN, 'create') } },
          { sequence: 3, timestamp: 3, resourcePreEvent: { metadata: meta(ROLE_URN, 'same') } },
        ];
        for (const e of events) opts.onEvent!(e);
        return { outputs: {} };
      },
    });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    await handle.up({ totalHint: 5 });

    const progress = reporter.events.filter((e): e is Extract<ProgressEvent, { type: 'step-progress' }> => e.type === 'step-progress' && e.done !== undefined);
    expect(progress.map(({ done, total, message }) => ({ done, total, message }))).toEqual([
      { done: 0, total: 5, message: '' },
      { done: 0, total: 5, message: 'creating metrics (aws:s3:Bucket)' },
      { done: 1, total: 5, message: '' },
      { done: 1, total: 5, message: 'checking cluster (aws:iam:Role)' },
    ]);
    expect(progress.every((e) => e.step === 'infra')).toBe(true);
  });

  it('turns an aborted signal into InterruptedError', async () => {
    let upStarted!: () => void;
    const started = new Promise<void>((r) => (upStarted = r));
    const h = harness({
      up: (opts) =>
        new Promise((_, reject) => {
          upStarted();
          opts.signal!.addEventListener('abort', () => reject(commandError('error: update canceled')));
        }),
    });
    const handle = await openStack(options(), h.deps);
    const controller = new AbortController();
    const result = handle.up({ signal: controller.signal });
    await started;
    controller.abort();
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).message).toContain(`${PROJECT}/${STACK_NAME}`);
  });

  it('does not start the engine when the signal has already aborted', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);
    const controller = new AbortController();
    controller.abort();
    await expect(handle.up({ signal: controller.signal })).rejects.toBeInstanceOf(InterruptedError);
    expect(h.up).not.toHaveBeenCalled();
  });

  it('turns an engine failure into FailureError quoting the diagnostic, not the exit code', async () => {
    const h = harness({
      up: async (opts) => {
        opts.onEvent!({
          sequence: 1,
          timestamp: 1,
          diagnosticEvent: {
            urn: BUCKET_URN,
            severity: 'error',
            color: 'never',
            message: 'creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists: The requested bucket name is not available.\n',
          },
        });
        opts.onEvent!({ sequence: 2, timestamp: 2, diagnosticEvent: { urn: urn('pulumi:pulumi:Stack', 'x'), severity: 'error', color: 'never', message: 'update failed' } });
        throw commandError('', 'Diagnostics:\n  pulumi:pulumi:Stack (x):\n    error: update failed\n');
      },
    });
    const handle = await openStack(options(), h.deps);
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toBe(
      `Pulumi update of stack ${PROJECT}/${STACK_NAME} failed:\n` +
        '  aws:s3/bucket:Bucket "metrics": creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists: The requested bucket name is not available.',
    );
    expect(err.message).not.toMatch(/255|code:/);
    expect(err.hint).toContain('run the same command again');
  });

  it('falls back to the error lines of the engine output when there were no diagnostic events', async () => {
    const h = harness({ up: async () => { throw commandError('error: failed to load plugin aws: no such file\n'); } });
    const handle = await openStack(options(), h.deps);
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain('  failed to load plugin aws: no such file');
    expect(err.message).not.toMatch(/code: -?\d/);
  });

  it('says so when the passphrase does not match the stack', async () => {
    const h = harness({
      exported: () => {
        throw commandError('error: constructing secrets manager of type "passphrase": incorrect passphrase\n');
      },
    });
    const handle = await openStack(options(), h.deps);
    const err = (await handle.up().catch((e: unknown) => e)) as UsageError;
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain('passphrase does not match');
    expect(err.hint).toContain('LOOKOUT_PASSPHRASE');
    expect(h.up).not.toHaveBeenCalled();
  });

  it('reports a lock the engine found (for example on GCS) with its holder', async () => {
    const lockUrl = 'gs://acme-state/prod/.pulumi/locks/organization/lookout-prod/prod-infra/9f.json';
    const h = harness({
      up: async () => {
        throw commandError(
          'error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n' +
            `  ${lockUrl}: created by bob@build-7 (pid 311) at 2026-03-02T10:15:07Z\n`,
        );
      },
    });
    // The bucket holds that lock, written by Pulumi on the other machine.
    const lockKey = 'prod/.pulumi/locks/organization/lookout-prod/prod-infra/9f.json';
    const lock = JSON.stringify({ pid: 311, username: 'bob', hostname: 'build-7', timestamp: '2026-03-02T10:15:07Z' });
    const bucket = {
      request: async (o: { url: string }) =>
        o.url.endsWith('/o')
          ? { data: { items: [{ name: lockKey }] }, status: 200, headers: {} }
          : { data: lock, status: 200, headers: { 'x-goog-generation': '1' } },
    };
    const store = gcsStore('acme-state', 'prod', async () => bucket as never);
    const handle = await openStack(options(collectingReporter(), { stateUrl: 'gs://acme-state/prod' }), { ...h.deps, store });
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain(`${lockUrl}: held from another machine (bob@build-7, pid 311`);
    expect(err.hint).toContain(`gcloud storage rm '${lockUrl}'`);
  });

  it('never puts the passphrase into an event, an error or a file', async () => {
    const h = harness({ up: async () => { throw commandError(`error: boom ${PASSPHRASE}\n`); } });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(`${err.message}\n${err.hint}`).not.toContain(PASSPHRASE);
    expect(JSON.stringify(reporter.events)).not.toContain(PASSPHRASE);
    for (const file of await filesUnder(home)) {
      expect(await readFile(file, 'utf8'), file).not.toContain(PASSPHRASE);
    }
  });
});

const lockKey = (pid: number) => `${lockDirKey(PROJECT, STACK_NAME)}/lock-${pid}.json`;

/** Writes a Pulumi lock of the stack as the engine with `pid` would; returns its path. */
async function writeLock(pid: number, host: string): Promise<string> {
  const file = join(instancePaths('prod').pulumiState, ...lockKey(pid).split('/'));
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ pid, username: 'ci', hostname: host, timestamp: '2026-03-02T10:15:07Z' }));
  return file;
}

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('StackHandle.prepare', () => {
  let instanceLock: InstanceLock | undefined;
  /** What the step engine does around every step: hold the instance lock. */
  const holdInstanceLock = async () =>
    (instanceLock = await acquireInstanceLock(instancePaths('prod').lock, { command: 'upgrade', instance: 'prod', reporter: silentReporter }));
  afterEach(async () => {
    await instanceLock?.release();
    instanceLock = undefined;
  });

  it('removes a Pulumi lock that a dead engine of an earlier run of ours left (logged) before the operation', async () => {
    const h = harness();
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    const pid = await deadPid();
    const lockFile = await writeLock(pid, hostname());
    const lock = await holdInstanceLock();
    await lock.recordChildLock(lockKey(pid), recordHere(lockKey(pid), pid).process);

    await handle.up();

    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(reporter.events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('stale Pulumi lock'))).toBe(true);
    expect(h.up).toHaveBeenCalledTimes(1);
    expect(lock.childLocks()).toEqual([]);
  });

  it('refuses a lock of this host whose PID is gone, when no run of ours recorded its engine', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);
    const lockFile = await writeLock(await deadPid(), hostname());
    await holdInstanceLock();
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain(`${lockFile}: held by ci@${hostname()}`);
    expect(h.up).not.toHaveBeenCalled();
    await expect(stat(lockFile)).resolves.toBeTruthy();
  });

  /**
   * A fake `up` that behaves like the engine: a child process (the engine) takes the stack's
   * lock, and the first engine event follows. `end` then says how the engine ends.
   */
  function engineUp(end: 'release' | 'crash') {
    return async (opts: UpOptions) => {
      const engine = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
      const exited = new Promise((resolve) => engine.on('exit', resolve));
      try {
        const lockFile = await writeLock(engine.pid!, hostname());
        opts.onEvent!({ sequence: 1, timestamp: 0, preludeEvent: { config: {} } } as EngineEvent);
        // Lookout records the lock with the engine's identity in its own instance lock.
        await pWaitFor(async () => ((await readInstanceLock(instancePaths('prod').lock))?.childLocks ?? []).some((r) => r.process.pid === engine.pid), {
          timeout: 10_000,
        });
        if (end === 'release') await rm(lockFile);
        else throw commandError('error: the engine crashed\n');
        return { outputs: {} };
      } finally {
        engine.kill('SIGKILL');
        await exited;
      }
    };
  }

  it("records the engine's lock with the engine's identity at its first event, and forgets it once released", async () => {
    const h = harness({ up: engineUp('release') });
    const handle = await openStack(options(), h.deps);
    const lock = await holdInstanceLock();
    await handle.up();
    expect(h.up).toHaveBeenCalledTimes(1);
    expect(lock.childLocks()).toEqual([]);
    expect((await readInstanceLock(instancePaths('prod').lock))?.childLocks).toEqual([]);
  });

  it('removes the lock an engine of ours left when it crashed, right after the operation', async () => {
    const h = harness({ up: engineUp('crash') });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    const lock = await holdInstanceLock();
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain('the engine crashed');
    const lockDir = join(instancePaths('prod').pulumiState, ...lockDirKey(PROJECT, STACK_NAME).split('/'));
    expect(await readdir(lockDir)).toEqual([]);
    expect(reporter.events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('Removed a stale Pulumi lock'))).toBe(true);
    expect(lock.childLocks()).toEqual([]);
  });

  it('refuses to run while another host holds the lock', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);
    const lockFile = await writeLock(311, 'build-7');
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain(lockFile);
    expect(h.up).not.toHaveBeenCalled();
    await expect(stat(lockFile)).resolves.toBeTruthy();
  });

  it('recovers pending creates before the operation by importing known ones through the CLI', async () => {
    const bucketOp = {
      type: 'creating',
      resource: { urn: BUCKET_URN, custom: true, type: 'aws:s3/bucket:Bucket', inputs: { bucket: 'lookout-prod-metrics-1a2b3c4d' } },
    };
    let exports = 0;
    const h = harness({ exported: () => (exports++ === 0 ? exportWith([], [bucketOp]) : exportWith()) });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);

    const plan = await handle.prepare();
    expect(plan.importPendingCreates).toEqual([{ urn: BUCKET_URN, id: 'lookout-prod-metrics-1a2b3c4d' }]);
    expect(h.run).toHaveBeenCalledTimes(1);
    const [args, cwd, env] = h.run.mock.calls[0]! as [string[], string, Record<string, string>];
    expect(args).toEqual([
      'refresh', '--yes', '--skip-preview', '--stack', FQ,
      '--import-pending-creates', BUCKET_URN, '--import-pending-creates', 'lookout-prod-metrics-1a2b3c4d',
    ]);
    expect(cwd).toBe(handle.workDir);
    expect(env.PULUMI_CONFIG_PASSPHRASE).toBe(PASSPHRASE);
    expect(env.PULUMI_BACKEND_URL).toBe(engineBackendUrl(handle.backend));
    expect(reporter.events.some((e) => e.type === 'log' && e.message.includes('lookout-prod-metrics-1a2b3c4d'))).toBe(true);

    await handle.up();
    expect(h.run).toHaveBeenCalledTimes(1);
  });

  it('maps a failed recovery refresh to FailureError', async () => {
    const natOp = { type: 'creating', resource: { urn: urn('aws:ec2/natGateway:NatGateway', 'nat-a'), custom: true, type: 'aws:ec2/natGateway:NatGateway', inputs: {} } };
    const h = harness({ exported: () => exportWith([], [natOp]) });
    h.refresh.mockRejectedValueOnce(commandError('error: refreshing: AccessDenied: not authorized to perform ec2:DescribeNatGateways\n'));
    const handle = await openStack(options(), h.deps);
    const err = (await handle.up().catch((e: unknown) => e)) as FailureError;
    expect(err).toBeInstanceOf(FailureError);
    expect(err.message).toContain('recovery refresh');
    expect(err.message).toContain('ec2:DescribeNatGateways');
    expect(h.refresh.mock.calls[0]![0]).toMatchObject({ clearPendingCreates: true });
    expect(h.up).not.toHaveBeenCalled();
  });
});

describe('StackHandle.preview, destroy and outputs', () => {
  it('preview returns the change summary and diff, and its total becomes the next update total', async () => {
    const h = harness({
      preview: async () => ({ changeSummary: { create: 4, same: 6, update: 1 }, stdout: '+ aws:s3:Bucket metrics create\n' }),
    });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    const controller = new AbortController();

    await expect(handle.preview({ signal: controller.signal })).resolves.toEqual({
      changes: { create: 4, same: 6, update: 1 },
      steps: [],
      diffText: '+ aws:s3:Bucket metrics create\n',
    });
    expect(h.preview.mock.calls[0]![0]).toMatchObject({ signal: controller.signal, diff: true, color: 'never' });

    await handle.up();
    const totals = reporter.events.flatMap((e) => (e.type === 'step-progress' && e.total !== undefined ? [e.total] : []));
    expect(totals[totals.length - 1]).toBe(10);
  });

  it('destroy passes the signal and counts the state resources as its total', async () => {
    const resources = [
      { urn: urn('pulumi:pulumi:Stack', 'lookout-prod-prod-infra'), type: 'pulumi:pulumi:Stack' },
      { urn: urn('pulumi:providers:aws', 'default_7_48_0'), type: 'pulumi:providers:aws', custom: true },
      { urn: BUCKET_URN, type: 'aws:s3/bucket:Bucket', custom: true },
      { urn: ROLE_URN, type: 'aws:iam/role:Role', custom: true },
    ];
    const h = harness({ exported: () => exportWith(resources) });
    const reporter = collectingReporter();
    const handle = await openStack(options(reporter), h.deps);
    const controller = new AbortController();

    await handle.destroy({ signal: controller.signal });

    expect(h.destroy.mock.calls[0]![0]).toMatchObject({ signal: controller.signal, color: 'never' });
    expect(typeof h.destroy.mock.calls[0]![0].onEvent).toBe('function');
    expect(reporter.events.find((e) => e.type === 'step-progress' && e.total !== undefined)).toMatchObject({ done: 0, total: 2 });
  });

  // What `stack export --show-secrets` holds for a secret: its JSON text in `plaintext`.
  const secret = (value: unknown) => ({ '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', plaintext: JSON.stringify(value) });
  const rootWith = (outputs: Record<string, unknown>) => ({ urn: urn('pulumi:pulumi:Stack', 'lookout-prod-prod-infra'), type: 'pulumi:pulumi:Stack', outputs });

  it('outputs returns plain values, secrets revealed, from the root stack resource of the exported state', async () => {
    const h = harness({
      exported: () =>
        exportWith([
          rootWith({ url: 'https://prod.example.com', token: secret('s3cr3t-token'), nested: { list: [1, secret({ k: 'v' })], none: null } }),
          { urn: BUCKET_URN, type: 'aws:s3/bucket:Bucket', custom: true, outputs: { bucket: 'not a stack output' } },
        ]),
    });
    const handle = await openStack(options(), h.deps);
    await expect(handle.outputs()).resolves.toEqual({ url: 'https://prod.example.com', token: 's3cr3t-token', nested: { list: [1, { k: 'v' }], none: null } });
    expect(h.outputs).not.toHaveBeenCalled();
  });

  it('outputs of a stack that never ran are empty', async () => {
    const h = harness();
    await expect((await openStack(options(), h.deps)).outputs()).resolves.toEqual({});
    expect(h.outputs).not.toHaveBeenCalled();
  });

  it('asks the CLI for outputs the state holds in a form only it renders (an asset, a resource reference)', async () => {
    const asset = { '4dabf18193072939515e22adb298388d': 'c44067f5952c0a294b673a41bacd8c17', text: 'x' };
    const h = harness({ exported: () => exportWith([rootWith({ url: 'https://prod.example.com', file: asset })]) });
    const handle = await openStack(options(), h.deps);
    await expect(handle.outputs()).resolves.toEqual({ url: 'https://prod.example.com', token: 's3cr3t-token' });
    expect(h.outputs).toHaveBeenCalledTimes(1);
  });

  it('shares one export between outputs and the next prepare, and exports again after an operation', async () => {
    let url = 'https://before.example.com';
    const h = harness({
      exported: () => exportWith([rootWith({ url })]),
      up: async () => {
        url = 'https://after.example.com';
        return { outputs: {} };
      },
    });
    const handle = await openStack(options(), h.deps);
    await expect(handle.outputs()).resolves.toEqual({ url: 'https://before.example.com' });
    await handle.prepare();
    await expect(handle.outputs()).resolves.toEqual({ url: 'https://before.example.com' });
    expect(h.exportStack).toHaveBeenCalledTimes(1);

    await handle.up();
    await expect(handle.outputs()).resolves.toEqual({ url: 'https://after.example.com' });
    expect(h.exportStack).toHaveBeenCalledTimes(2);
  });

  it('exports again after a recovery refresh changed the state', async () => {
    let refreshed = false;
    const pending = [{ resource: { urn: BUCKET_URN, type: 'aws:s3/bucket:Bucket', custom: true, inputs: {} }, type: 'updating' }];
    const h = harness({ exported: () => exportWith([rootWith({ url: refreshed ? 'after' : 'before' })], refreshed ? [] : pending) });
    h.refresh.mockImplementation(async () => {
      refreshed = true;
      return {};
    });
    const handle = await openStack(options(), h.deps);
    expect((await handle.prepare()).needed).toBe(true);
    await expect(handle.outputs()).resolves.toEqual({ url: 'after' });
    expect(h.exportStack).toHaveBeenCalledTimes(2);
  });

  it('asks the Automation API for no decrypted update summary after up and destroy', async () => {
    const h = harness();
    const handle = await openStack(options(), h.deps);
    await handle.up();
    await handle.destroy();
    expect(h.up.mock.calls[0]![0].showSecrets).toBe(false);
    expect(h.destroy.mock.calls[0]![0].showSecrets).toBe(false);
  });
});
