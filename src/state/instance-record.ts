/**
 * The instance record: what `create` decided once (provider, region, account, state
 * backend) and the config last applied. `upgrade`, `destroy` and `status` read it instead of
 * scanning regions or guessing. It holds no secrets. It lives with the instance's state
 * (src/state/instance-state.ts): under ~/.lookout/<name>/, or in the shared bucket.
 */
import type { ResolvedConfig } from '../config/load.js';
import type { Provider } from '../config/schema.js';
import { FailureError } from '../errors.js';

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
  /**
   * The bundle an `upgrade` that has not finished is moving to; `bundle` changes only once it
   * has. A plain `upgrade` after an interrupt resumes toward it (and says so).
   */
  upgradingTo?: string;
  config: ResolvedConfig;
  status: InstanceStatus;
  createdAt: string;
  updatedAt: string;
}

/** Refuses a record (or pointer) written in a newer format. */
export function checkRecordVersion(record: { version: number; name: string }): void {
  if (record.version > INSTANCE_RECORD_VERSION) {
    throw new FailureError(`the record of instance "${record.name}" was written by a newer lookout (format ${record.version})`, {
      hint: 'Upgrade lookout to manage this instance.',
    });
  }
}

const state = () => import('./instance-state.js');

/**
 * The record of instance `name`, where `--state stateFlag` (or, without it, this machine)
 * says its state is; undefined when there is none.
 */
export async function readInstanceRecord(name: string, stateFlag?: string): Promise<InstanceRecord | undefined> {
  return (await (await state()).locateInstance(name, stateFlag)).readRecord();
}

/** The record of an instance that must exist, for commands that act on one. */
export async function requireInstanceRecord(name: string, stateFlag?: string): Promise<InstanceRecord> {
  return (await (await state()).requireInstance(name, stateFlag)).record;
}

/** Writes the record where its `stateUrl` says the instance's state is. */
export async function writeInstanceRecord(record: InstanceRecord): Promise<void> {
  await (await (await state()).instanceStateAt(record.name, record.stateUrl)).writeRecord(record);
}

/**
 * Changes fields of the newest record. `stateUrl` says where the state is when this machine
 * may not know yet (a command run elsewhere with `--state`); by default this machine's record
 * or pointer says.
 */
export async function updateInstanceRecord(
  name: string,
  change: Partial<Omit<InstanceRecord, 'version' | 'name'>>,
  stateUrl?: string,
): Promise<InstanceRecord> {
  const { locateInstance, instanceStateAt } = await state();
  const located = stateUrl === undefined ? await locateInstance(name) : await instanceStateAt(name, stateUrl);
  return located.updateRecord(change);
}

/**
 * Records an instance once its preflight passed, before the first cloud change, so a crash
 * mid-create still leaves a record that `status`, resume and `destroy` can use. What an
 * earlier run recorded (bundle, an unfinished upgrade's target, config, status, creation time,
 * creator) is kept.
 */
export async function recordInstanceAtPreflight(
  c: { name: string; config: ResolvedConfig; stateUrl?: string; record?: InstanceRecord },
  where: Pick<InstanceRecord, 'provider' | 'region' | 'accountId'>,
): Promise<void> {
  const now = new Date().toISOString();
  await writeInstanceRecord({
    version: INSTANCE_RECORD_VERSION,
    name: c.name,
    ...where,
    ...(c.stateUrl ? { stateUrl: c.stateUrl } : {}),
    ...(c.record?.adminPrincipalArn ? { adminPrincipalArn: c.record.adminPrincipalArn } : {}),
    bundle: c.record?.bundle ?? c.config.bundle,
    ...(c.record?.upgradingTo ? { upgradingTo: c.record.upgradingTo } : {}),
    config: c.record?.config ?? c.config,
    status: c.record?.status ?? 'creating',
    createdAt: c.record?.createdAt ?? now,
    updatedAt: now,
  });
}
