/**
 * The dependency edges a program run under mocks records (what the plan's critical path
 * follows): input references, explicit dependsOn, components expanded to their children,
 * parents; and the one kind of ordering it cannot see.
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import { runProgramUnderMocks, type MockedResource } from '../../src/plan/mock-runtime.js';

class Thing extends pulumi.CustomResource {
  declare readonly ref: pulumi.Output<string | undefined>;
  constructor(name: string, args: { ref?: pulumi.Input<string> } = {}, opts?: pulumi.CustomResourceOptions) {
    super('test:index:Thing', name, { ref: args.ref }, opts);
  }
}

/** Runs `program`; what it returns becomes stack outputs, which the run waits for. */
async function run(program: () => unknown): Promise<Map<string, MockedResource>> {
  const { resources } = await runProgramUnderMocks(async () => ({ out: program() }), { project: 'deps', stack: 'test' });
  return new Map(resources.map((r) => [r.name, r]));
}

/** The names of the resources `name` waits for. */
function waitsFor(resources: Map<string, MockedResource>, name: string): string[] {
  const byUrn = new Map([...resources.values()].map((r) => [r.urn, r.name]));
  return resources.get(name)!.dependencies.map((urn) => byUrn.get(urn) ?? urn).sort();
}

describe('dependencies recorded under mocks', () => {
  it('has an edge for every input that comes from another resource, directly or through apply', async () => {
    const r = await run(() => {
      const a = new Thing('a');
      new Thing('b', { ref: a.id });
      new Thing('c', { ref: a.id.apply((id) => id.toUpperCase()) });
      new Thing('lone', { ref: 'plain' });
    });
    expect(waitsFor(r, 'a')).toEqual([]);
    expect(waitsFor(r, 'b')).toEqual(['a']);
    expect(waitsFor(r, 'c')).toEqual(['a']);
    expect(waitsFor(r, 'lone')).toEqual([]);
  });

  it('has an edge for dependsOn, one on every child of a component it depends on, and one on a custom parent', async () => {
    const r = await run(() => {
      const a = new Thing('a');
      new Thing('b', {}, { dependsOn: [a] });
      const group = new pulumi.ComponentResource('test:index:Group', 'group');
      new Thing('inside-1', {}, { parent: group });
      new Thing('inside-2', {}, { parent: group });
      new Thing('after-group', {}, { dependsOn: [group] });
      new Thing('child-of-custom', {}, { parent: a });
    });
    expect(waitsFor(r, 'b')).toEqual(['a']);
    // A component's children do not wait for it: it is created at once.
    expect(waitsFor(r, 'inside-1')).toEqual([]);
    expect(waitsFor(r, 'child-of-custom')).toEqual(['a']);
    expect(waitsFor(r, 'after-group')).toEqual(['inside-1', 'inside-2']);
  });

  it('misses the order of a resource registered inside an apply, when no input carries it (as critical-path.ts says)', async () => {
    const r = await run(() => {
      const a = new Thing('a');
      return a.id.apply(() => new Thing('made-in-apply').id);
    });
    expect(r.has('made-in-apply')).toBe(true);
    expect(waitsFor(r, 'made-in-apply')).toEqual([]);
  });
});
