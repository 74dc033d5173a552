// Types of scripts/packages-lib.mjs, for the test suites that import it.
export interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}
export interface WorkspacePackage {
  name: string;
  version: string;
  /** Absolute path of the package's directory. */
  dir: string;
  /** Its path from the repository root; '' for the root package. */
  location: string;
  manifest: Manifest;
}
export function npm(args: string[], options?: object): string;
export function publishablePackages(root: string): WorkspacePackage[];
export function internalDependencies(pkg: WorkspacePackage, names: Set<string>): string[];
export function releaseOrder(packages: WorkspacePackage[]): WorkspacePackage[];
export function packedFiles(root: string): Map<string, string[]>;
export function importedSpecifiers(code: string): string[];
export function entryPoints(manifest: Manifest): Array<{ field: string; target: string }>;
export function tarballProblems(pkg: WorkspacePackage, files: string[], context: { root: string; packages: WorkspacePackage[] }): string[];
export function publishPackage(root: string, pkg: WorkspacePackage, options?: { env?: NodeJS.ProcessEnv }): Promise<void>;
