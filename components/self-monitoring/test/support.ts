/**
 * Test support: finding the real Prometheus tools (a suite that needs one is skipped by name,
 * with the install command, when it is missing), running them, and temp directories.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS_TOOLS_HINT = 'apt-get install prometheus prometheus-alertmanager';

/** True when `tool --version` runs. */
export function hasTool(tool: string): boolean {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

/** A describe title that says why the suite is skipped, and a warning in the run's output. */
export function toolSuiteTitle(title: string, tool: string, available: boolean, hint: string): string {
  if (available) return title;
  console.warn(`SKIPPED "${title}": ${tool} is not installed (${hint})`);
  return `${title} [SKIPPED: ${tool} not installed; ${hint}]`;
}

export interface ToolRun {
  status: number | null;
  output: string;
}

export function runTool(tool: string, args: string[], cwd?: string): ToolRun {
  const r = spawnSync(tool, args, { encoding: 'utf8', ...(cwd ? { cwd } : {}), timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export function withTempDir<T>(prefix: string, fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), `lookout-${prefix}-`));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Dashboard variables replaced by values PromQL accepts, so each query can be parsed and checked. */
export function substituteVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__interval', '5m')
    .replaceAll('$namespace', 'lookout')
    .replaceAll('$tenant', 'acme')
    .replaceAll('$replication_factor', '3');
}
