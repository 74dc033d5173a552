/**
 * One Pulumi stack of an instance, driven through the Automation API with an inline program.
 *
 * Before every operation the handle makes the stack safe to touch: provider plugins are
 * installed (once), stale Pulumi locks of dead local runs are removed, and pending operations
 * left by an interrupted run are recovered. Engine failures become FailureError quoting the
 * engine's diagnostics; an aborted signal becomes InterruptedError (the signal is passed to
 * the engine, which stops gracefully on SIGINT).
 *
 * The workspace environment carries the backend URL and the passphrase; nothing is written
 * to disk with the passphrase in it. PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK is not set:
 * the CLI version was already checked when the PulumiCommand was obtained, and the
 * workspace does not check again when it is handed a PulumiCommand.
 */
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LocalWorkspace,
  fullyQualifiedStackName,
  type Deployment,
  type DestroyOptions,
  type EngineEvent,
  type InlineProgramArgs,
  type LocalWorkspaceOptions,
  type OpMap,
  type OutputMap,
  type PreviewOptions,
  type PulumiCommand,
  type PulumiFn,
  type UpOptions,
} from '@pulumi/pulumi/automation/index.js';
import { InterruptedError, UsageError } from '../errors.js';
import { instancePaths } from '../paths.js';
import type { Reporter } from '../progress/events.js';
import { withFollowingSignal } from '../abortable.js';
import { engineBackendUrl, prepareBackend, resolveBackend, type Backend } from './backend.js';
import { removeBrokenSidecars } from './file-sidecars.js';
import { countProgramResources, parseDeployment, stackOutputsOf, type ParsedDeployment, type StateResource } from './deployment.js';
import { storeFor, type DiyStore, type StoreFactories } from './diy-store.js';
import { engineFailure, redact, type EngineDiagnostic } from './engine-error.js';
import {
  clearStalePulumiLocks,
  localLockEnvironment,
  recordEngineLocks,
  recordEngineStarting,
  settlePulumiLocks,
  type LockEnvironment,
  type StackRef,
} from './locks.js';
import { installPlugins, pluginOfPackage, type PluginInstaller, type PluginSpec } from './plugins.js';
import { initialProgress, progressView, reduceEngineEvent, totalFromChangeSummary, type EngineProgress } from './progress.js';
import { executeRecovery, planRecovery, type ImportIdRules, type RecoveryPlan, type RecoveryStack } from './recovery.js';
import { asRunner, workspaceEnv } from './cli-run.js';

export interface StackHandleOptions {
  instance: string;
  project: string;
  stackName: string;
  program: PulumiFn;
  /** The `--state` flag, when given. */
  stateUrl?: string;
  passphrase: string;
  pulumiCommand: PulumiCommand;
  reporter: Reporter;
  /** The step that progress events are attributed to. */
  step?: string;
  /** Provider packages whose plugins the program needs, e.g. `@pulumi/kubernetes`; installed before the first operation. */
  providerPackages: readonly string[];
  /** How the cloud's import ids follow from inputs, for creates an interrupted run left pending. */
  importIds: ImportIdRules;
  /**
   * Extra environment for the engine and its providers, e.g. PULUMI_K8S_DELETE_UNREACHABLE
   * when the cluster a Kubernetes stack lived in is gone.
   */
  extraEnv?: Record<string, string>;
}

/** The parts of an Automation API Stack the handle uses. A real `Stack` has all of them. */
export interface AutomationStack extends RecoveryStack {
  workspace: RecoveryStack['workspace'] & PluginInstaller;
  up(opts?: UpOptions): Promise<{ outputs: OutputMap }>;
  preview(opts?: PreviewOptions): Promise<{ changeSummary: OpMap; stdout: string }>;
  destroy(opts?: DestroyOptions): Promise<unknown>;
  outputs(): Promise<OutputMap>;
  exportStack(): Promise<Deployment>;
}

/** What `openStack` reaches outside this module through; tests pass fakes. */
export interface StackHandleDeps extends StoreFactories {
  createOrSelectStack(args: InlineProgramArgs, opts: LocalWorkspaceOptions): Promise<AutomationStack>;
  lockEnv: LockEnvironment;
  /** The backend's object store; by default derived from the backend. */
  store?: DiyStore;
  /** Reads a provider package's package.json; by default Node's require. */
  loadPackage?: (path: string) => unknown;
}

