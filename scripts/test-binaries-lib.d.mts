// Types of scripts/test-binaries-lib.mjs, for the test suites that import it.
export const PINNED_FILE: string;
export function cacheRoot(): string;
export function loadPinned(): unknown[];
export function entryKey(entry: { name: string; version: string }): string;
export function binDir(entry: { name: string; version: string }): string;
export function recipeHash(entry: object): string;
export function manifestPath(): string;
export function readManifest(): { builds: Record<string, unknown> };
export function upstreamReplaces(goModText: string): string[][];
export function wrapperGoMod(entry: { name: string; module: string; version: string; siblings?: string }, upstreamGoMod: string, sourceDir?: string): string;
export function upstreamRequires(goModText: string): Record<string, string>;
