/**
 * Test support: runs a Pulumi program under the AWS mocks (test/support/mock-run.ts captures
 * each resource's options and indexes resources by the id the mocks gave them), and reads
 * which AWS resource types take tags from the installed type definitions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createAwsMockBehaviour, type AwsMockOptions } from '../../../src/providers/aws/mocks.js';
import type { MockedResource } from '../../../src/plan/mock-runtime.js';
import { ofType, runWithCloudMocks, type MockRun } from '../../../test/support/mock-run.js';

export { countByType, keyOf, ofType, oneOf, type CapturedOptions, type MockRun } from '../../../test/support/mock-run.js';

export const ACCOUNT_ID = '123456789012';
export const REGION = 'eu-west-1';

export async function runWithAwsMocks<O>(
  program: () => Promise<O>,
  options: Partial<AwsMockOptions> & { project?: string; stack?: string } = {},
): Promise<MockRun<O>> {
  const behaviour = createAwsMockBehaviour({ region: REGION, accountId: ACCOUNT_ID, ...options });
  return runWithCloudMocks(program, { behaviour, idOf: behaviour.idOf, typePrefix: 'aws:' }, options);
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
