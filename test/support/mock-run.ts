/**
 * Test support for stack programs under a cloud's mocks: runs a program and exposes what the
 * mocks cannot show on their own: each resource's options (retainOnDelete, dependsOn,
 * ignoreChanges), captured with a stack transformation, and an index of the cloud's resources
 * by the id the mocks gave them, so references between resources can be followed.
 */
import * as pulumi from '@pulumi/pulumi';
import { runProgramUnderMocks, type MockBehaviour, type MockedResource } from '../../src/plan/mock-runtime.js';

export interface CapturedOptions {
  retainOnDelete?: boolean;
  deleteBeforeReplace?: boolean;
  /** The id of an existing resource the program adopts (the `import` option). */
  import?: string;
  ignoreChanges: string[];
  /** Keys (`type::name`) of the resources this one explicitly depends on. */
  dependsOn: string[];
}

export interface MockRun<O> {
  /** The program's outputs, resolved and with secrets unwrapped. */
  outputs: pulumi.Unwrap<O>;
  /** The program's outputs as returned, still Outputs (to check secretness). */
  rawOutputs: O;
  resources: MockedResource[];
  options: Map<string, CapturedOptions>;
  byId: Map<string, MockedResource>;
}

export const keyOf = (r: { type: string; name: string }): string => `${r.type}::${r.name}`;

export async function runWithCloudMocks<O>(
  program: () => Promise<O>,
  cloud: { behaviour: MockBehaviour; idOf(type: string, name: string, inputs: Record<string, any>): string; typePrefix: string },
  options: { project?: string; stack?: string } = {},
): Promise<MockRun<O>> {
  const captured = new Map<string, CapturedOptions>();
  const keys = new Map<pulumi.Resource, string>();
  let rawOutputs: O | undefined;
  const result = await runProgramUnderMocks(
    async () => {
      pulumi.runtime.registerStackTransformation(({ resource, type, name, opts: resourceOpts }) => {
        const opts = resourceOpts as pulumi.CustomResourceOptions;
        keys.set(resource, `${type}::${name}`);
        const dependsOn = ([] as unknown[]).concat(opts.dependsOn ?? []);
        captured.set(`${type}::${name}`, {
          ...(opts.retainOnDelete === undefined ? {} : { retainOnDelete: opts.retainOnDelete }),
          ...(opts.deleteBeforeReplace === undefined ? {} : { deleteBeforeReplace: opts.deleteBeforeReplace }),
          ...(opts.import === undefined ? {} : { import: opts.import }),
          ignoreChanges: opts.ignoreChanges ?? [],
          dependsOn: dependsOn.map((d) => keys.get(d as pulumi.Resource) ?? '<unknown>'),
        });
        return undefined;
      });
      rawOutputs = await program();
      return rawOutputs;
    },
    { project: options.project ?? 'lookout-test', stack: options.stack ?? 'test', behaviour: cloud.behaviour },
  );
  const byId = new Map<string, MockedResource>();
  for (const r of result.resources) if (r.custom && r.type.startsWith(cloud.typePrefix)) byId.set(cloud.idOf(r.type, r.name, r.inputs), r);
  return { outputs: result.outputs as pulumi.Unwrap<O>, rawOutputs: rawOutputs as O, resources: result.resources, options: captured, byId };
}

export function ofType(resources: readonly MockedResource[], type: string): MockedResource[] {
  return resources.filter((r) => r.type === type);
}

export function oneOf(resources: readonly MockedResource[], type: string): MockedResource {
  const found = ofType(resources, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

export function countByType(resources: readonly MockedResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return counts;
}
