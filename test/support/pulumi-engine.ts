/**
 * The real Pulumi engine for tests: the CLI built at @pulumi/pulumi's version and the
 * Kubernetes provider built at @pulumi/kubernetes's, registered in a throwaway PULUMI_HOME
 * from the local files (`pulumi plugin install --file`), so nothing is ever downloaded:
 * automatic plugin acquisition and update checks are off.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { testBinaries, type Binaries } from './test-binaries.js';

const require = createRequire(import.meta.url);
const exec = promisify(execFile);

export function engineBinaries(): Binaries {
  return testBinaries(['pulumi', 'pulumi-resource-kubernetes']);
}

export interface PulumiEngine {
  /** The directory holding the `pulumi` binary, to put first on PATH. */
  binDir: string;
  pulumiHome: string;
  /** Environment for anything that runs the engine: PATH, PULUMI_HOME, no network fetches. */
  env: Record<string, string>;
  dispose(): void;
}

/** The plugin version @pulumi/kubernetes asks the engine for. */
export function kubernetesPluginVersion(): string {
  const pkg = require('@pulumi/kubernetes/package.json') as { version: string; pulumi?: { version?: string } };
  return pkg.pulumi?.version ?? pkg.version;
}

export async function preparePulumiEngine(): Promise<PulumiEngine> {
  const binaries = engineBinaries();
  if (binaries.missing) throw new Error(binaries.missing);
  const pulumi = binaries.paths.pulumi!;
  const pulumiHome = mkdtempSync(join(tmpdir(), 'lookout-pulumi-home-'));
  const env: Record<string, string> = {
    PATH: [dirname(pulumi), process.env.PATH ?? ''].join(delimiter),
    PULUMI_HOME: pulumiHome,
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: 'false',
  };
  await exec(
    pulumi,
    ['plugin', 'install', 'resource', 'kubernetes', kubernetesPluginVersion(), '--file', binaries.paths['pulumi-resource-kubernetes']!, '--non-interactive'],
    { env: { ...process.env, ...env } },
  );
  return {
    binDir: dirname(pulumi),
    pulumiHome,
    env,
    dispose: () => rmSync(pulumiHome, { recursive: true, force: true }),
  };
}
