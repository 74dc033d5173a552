/**
 * The parts of an exported Pulumi deployment (`pulumi stack export`, format version 3) that
 * Lookout reads: the resources and the pending operations an interrupted run left behind.
 * Everything else in the export is ignored, not validated.
 */
import { z } from 'zod';
import { FailureError } from '../errors.js';
import { isSecretEnvelope, isSpecialValue } from './special-values.js';

const resourceSchema = z.object({
  urn: z.string(),
  type: z.string(),
  custom: z.boolean().optional(),
  id: z.string().optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  outputs: z.record(z.string(), z.unknown()).optional(),
  delete: z.boolean().optional(),
});
export type StateResource = z.infer<typeof resourceSchema>;

/** The pending operation kinds of apitype.OperationType in pulumi/pulumi. */
export type PendingOperationType = 'creating' | 'updating' | 'deleting' | 'reading' | 'importing' | (string & {});

const operationSchema = z.object({
  resource: resourceSchema,
  type: z.string(),
});
export interface PendingOperation {
  resource: StateResource;
  type: PendingOperationType;
}

const deploymentV3Schema = z.object({
  resources: z.array(resourceSchema).nullish(),
  pending_operations: z.array(operationSchema).nullish(),
});

export interface ParsedDeployment {
  resources: StateResource[];
  pendingOperations: PendingOperation[];
}

export const SUPPORTED_DEPLOYMENT_VERSION = 3;

/**
 * Accepts what `Stack.exportStack()` returns (`{version, deployment}`) or its `deployment`
 * member alone. A stack that never ran has no resources and no pending operations.
 */
export function parseDeployment(exported: unknown): ParsedDeployment {
  let body = exported;
  if (isWrapper(exported)) {
    if (exported.version !== SUPPORTED_DEPLOYMENT_VERSION) {
      throw new FailureError(
        `The exported Pulumi state has format version ${String(exported.version)}; Lookout reads version ${SUPPORTED_DEPLOYMENT_VERSION}.`,
        { hint: 'Use the Pulumi CLI version Lookout installs (remove other `pulumi` binaries from PATH), then run the command again.' },
      );
    }
    body = exported.deployment ?? {};
  }
  const result = deploymentV3Schema.safeParse(body ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new FailureError(
      `The exported Pulumi state is not in the expected format (at ${issue?.path.join('.') || '(root)'}: ${issue?.message}).`,
      { hint: 'Run `pulumi stack export` on the stack to inspect it; the file may have been edited by hand.' },
    );
  }
  return {
    resources: result.data.resources ?? [],
    pendingOperations: result.data.pending_operations ?? [],
  };
}

function isWrapper(v: unknown): v is { version: unknown; deployment?: unknown } {
  // The inner deployment keeps its version in `manifest`, never at the top level.
  return typeof v === 'object' && v !== null && 'version' in v;
}

class NotPlain extends Error {}

function reveal(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value !== 'object' || value === null) return value;
  if (isSpecialValue(value)) {
    // `--show-secrets` puts a secret's JSON text in `plaintext` (without it: `ciphertext`).
    if (isSecretEnvelope(value) && typeof value.plaintext === 'string') return reveal(JSON.parse(value.plaintext));
    throw new NotPlain();
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
}

/**
 * The stack's outputs, secrets revealed, from an export taken with `--show-secrets` (what
 * `Stack.exportStack()` runs): the outputs of the root stack resource, which is what
 * `pulumi stack output --json --show-secrets` prints. A stack that never ran has none.
 * Undefined when they hold a value the CLI renders its own way (an asset, an archive, a
 * resource reference) or a secret that is still encrypted: ask the CLI then.
 */
export function stackOutputsOf(exported: unknown): Record<string, unknown> | undefined {
  const root = parseDeployment(exported).resources.find((r) => r.type === ROOT_STACK_TYPE && !r.delete);
  try {
    return reveal(root?.outputs ?? {}) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof NotPlain) return undefined;
    throw err;
  }
}

/** The parts of a URN: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`. */
export function parseUrn(urn: string): { stack: string; project: string; type: string; name: string } {
  const parts = urn.split('::');
  const qualified = parts[2] ?? '';
  return {
    stack: (parts[0] ?? '').replace(/^urn:pulumi:/, ''),
    project: parts[1] ?? '',
    type: qualified.split('$').pop() ?? qualified,
    name: parts.slice(3).join('::'),
  };
}

export const ROOT_STACK_TYPE = 'pulumi:pulumi:Stack';

/** Default providers are created by the engine, not by the program. */
export function isDefaultProvider(type: string, name: string): boolean {
  return type.startsWith('pulumi:providers:') && (name === 'default' || name.startsWith('default_'));
}

/**
 * Whether a resource counts as work in progress reports: everything the program registers
 * (custom resources, components, explicit providers), but not the root stack or the
 * engine's default providers. This matches what a mock run of the program counts.
 */
export function isProgramResource(urn: string): boolean {
  const { type, name } = parseUrn(urn);
  return type !== ROOT_STACK_TYPE && !isDefaultProvider(type, name);
}

/** How many program resources a state holds; the total for a destroy. */
export function countProgramResources(deployment: ParsedDeployment): number {
  return deployment.resources.filter((r) => !r.delete && isProgramResource(r.urn)).length;
}
