/**
 * Runs a real stack program under Pulumi's mock runtime: no engine, no credentials, no
 * network. `plan` uses it to show what would be created, and tests use it to assert the
 * resource graph. Each call is one stack; calls must not overlap (the runtime is global).
 */
import * as pulumi from '@pulumi/pulumi';
import { createRequire } from 'node:module';
import { createMockRecorder, unwrapSecrets } from './mock-recorder.js';

const require = createRequire(import.meta.url);
// `waitForRPCs` is not re-exported by the package index; it is how the SDK itself drains
// outstanding registrations before disconnecting.
const settings = require('@pulumi/pulumi/runtime/settings.js') as { waitForRPCs(): Promise<void> };

export interface MockedResource {
  /** Pulumi type token, e.g. `kubernetes:core/v1:Service`. */
  type: string;
  /** Logical name. */
  name: string;
  urn: string;
  /** The type of the resource's immediate parent, when it has one (from the URN). */
  parentType?: string;
  /**
   * URNs of the resources this one waits for, exactly as the SDK sent them to the engine in
   * the registration: explicit `dependsOn` and every resource whose outputs flow into its
   * inputs, with components expanded to their custom children; plus its parent when that is a
   * custom resource.
   */
  dependencies: string[];
  /** True for provider-managed resources, false for components. */
  custom: boolean;
  /** Inputs exactly as the program registered them (secrets unwrapped). */
  inputs: Record<string, any>;
  /** The same inputs with every value the program marked secret replaced by `REDACTED_SECRET`. */
  redactedInputs: Record<string, any>;
  /** The state the mock returned (inputs plus synthesized outputs). */
  state: Record<string, any>;
  provider?: string;
}

export interface MockBehaviour {
  /**
   * Outputs a real provider would compute for a resource (ARNs, ids, endpoints), merged
   * over its inputs. Return undefined for "nothing extra".
   */
  outputs?(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> | undefined;
  /** Results of provider function calls (invokes). */
  call?(args: pulumi.runtime.MockCallArgs): Record<string, unknown>;
  /** Physical id for a resource; defaults to `<name>-id`. */
  id?(args: pulumi.runtime.MockResourceArgs): string;
}

export interface MockRunResult<O> {
  outputs: O;
  resources: MockedResource[];
}

export interface MockRunOptions {
  project: string;
  stack: string;
  behaviour?: MockBehaviour;
  /** Run as a preview (`pulumi.runtime.isDryRun()` is true); `plan` runs as an update. */
  preview?: boolean;
}

export { REDACTED_SECRET, UnmockedCallError } from './mock-recorder.js';

function parentTypeFromUrn(urn: string): string | undefined {
  const qualified = urn.split('::')[2] ?? '';
  const parts = qualified.split('$');
  return parts.length > 1 ? parts[parts.length - 2] : undefined;
}

/** The part of the SDK's RegisterResourceRequest (protobuf) read here. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}
interface MockMonitorInternals {
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterRequest, callback: (...args: unknown[]) => void): Promise<void>;
}

/**
 * The mocks' `newResource` gets no dependencies (MockResourceArgs has type, name, inputs,
 * provider, custom and id only, in @pulumi/pulumi 3.x), but the registration request the mock
 * monitor receives carries them, as the engine would receive them. This wraps the monitor that
 * `setMocks` just installed to keep each registration's dependency URNs and its parent, keyed
 * by the URN the monitor gives the resource.
 */
function recordDependencies(): Map<string, { parent: string; dependencies: string[] }> {
  const byUrn = new Map<string, { parent: string; dependencies: string[] }>();
  const monitor = (pulumi.runtime as any).getMonitor?.() as MockMonitorInternals | undefined;
  if (!monitor || typeof monitor.registerResource !== 'function' || typeof monitor.newUrn !== 'function') return byUrn;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    const parent = req.getParent();
    byUrn.set(monitor.newUrn(parent, req.getType(), req.getName()), { parent, dependencies: req.getDependenciesList() });
    return register(req, callback);
  };
  return byUrn;
}

export async function runProgramUnderMocks<O>(
  program: () => Promise<O>,
  options: MockRunOptions,
): Promise<MockRunResult<O>> {
  const { mocks, registered, failed, firstError } = createMockRecorder(options.behaviour);
  await pulumi.runtime.setMocks(mocks, options.project, options.stack, options.preview ?? false);
  const dependenciesByUrn = recordDependencies();
  // The SDK captures a stack trace for every promise and resource it creates, only for debug
  // output; formatting them is a third of a large plan's time. Kept with --debug.
  const stackTraceLimit = Error.stackTraceLimit;
  if (process.env.LOOKOUT_DEBUG !== '1') Error.stackTraceLimit = 0;
  let outputs: O;
  try {
    outputs = (await Promise.race([pulumi.runtime.runInPulumiStack(program), failed])) as O;
    await Promise.race([settings.waitForRPCs(), failed]);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (firstError()) throw firstError();

  // The mock monitor knows each resource's URN, and a URN carries its parent's type.
  const monitor = (pulumi.runtime as any).getMonitor?.() as { resources?: Map<string, { urn: string }> } | undefined;
  const urnsByKey = new Map<string, string>();
  for (const urn of monitor?.resources?.keys() ?? []) {
    const [, , qualified = '', name = ''] = urn.split('::');
    urnsByKey.set(`${qualified.split('$').pop()}::${name}`, urn);
  }
  const withUrns = registered
    .filter((r) => r.type !== 'pulumi:pulumi:Stack')
    .map(({ key, ...r }) => ({ ...r, urn: urnsByKey.get(key) ?? `urn:pulumi:${options.stack}::${options.project}::${r.type}::${r.name}` }));
  // A child waits for a custom parent (the SDK awaits the parent's URN, which a real engine
  // gives once the parent is created), not for a component or the stack.
  const customUrns = new Set(withUrns.filter((r) => r.custom).map((r) => r.urn));
  const resources = withUrns.map((r) => {
    const recorded = dependenciesByUrn.get(r.urn);
    const parent = recorded && customUrns.has(recorded.parent) ? [recorded.parent] : [];
    return { ...r, parentType: parentTypeFromUrn(r.urn), dependencies: [...new Set([...parent, ...(recorded?.dependencies ?? [])])] };
  });
  return { outputs: unwrapSecrets(outputs) as O, resources };
}

/**
 * The top-level component a resource belongs to, found by walking parent types. Resources
 * created directly in the stack program are their own group.
 */
export function topLevelComponentOf(resource: MockedResource, all: readonly MockedResource[]): string {
  const parentOfType = new Map<string, string | undefined>();
  for (const r of all) if (!r.custom) parentOfType.set(r.type, r.parentType);
  let type = resource.type;
  let parent = resource.parentType;
  const seen = new Set<string>();
  while (parent && parent !== 'pulumi:pulumi:Stack' && !seen.has(parent)) {
    seen.add(parent);
    type = parent;
    parent = parentOfType.get(parent);
  }
  return type;
}
