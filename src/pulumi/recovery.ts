/**
 * Recovery of a stack that an interrupted run left with pending operations.
 *
 * A pending create means the engine asked the provider to create something and never heard
 * back: the object may or may not exist in the cloud. Where Lookout names the object itself,
 * its physical id follows from the recorded inputs, so it is imported (creating it again
 * would fail with "already exists"). Other pending creates are cleared, and each is named
 * in a note as a possible leftover. Pending updates and deletes need nothing special: a
 * refresh reads those resources back from the cloud and drops the pending operations.
 *
 * Which CLI flags, verified against pulumi/pulumi pkg/cmd/pulumi/operations/refresh.go:
 * - `--import-pending-creates` is a string-array flag taking one value per occurrence; the
 *   values are read as flat URN, ID pairs (an odd count is rejected). So each pair is
 *   passed as `--import-pending-creates <urn> --import-pending-creates <id>`, as the Java
 *   Automation SDK does. (`--import-pending-creates <urn> <id>` would leave the id as a
 *   stray positional argument.)
 * - Imports are applied first (those operations become `importing`), and only then does
 *   `--clear-pending-creates` drop the operations still of type `creating`. So both flags
 *   combine in one refresh, and the imported ones survive the clear.
 * - The Node Automation API (3.248) has `clearPendingCreates` on RefreshOptions but no
 *   `importPendingCreates`, so the import path runs the CLI through the workspace's
 *   PulumiCommand; the plain clear path uses `stack.refresh`.
 */
import type { EngineEvent, RefreshOptions } from '@pulumi/pulumi/automation/index.js';
import type { Reporter } from '../progress/events.js';
import { withFollowingSignal } from '../abortable.js';
import { asRunner, workspaceEnv, type WorkspaceEnvSource } from './cli-run.js';
import { parseDeployment, parseUrn, type PendingOperation, type StateResource } from './deployment.js';

export interface PendingImport {
  urn: string;
  id: string;
}

export interface RecoveryPlan {
  needed: boolean;
  importPendingCreates: PendingImport[];
  clearPendingCreates: boolean;
  notes: string[];
}

/**
 * How the physical id of a resource type Lookout names itself follows from its inputs: the
 * cloud provider's import id format (each provider has its table, CloudProvider.importIds).
 * Undefined when the inputs do not determine it (a secret or computed name).
 */
export type ImportIdRules = Readonly<Record<string, (inputs: Record<string, unknown>) => string | undefined>>;

/** The physical id of a pending create, when the inputs determine it. */
export function physicalIdFor(resource: StateResource, rules: ImportIdRules): string | undefined {
  const rule = rules[resource.type];
  return rule ? rule(resource.inputs ?? {}) : undefined;
}

/** Kinds whose pending create leaves nothing in the cloud that needs attention. */
function harmlessCreate(type: string): string | undefined {
  if (type.startsWith('pulumi:providers:')) return 'a provider exists only in the state';
  if (type.startsWith('random:')) return 'a random value exists only in the state';
  if (type.startsWith('kubernetes:')) {
    return 'the Kubernetes provider applies objects server-side, so the next update adopts one that was created';
  }
  return undefined;
}

const OPERATION_NOUN: Record<string, string> = {
  updating: 'update',
  deleting: 'delete',
  reading: 'read',
  importing: 'import',
};

function label(op: PendingOperation): string {
  const { name } = parseUrn(op.resource.urn);
  return `${op.resource.type} "${name}"`;
}

/** `importIds`: the import id formats of the stack's cloud provider. */
export function planRecovery(exported: unknown, importIds: ImportIdRules): RecoveryPlan {
  const { pendingOperations } = parseDeployment(exported);
  const importPendingCreates: PendingImport[] = [];
  const notes: string[] = [];
  let clearPendingCreates = false;

  for (const op of pendingOperations) {
    if (op.type !== 'creating') {
      notes.push(`The interrupted run left a pending ${OPERATION_NOUN[op.type] ?? op.type} of ${label(op)}; the refresh reads its real state back.`);
      continue;
    }
    const id = physicalIdFor(op.resource, importIds);
    if (id) {
      importPendingCreates.push({ urn: op.resource.urn, id });
      notes.push(`The interrupted run may have created ${label(op)}; importing "${id}" so it is not created twice.`);
      continue;
    }
    clearPendingCreates = true;
    const harmless = harmlessCreate(op.resource.type);
    notes.push(
      harmless
        ? `Dropping the pending create of ${label(op)} from the state (${harmless}).`
        : `Dropping the pending create of ${label(op)} from the state. If the cloud created it before the run ` +
            'stopped, that copy is now untracked: a possible leftover to delete by hand (`lookout destroy` reports ' +
            'resources still tagged with the instance).',
    );
  }
  return { needed: pendingOperations.length > 0, importPendingCreates, clearPendingCreates, notes };
}

/** The arguments of the refresh that imports (and, when needed, clears) pending creates. */
export function importRefreshArgs(stackName: string, plan: RecoveryPlan): string[] {
  const args = ['refresh', '--yes', '--skip-preview', '--stack', stackName];
  for (const { urn, id } of plan.importPendingCreates) {
    args.push('--import-pending-creates', urn, '--import-pending-creates', id);
  }
  if (plan.clearPendingCreates) args.push('--clear-pending-creates');
  return args;
}

/** The parts of an Automation API Stack that recovery uses. */
export interface RecoveryStack {
  name: string;
  workspace: WorkspaceEnvSource & { workDir: string; pulumiCommand: unknown };
  refresh(opts?: RefreshOptions): Promise<unknown>;
}

export interface ExecuteRecoveryOptions {
  signal?: AbortSignal;
  reporter: Reporter;
  step?: string;
  /** Receives engine events of the refresh, when it runs through the Automation API. */
  onEvent?: (event: EngineEvent) => void;
}

/** Runs the plan's refresh. Errors are thrown as they come; the caller maps them. */
export async function executeRecovery(stack: RecoveryStack, plan: RecoveryPlan, o: ExecuteRecoveryOptions): Promise<void> {
  if (!plan.needed) return;
  for (const note of plan.notes) {
    o.reporter.emit({ type: 'log', level: 'warn', message: note, ...(o.step ? { step: o.step } : {}) });
  }
  if (o.step) {
    o.reporter.emit({ type: 'step-progress', step: o.step, message: 'refreshing the state left by the interrupted run' });
  }
  if (plan.importPendingCreates.length > 0) {
    const ws = stack.workspace;
    await withFollowingSignal(o.signal, (signal) =>
      asRunner(ws.pulumiCommand).run(importRefreshArgs(stack.name, plan), ws.workDir, workspaceEnv(ws), undefined, undefined, signal),
    );
    return;
  }
  await withFollowingSignal(o.signal, (signal) =>
    stack.refresh({
      clearPendingCreates: plan.clearPendingCreates,
      color: 'never',
      ...(signal ? { signal } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    }),
  );
}
