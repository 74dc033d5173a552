/**
 * Where an instance keeps its local state. `LOOKOUT_HOME` moves the whole tree (tests use it
 * to stay out of the real home directory).
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function lookoutHome(): string {
  return process.env.LOOKOUT_HOME || join(homedir(), '.lookout');
}

export function instancePaths(instance: string) {
  const dir = join(lookoutHome(), instance);
  return {
    dir,
    journal: join(dir, 'journal.json'),
    lock: join(dir, 'lock.json'),
    instanceRecord: join(dir, 'instance.json'),
    kubeconfig: join(dir, 'kubeconfig'),
    /** The default Pulumi file backend. */
    pulumiState: join(dir, 'state'),
    /** Pulumi project workspaces (inline programs need a working directory). */
    workspaces: join(dir, 'workspaces'),
  };
}

/** Where a pinned Pulumi CLI is installed when none is on PATH. */
export function pulumiInstallRoot(): string {
  return join(lookoutHome(), 'pulumi');
}
