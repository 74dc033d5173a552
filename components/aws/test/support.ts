/**
 * Test support: runs a Pulumi program under the AWS mocks and exposes what the mocks cannot
 * show on their own: each resource's options (retainOnDelete, dependsOn, ignoreChanges),
 * captured with a stack transformation, and an index of resources by the id the mocks
 * gave them, so references between resources can be followed.
 */
import * as pulumi from '@pulumi/pulumi';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createAwsMockBehaviour, type AwsMockOptions } from '../../../src/providers/aws/mocks.js';
import { runProgramUnderMocks, type MockedResource } from '../../../src/plan/mock-runtime.js';

export const ACCOUNT_ID = '123456789012';
export const REGION = 'eu-west-1';

export interface CapturedOptions {
  retainOnDelete?: boolean;
  deleteBeforeReplace?: boolean;
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

export async function runWithAwsMocks<O>(
  program: () => Promise<O>,
  options: Partial<AwsMockOptions> & { project?: string; stack?: string } = {},
): Promise<MockRun<O>> {
  const behaviour = createAwsMockBehaviour({ region: REGION, accountId: ACCOUNT_ID, ...options });
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
          ignoreChanges: opts.ignoreChanges ?? [],
          dependsOn: dependsOn.map((d) => keys.get(d as pulumi.Resource) ?? '<unknown>'),
        });
        return undefined;
      });
      rawOutputs = await program();
      return rawOutputs;
    },
    { project: options.project ?? 'lookout-test', stack: options.stack ?? 'test', behaviour },
  );
  const byId = new Map<string, MockedResource>();
  for (const r of result.resources) if (r.custom && r.type.startsWith('aws:')) byId.set(behaviour.idOf(r.type, r.name, r.inputs), r);
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

export interface PolicyStatementJson {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export interface FoundPolicy {
  resource: MockedResource;
  field: string;
  statements: PolicyStatementJson[];
}

/** Every IAM-style policy document registered as an input, wherever it appears. */
export function policyDocuments(resources: readonly MockedResource[]): FoundPolicy[] {
  const found: FoundPolicy[] = [];
  for (const resource of resources) {
    for (const field of ['policy', 'assumeRolePolicy']) {
      const value = resource.inputs[field];
      if (value === undefined) continue;
      const doc = typeof value === 'string' ? JSON.parse(value) : value;
      const statements = ([] as PolicyStatementJson[]).concat(doc.Statement);
      found.push({ resource, field, statements });
    }
  }
  return found;
}

export const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

const require = createRequire(import.meta.url);
const awsPackageDir = dirname(require.resolve('@pulumi/aws/package.json'));
const taggable = new Map<string, boolean>();

/**
 * Whether a resource type accepts tags, read from its `*Args` interface in the installed
 * @pulumi/aws type definitions, so a newly used resource type is covered without a list.
 */
export function isTaggableAwsType(type: string): boolean {
  const cached = taggable.get(type);
  if (cached !== undefined) return cached;
  const match = /^aws:([^/]+)\/([^:]+):(.+)$/.exec(type);
  if (!match) throw new Error(`not an @pulumi/aws type token: ${type}`);
  const [, module, file, className] = match;
  const path = join(awsPackageDir, module === 'index' ? '' : module!, `${file}.d.ts`);
  if (!existsSync(path)) throw new Error(`no type definitions for ${type} at ${path}`);
  const source = readFileSync(path, 'utf8');
  const start = source.indexOf(`export interface ${className}Args {`);
  if (start < 0) throw new Error(`no ${className}Args interface in ${path}`);
  const body = source.slice(start, source.indexOf('\n}', start));
  const result = /^\s+tags\?:/m.test(body);
  taggable.set(type, result);
  return result;
}

export interface SubnetEgress {
  subnet: MockedResource;
  availabilityZone: string;
  /** Where the subnet's 0.0.0.0/0 route leads. */
  via: 'internet-gateway' | 'nat-gateway' | 'none';
  /** The NAT gateway, for private subnets. */
  nat?: MockedResource;
  /** The AZ of the NAT gateway's own subnet. */
  natAvailabilityZone?: string;
  routeTable?: MockedResource;
}

/** Follows each subnet's association, route table and default route, by id. */
export function subnetEgress(run: MockRun<unknown>): SubnetEgress[] {
  const subnets = ofType(run.resources, 'aws:ec2/subnet:Subnet');
  const associations = ofType(run.resources, 'aws:ec2/routeTableAssociation:RouteTableAssociation');
  const routes = ofType(run.resources, 'aws:ec2/route:Route');
  const idOf = (r: MockedResource) => [...run.byId].find(([, v]) => v === r)![0];
  return subnets.map((subnet) => {
    const availabilityZone = String(subnet.inputs.availabilityZone);
    const association = associations.find((a) => a.inputs.subnetId === idOf(subnet));
    const routeTable = association ? run.byId.get(association.inputs.routeTableId) : undefined;
    const route = routeTable
      ? routes.find((r) => r.inputs.routeTableId === idOf(routeTable) && r.inputs.destinationCidrBlock === '0.0.0.0/0')
      : undefined;
    if (route?.inputs.natGatewayId) {
      const nat = run.byId.get(route.inputs.natGatewayId)!;
      const natSubnet = run.byId.get(nat.inputs.subnetId)!;
      return {
        subnet,
        availabilityZone,
        via: 'nat-gateway',
        nat,
        natAvailabilityZone: String(natSubnet.inputs.availabilityZone),
        ...(routeTable ? { routeTable } : {}),
      };
    }
    const viaIgw = route?.inputs.gatewayId && run.byId.get(route.inputs.gatewayId)?.type === 'aws:ec2/internetGateway:InternetGateway';
    return { subnet, availabilityZone, via: viaIgw ? 'internet-gateway' : 'none', ...(routeTable ? { routeTable } : {}) };
  });
}
