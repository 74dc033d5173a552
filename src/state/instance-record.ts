/**
 * The instance record: what `create` decided once (provider, region, account, state
 * backend) and the config last applied. `upgrade`, `destroy` and `status` read it instead of
 * scanning regions or guessing. It holds no secrets.
 */
import type { ResolvedConfig } from '../config/load.js';
import type { Provider } from '../config/schema.js';
import { FailureError, UsageError } from '../errors.js';
import { readJsonIfExists, writeFileAtomic } from '../fs-atomic.js';
import { instancePaths } from '../paths.js';

export const INSTANCE_RECORD_VERSION = 1;

export type InstanceStatus = 'creating' | 'ready' | 'upgrading' | 'destroying' | 'destroyed';

export interface InstanceRecord {
  version: typeof INSTANCE_RECORD_VERSION;
  name: string;
  provider: Provider;
  region: string;
  accountId: string;
  /** The identity that created the instance; it stays cluster admin whoever runs later commands. */
  adminPrincipalArn?: string;
  /** The `--state` URL; absent means the default file backend under ~/.lookout/<name>/. */
  stateUrl?: string;
  bundle: string;
  config: ResolvedConfig;
  status: InstanceStatus;
  createdAt: string;
  updatedAt: string;
}

export async function readInstanceRecord(name: string): Promise<InstanceRecord | undefined> {
  const record = await readJsonIfExists<InstanceRecord>(instancePaths(name).instanceRecord);
  if (record && record.version > INSTANCE_RECORD_VERSION) {
    throw new FailureError(`the record of instance "${name}" was written by a newer lookout (format ${record.version})`, {
      hint: 'Upgrade lookout to manage this instance.',
    });
  }
  return record;
}

/** The record of an instance that must exist, for commands that act on one. */
export async function requireInstanceRecord(name: string): Promise<InstanceRecord> {
  const record = await readInstanceRecord(name);
  if (!record) {
    throw new UsageError(`no instance named "${name}" is known on this machine (looked in ${instancePaths(name).dir})`, {
      hint: 'Create it with `lookout create aws <name> -c <file>`, or set LOOKOUT_HOME to where its state lives.',
    });
  }
  return record;
}

export async function writeInstanceRecord(record: InstanceRecord): Promise<void> {
  await writeFileAtomic(instancePaths(record.name).instanceRecord, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
}

export async function updateInstanceRecord(name: string, change: Partial<Omit<InstanceRecord, 'version' | 'name'>>): Promise<InstanceRecord> {
  const record = await requireInstanceRecord(name);
  const updated = { ...record, ...change, updatedAt: new Date().toISOString() };
  await writeInstanceRecord(updated);
  return updated;
}
