/**
 * The kubeconfig in Lookout's Kubernetes stacks runs `lookout kube-token`. Pulumi keeps that
 * kubeconfig in the state, which a team shares, so it must not name a path of this machine:
 * it names plain `lookout`, and each machine puts a shim of its own installation first on
 * the PATH of the Pulumi processes.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import { lookoutHome } from '../paths.js';
import { lookoutBinary } from './provider-kubeconfig.js';

export const SHIM_COMMAND = 'lookout';

function shimScript(): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\n# Written by lookout: runs this machine's lookout for Pulumi's Kubernetes provider.\nexec ${quote(process.execPath)} ${quote(lookoutBinary())} "$@"\n`;
}

/** Writes (or refreshes) the shim and returns the PATH the Pulumi processes should get. */
export async function ensureLookoutShim(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = join(lookoutHome(), 'bin');
  const file = join(dir, SHIM_COMMAND);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const script = shimScript();
  const current = await readFile(file, 'utf8').catch(() => undefined);
  // Replaced whole (a temporary file renamed into place): tenant stacks running at the same
  // time each ensure it, and one engine must never run a half-written shim.
  if (current !== script) await writeFileAtomic(file, script, { mode: 0o700 });
  return [dir, env.PATH ?? ''].filter(Boolean).join(delimiter);
}