export function defaultStackDeps(): StackHandleDeps {
  return {
    createOrSelectStack: (args, opts) => LocalWorkspace.createOrSelectStack(args, opts),
    lockEnv: localLockEnvironment(),
  };
}

export interface OperationOptions {
  signal?: AbortSignal;
  /** Resources the program registers (from a mock run), for done/total progress. */
  totalHint?: number;
}

export interface PreviewSummary {
  /** Resource counts by operation, as the engine reports them (`create`, `same`, …). */
  changes: Record<string, number>;
  /** The engine's rendered diff, with secrets masked as the engine masks them. */
  diffText?: string;
  /** Every resource the engine would change, with why (see previewStepOf). */
  steps?: PreviewStep[];
}

/** One resource operation of a preview, from the engine's own step events. */
export interface PreviewStep {
  op: string;
  urn: string;
  type: string;
  /** The properties that differ. */
  diffs: string[];
  /** For a replacement: the properties that force it. */
  replaceKeys: string[];
  /** `metadata.name` of a Kubernetes object, when the inputs have one. */
  objectName?: string;
}

/**
 * The top-level properties of a detailed diff's paths (`metadata.labels["app…"]` → `metadata`),
 * in order of first appearance.
 */
function topLevelProperties(detailedDiff: Record<string, unknown> | undefined): string[] {
  return [...new Set(Object.keys(detailedDiff ?? {}).map((path) => /^[^.[]+/.exec(path)?.[0] ?? path))];
}

/** The change a preview event announces, if it announces one (`same` and reads are not changes). */
export function previewStepOf(event: EngineEvent): PreviewStep | undefined {
  const m = event.resourcePreEvent?.metadata;
  if (!m || ['same', 'read', 'refresh'].includes(m.op)) return undefined;
  const objectName = ((m.new ?? m.old)?.inputs as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return {
    op: m.op,
    urn: m.urn,
    type: m.type,
    // The Kubernetes provider reports only a detailed diff (its Diff leaves the changed keys
    // empty), so without this its updates would name no property.
    diffs: m.diffs?.length ? [...m.diffs] : topLevelProperties(m.detailedDiff),
    replaceKeys: [...(m.keys ?? [])],
    ...(typeof objectName === 'string' ? { objectName } : {}),
  };
}

export interface StackHandle {
  /** The fully-qualified stack name, `organization/<project>/<stack>`. */
  readonly qualifiedName: string;
  readonly backend: Backend;
  readonly workDir: string;
  /** Plugins, stale locks, export and recovery. Every operation runs it first if it has not just run. */
  prepare(signal?: AbortSignal): Promise<RecoveryPlan>;
  /**
   * Converges the stack and returns its outputs, secrets unwrapped (in memory only). With
   * `target`, only those URNs: nothing else is created or changed.
   */
  up(opts?: OperationOptions & { target?: string[] }): Promise<Record<string, unknown>>;
  preview(opts?: OperationOptions): Promise<PreviewSummary>;
  /** Destroys the stack, or only `target` URNs (and what depends on them) when given. */
  destroy(opts?: Omit<OperationOptions, 'totalHint'> & { target?: string[] }): Promise<void>;
  outputs(): Promise<Record<string, unknown>>;
  /** The resources in the state as of the last prepare(); empty for a new stack. */
  resources(): readonly StateResource[];
  /**
   * Drops resources from the state without touching what they describe and without loading
   * their provider (`pulumi state delete`), in the order given. For migrations only.
   */
  forget(urns: readonly string[], signal?: AbortSignal): Promise<void>;
}

/** The temporary directory of a workspace's engine and plugins. */
export function engineTempDir(workDir: string): string {
  return join(workDir, 'tmp');
}

async function emptyDirectory(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(entries.map((e) => rm(join(dir, e), { recursive: true, force: true })));
}

/** The environment of every Pulumi command of the workspace. */
export function workspaceEnvVars(backend: Backend, passphrase: string): Record<string, string> {
  return {
    PULUMI_BACKEND_URL: engineBackendUrl(backend),
    PULUMI_CONFIG_PASSPHRASE: passphrase,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    // The salt of the passphrase lives in Pulumi.<stack>.yaml in the work directory, which
    // is only a local cache: a teammate using the same S3/GCS state, or this machine after
    // the directory was removed, does not have it. With this set, Pulumi takes the secrets
    // provider from the stack's state instead of starting a new one that cannot decrypt it.
    PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER: 'true',
  };
}

export async function openStack(o: StackHandleOptions, deps: StackHandleDeps = defaultStackDeps()): Promise<StackHandle> {
  if (o.passphrase === '') throw new UsageError('The passphrase must not be empty.');
  const backend = resolveBackend(o.instance, o.stateUrl);
  await prepareBackend(backend);
  if (backend.kind === 'file') {
    // Before the engine reads the stack: an engine killed by an earlier run may have left a
    // torn metadata file that makes the state unreadable (see ./file-sidecars.ts).
    for (const path of await removeBrokenSidecars(backend.dir)) {
      o.reporter.emit({
        type: 'log',
        level: 'warn',
        message: `Removed ${path}: an empty metadata file that an interrupted engine left, which made the state beside it unreadable (the state itself is intact).`,
        ...(o.step ? { step: o.step } : {}),
      });
    }
  }
  const workDir = join(instancePaths(o.instance).workspaces, o.stackName);
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  await chmod(workDir, 0o700);
  // The engine and its plugins get a temporary directory of their own: the Kubernetes provider
  // writes each kubeconfig it is given to a temp file and never removes it, which filled the
  // user's /tmp (and the test run's). It is emptied around every operation.
  await mkdir(engineTempDir(workDir), { recursive: true, mode: 0o700 });

  const ref: StackRef = { project: o.project, stack: o.stackName };
  const qualifiedName = fullyQualifiedStackName('organization', o.project, o.stackName);
  let stack: AutomationStack;
  try {
    stack = await deps.createOrSelectStack(
      { projectName: o.project, stackName: qualifiedName, program: o.program },
      {
        workDir,
        envVars: { ...workspaceEnvVars(backend, o.passphrase), TMPDIR: engineTempDir(workDir), ...o.extraEnv },
        secretsProvider: 'passphrase',
        pulumiCommand: o.pulumiCommand,
        projectSettings: { name: o.project, runtime: 'nodejs', backend: { url: engineBackendUrl(backend) } },
      },
    );
  } catch (err) {
    throw engineFailure(err, { operation: 'stack selection', ref, secrets: [o.passphrase] });
  }
  const plugins = o.providerPackages.map((p) => pluginOfPackage(p, deps.loadPackage));
  return new PulumiStackHandle(o, deps, stack, backend, workDir, ref, qualifiedName, plugins, deps.store ?? storeFor(backend, deps));
}

function unwrapOutputs(outputs: OutputMap): Record<string, unknown> {
  return Object.fromEntries(Object.entries(outputs).map(([key, output]) => [key, output.value]));
}

class PulumiStackHandle implements StackHandle {
  private pluginsInstalled = false;
  /** True between a prepare() and the operation that follows it. */
  private preparedFresh = false;
  private state: ParsedDeployment = { resources: [], pendingOperations: [] };
  private previewTotal: number | undefined;
  /**
   * The state as last exported, until something may have changed it (an operation, a
   * recovery refresh, a state edit): prepare() and outputs() share one `stack export`.
   */
  private exported: Promise<Deployment> | undefined;

  constructor(
    private readonly o: StackHandleOptions,
    private readonly deps: StackHandleDeps,
    private readonly stack: AutomationStack,
    readonly backend: Backend,
    readonly workDir: string,
    private readonly ref: StackRef,
    readonly qualifiedName: string,
    private readonly plugins: readonly PluginSpec[],
    private readonly store: DiyStore,
  ) {}

  async prepare(signal?: AbortSignal): Promise<RecoveryPlan> {
    this.throwIfAborted(signal, 'preparation');
    if (!this.pluginsInstalled) {
      try {
        await installPlugins(this.stack.workspace, this.plugins, { reporter: this.o.reporter, signal, ...this.stepAttr() });
      } catch (err) {
        throw this.failure(err, 'provider plugin installation', signal);
      }
      this.throwIfAborted(signal, 'preparation');
      this.pluginsInstalled = true;
    }

    await clearStalePulumiLocks({ ...this.lockScope(), reporter: this.o.reporter, ...this.stepAttr() });
    this.throwIfAborted(signal, 'preparation');

    let exported: Deployment;
    try {
      exported = await this.exportState();
    } catch (err) {
      throw this.failure(err, 'state export', signal);
    }
    this.state = parseDeployment(exported);
    const plan = planRecovery(exported, this.o.importIds);
    if (plan.needed) {
      this.exported = undefined;
      let progress = initialProgress();
      try {
        await this.lockingStack((engineLocked) =>
          executeRecovery(this.stack, plan, {
            reporter: this.o.reporter,
            onEvent: (e) => {
              engineLocked();
              progress = this.track(progress, e);
            },
            ...(signal ? { signal } : {}),
            ...this.stepAttr(),
          }),
        );
      } catch (err) {
        throw this.failure(err, 'recovery refresh', signal, progress.diagnostics);
      }
    }
    this.preparedFresh = true;
    return plan;
  }

  async up(opts: OperationOptions & { target?: string[] } = {}): Promise<Record<string, unknown>> {
    return this.operation('update', true, opts.signal, opts.target ? opts.target.length : (opts.totalHint ?? this.previewTotal), async (onEvent) => {
      const result = await withFollowingSignal(opts.signal, (signal) =>
        this.stack.up({
          onEvent,
          color: 'never',
          // Only the update summary the Automation API reads after `up` (`stack history`,
          // unused here) depends on this: without secrets it skips decrypting the config.
          showSecrets: false,
          ...(opts.target ? { target: opts.target } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
      return unwrapOutputs(result.outputs);
    });
  }

  async preview(opts: OperationOptions = {}): Promise<PreviewSummary> {
    return this.operation('preview', false, opts.signal, opts.totalHint, async (onEvent) => {
      const steps: PreviewStep[] = [];
      const collect = (e: EngineEvent) => {
        onEvent(e);
        const step = previewStepOf(e);
        if (step) steps.push(step);
      };
      const result = await withFollowingSignal(opts.signal, (signal) =>
        this.stack.preview({ onEvent: collect, diff: true, color: 'never', ...(signal ? { signal } : {}) }),
      );
      const changes: Record<string, number> = {};
      for (const [op, n] of Object.entries(result.changeSummary)) if (typeof n === 'number') changes[op] = n;
      this.previewTotal = totalFromChangeSummary(changes);
      return { changes, steps, ...(result.stdout ? { diffText: redact(result.stdout, [this.o.passphrase]) } : {}) };
    });
  }

  async destroy(opts: Omit<OperationOptions, 'totalHint'> & { target?: string[] } = {}): Promise<void> {
    if (!this.preparedFresh) await this.prepare(opts.signal);
    const total = opts.target ? opts.target.length : countProgramResources(this.state);
    await this.operation('destroy', true, opts.signal, total, async (onEvent) => {
      await withFollowingSignal(opts.signal, (signal) =>
        this.stack.destroy({
          onEvent,
          color: 'never',
          showSecrets: false,
          ...(opts.target ? { target: opts.target, targetDependents: true } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
    });
  }

  resources(): readonly StateResource[] {
    return this.state.resources;
  }

  async forget(urns: readonly string[], signal?: AbortSignal): Promise<void> {
    if (urns.length === 0) return;
    if (!this.preparedFresh) await this.prepare(signal);
    this.preparedFresh = false;
    this.exported = undefined;
    const ws = this.stack.workspace;
    for (const urn of urns) {
      this.throwIfAborted(signal, 'state edit');
      try {
        await withFollowingSignal(signal, (own) =>
          asRunner(ws.pulumiCommand).run(['state', 'delete', urn, '--stack', this.qualifiedName, '--yes'], ws.workDir, workspaceEnv(ws), undefined, undefined, own),
        );
      } catch (err) {
        throw this.failure(err, 'state edit', signal);
      }
    }
  }

  /**
   * From the exported state (one `stack export`, or none right after prepare()) rather than
   * `stack.outputs()`, which runs `stack output` twice, each paying the passphrase's key
   * derivation; the same values, from the same root stack resource.
   */
  async outputs(): Promise<Record<string, unknown>> {
    try {
      return stackOutputsOf(await this.exportState()) ?? unwrapOutputs(await this.stack.outputs());
    } catch (err) {
      throw this.failure(err, 'output read');
    }
  }

  private exportState(): Promise<Deployment> {
    if (!this.exported) {
      const exported = this.stack.exportStack();
      this.exported = exported;
      exported.catch(() => {
        if (this.exported === exported) this.exported = undefined;
      });
    }
    return this.exported;
  }

  /**
   * Runs an engine operation. One that locks the stack (`locks`: everything but preview) has
   * its engine's lock recorded and settled (see lockingStack).
   */
  private async operation<T>(
    name: string,
    locks: boolean,
    signal: AbortSignal | undefined,
    totalHint: number | undefined,
    run: (onEvent: (e: EngineEvent) => void) => Promise<T>,
  ): Promise<T> {
    try {
      if (!this.preparedFresh) await this.prepare(signal);
      this.preparedFresh = false;
      this.throwIfAborted(signal, name);
      let progress = initialProgress(totalHint);
      this.emitProgress(progress);
      const execute = (engineLocked: () => void) =>
        run((e) => {
          engineLocked();
          progress = this.track(progress, e);
        });
      try {
        return await (locks ? this.lockingStack(execute) : execute(() => {}));
      } catch (err) {
        throw this.failure(err, name, signal, progress.diagnostics);
      }
    } finally {
      this.exported = undefined;
      await emptyDirectory(engineTempDir(this.workDir));
    }
  }

  /**
   * Runs an engine operation that takes Pulumi's lock on the stack. At its first event the
   * engine holds that lock, and it is recorded in our instance lock, with the engine's
   * identity; afterwards, a lock the engine left (it crashed) is removed and the records of
   * locks that are gone are dropped. That is what lets a later run prove a leftover lock
   * stale (src/pulumi/locks.ts).
   */
  private async lockingStack<T>(run: (engineLocked: () => void) => Promise<T>): Promise<T> {
    let recording: Promise<void> | undefined;
    try {
      // Before the engine can take its lock: covers a kill before its first event arrives.
      await recordEngineStarting(this.lockScope());
      return await run(() => {
        recording ??= recordEngineLocks(this.lockScope());
      });
    } finally {
      await recording;
      await settlePulumiLocks({ ...this.lockScope(), reporter: this.o.reporter, ...this.stepAttr() });
    }
  }

  private lockScope() {
    return { store: this.store, instance: this.o.instance, ref: this.ref, env: this.deps.lockEnv };
  }

  /** Reduces one event and reports the new view; never throws into the engine's event stream. */
  private track(progress: EngineProgress, event: EngineEvent): EngineProgress {
    try {
      const next = reduceEngineEvent(progress, event);
      if (next !== progress) this.emitProgress(next, progress);
      return next;
    } catch {
      return progress;
    }
  }

  private emitProgress(next: EngineProgress, previous?: EngineProgress): void {
    if (!this.o.step) return;
    const view = progressView(next);
    if (previous) {
      const before = progressView(previous);
      if (before.done === view.done && before.total === view.total && before.message === view.message) return;
    }
    this.o.reporter.emit({ type: 'step-progress', step: this.o.step, ...view });
  }

  private failure(err: unknown, operation: string, signal?: AbortSignal, diagnostics?: readonly EngineDiagnostic[]) {
    return engineFailure(err, {
      operation,
      ref: this.ref,
      secrets: [this.o.passphrase],
      ...(signal ? { signal } : {}),
      ...(diagnostics ? { diagnostics } : {}),
    });
  }

  private throwIfAborted(signal: AbortSignal | undefined, what: string): void {
    if (signal?.aborted) {
      throw new InterruptedError(`Pulumi ${what} of stack ${this.ref.project}/${this.ref.stack} was interrupted before it started.`, {
        hint: 'Run the same command again to resume.',
      });
    }
  }

  private stepAttr(): { step?: string } {
    return this.o.step ? { step: this.o.step } : {};
  }
}
