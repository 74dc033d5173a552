/**
 * Test support: runs a Pulumi program under the GCP mocks (test/support/mock-run.ts captures
 * each resource's options and indexes resources by the id the mocks gave them), and reads
 * which GCP resource types take labels from the installed @pulumi/gcp type definitions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGcpMockBehaviour, type GcpMockOptions } from '../../../src/providers/gcp/mocks.js';
import { runWithCloudMocks, type MockRun } from '../../../test/support/mock-run.js';

export { countByType, keyOf, ofType, oneOf, type MockRun } from '../../../test/support/mock-run.js';

export const PROJECT = 'acme-obs';
export const REGION = 'europe-west1';
export const PROJECT_NUMBER = '987654321098';

export async function runWithGcpMocks<O>(
  program: () => Promise<O>,
  options: Partial<GcpMockOptions> & { project?: string; stack?: string } = {},
): Promise<MockRun<O>> {
  const behaviour = createGcpMockBehaviour({ project: PROJECT, region: REGION, projectNumber: PROJECT_NUMBER, ...options });
  return runWithCloudMocks(program, { behaviour, idOf: behaviour.idOf, typePrefix: 'gcp:' }, { project: 'lookout-test', stack: options.stack ?? 'test' });
}

const require = createRequire(import.meta.url);
const gcpPackageDir = dirname(require.resolve('@pulumi/gcp/package.json'));
const labelable = new Map<string, string | undefined>();

/**
 * The field through which a resource type takes GCP labels (`labels`, or `resourceLabels` for
 * GKE clusters), read from its `*Args` interface in the installed @pulumi/gcp type definitions,
 * or undefined when it takes none. The module's file is found by its registered type token
 * (file names do not follow the token's casing: `iAMMember` lives in `iammember.js`), so a
 * newly used type is covered without a list.
 */
export function labelFieldOf(type: string): string | undefined {
  if (labelable.has(type)) return labelable.get(type);
  const match = /^gcp:([^/]+)\/([^:]+):(.+)$/.exec(type);
  if (!match) throw new Error(`not an @pulumi/gcp type token: ${type}`);
  const [, module, , className] = match;
  const dir = join(gcpPackageDir, module!);
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .find((f) => readFileSync(join(dir, f), 'utf8').includes(`__pulumiType = '${type}'`));
  const declarations = file && join(dir, file.replace(/\.js$/, '.d.ts'));
  if (!declarations || !existsSync(declarations)) throw new Error(`no type definitions for ${type} in ${dir}`);
  const source = readFileSync(declarations, 'utf8');
  const start = source.indexOf(`export interface ${className}Args {`);
  if (start < 0) throw new Error(`no ${className}Args interface in ${declarations}`);
  const body = source.slice(start, source.indexOf('\n}', start));
  const field = ['labels', 'resourceLabels'].find((f) => new RegExp(`^ {4}${f}\\?:`, 'm').test(body));
  labelable.set(type, field);
  return field;
}
