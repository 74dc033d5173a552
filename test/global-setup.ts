/**
 * Before any test file runs: builds the CLI once (several suites start the real `lookout`
 * binary, and fixtures import `dist/`; they must never run against a stale build), and gives
 * the whole run a temporary directory of its own. Every process of the run (test workers,
 * the CLI, the servers the tests start) inherits it through TMPDIR, so after the run it must be
 * empty: whatever a test leaves behind fails the run, by name.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b'], { cwd: root, stdio: 'inherit' });

  const runTmp = mkdtempSync(join(tmpdir(), 'lookout-test-run-'));
  // Run as root, nginx's workers drop to `nobody` and must reach their temp directories below
  // this one: let them traverse it (not list it), as /tmp itself allows.
  if (process.getuid?.() === 0) chmodSync(runTmp, 0o711);
  process.env.TMPDIR = runTmp;
  return () => {
    const left = readdirSync(runTmp);
    rmSync(runTmp, { recursive: true, force: true });
    if (left.length > 0) {
      // vitest reports an error thrown here but still exits 0: set the code as well.
      process.exitCode = 1;
      throw new Error(`the tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temporary directory: ${left.sort().join(', ')}`);
    }
  };
}
