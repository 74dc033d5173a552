/**
 * The mock monitor's half of a run under Pulumi mocks: it answers registrations and provider
 * function calls from a MockBehaviour and records what the program registered. It has no
 * runtime dependency on @pulumi/pulumi, so that the SDK driving it can be chosen: the CLI's own
 * (runProgramUnderMocks), or the one installed next to a program in a consumer project (the
 * package tests), where the program and its mocks must share one SDK.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { MockBehaviour, MockedResource } from './mock-runtime.js';
import { isSecretEnvelope } from '../pulumi/special-values.js';

export class UnmockedCallError extends Error {}

/** A registration as the monitor saw it; `key` is `<type>::<name>`. */
export type RecordedResource = Omit<MockedResource, 'urn' | 'parentType' | 'dependencies'> & { key: string };

export interface MockRecorder {
  /** For `pulumi.runtime.setMocks`. */
  mocks: pulumi.runtime.Mocks;
  registered: RecordedResource[];
  /**
   * Rejects with the first error thrown inside a mock. Such an error only rejects that
   * resource's outputs, and when nothing awaits them the program would wait forever: race the
   * program against this instead.
   */
  failed: Promise<never>;
  /** The first error thrown inside a mock, if any. */
  firstError(): unknown;
}

/** What `redactedInputs` holds in place of a secret. */
export const REDACTED_SECRET = '<redacted secret>';

/** Unwraps Pulumi's serialized secret envelopes so assertions see plain values. */
export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === 'object') {
    if (isSecretEnvelope(value)) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Replaces every secret envelope with REDACTED_SECRET, for output users may share. */
function redactSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === 'object') {
    if (isSecretEnvelope(value)) return REDACTED_SECRET;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
  }
  return value;
}

export function createMockRecorder(behaviour: MockBehaviour = {}): MockRecorder {
  const registered: RecordedResource[] = [];
  let firstError: unknown;
  let failRun: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    failRun = reject;
  });
  failed.catch(() => {});
  const guard = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      firstError ??= err;
      failRun(err);
      throw err;
    }
  };
  function newResource(args: pulumi.runtime.MockResourceArgs) {
    const inputs = unwrapSecrets(args.inputs ?? {});
    const extra = behaviour.outputs?.({ ...args, inputs }) ?? {};
    const state = { ...inputs, ...extra };
    const id = args.custom === false ? undefined : (behaviour.id?.({ ...args, inputs }) ?? `${args.name}-id`);
    registered.push({
      key: `${args.type}::${args.name}`,
      type: args.type,
      name: args.name,
      custom: args.custom !== false,
      inputs,
      redactedInputs: redactSecrets(args.inputs ?? {}),
      state,
      provider: args.provider,
    });
    return { id, state };
  }
  function call(args: pulumi.runtime.MockCallArgs) {
    if (!behaviour.call) throw new UnmockedCallError(`no mock for provider function ${args.token}`);
    return behaviour.call({ ...args, inputs: unwrapSecrets(args.inputs ?? {}) });
  }
  return {
    mocks: {
      newResource: (args) => guard(() => newResource(args)),
      call: (args) => guard(() => call(args)),
    },
    registered,
    failed,
    firstError: () => firstError,
  };
}
