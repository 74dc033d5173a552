// Types of scripts/bundles-lib.mjs, for the test suites that import it.
export interface BundleFile {
  file: string;
  manifest: { version: string; previous: string | null; migrations: Array<{ id: string; description: string }>; [field: string]: unknown };
}
export function compareVersions(a: string, b: string): number;
export function nextVersion(version: string): string;
export function readBundles(dir: string): BundleFile[];
export function chainProblems(bundles: readonly BundleFile[]): string[];
export function nextBundle(newest: Record<string, unknown>, version: string, released: string): Record<string, unknown>;
export function createNextBundle(dir: string, options: { version?: string; released: string }): { path: string; version: string; previous: string };
