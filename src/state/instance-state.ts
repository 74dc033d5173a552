/**
 * Where an instance's own state lives: its lock, its journal and its record.
 *
 * - Default (and `file://` state): files under ~/.lookout/<name>/, guarded by a file lock.
 * - Shared (`--state s3://bucket/prefix` or `gs://bucket/prefix`): objects next to the Pulumi state, under
 *   `<prefix>/.lookout/<name>/` (lock.json, journal.json, instance.json, and secrets.enc),
 *   written with conditional requests (src/state/shared-instance-state.ts), so that every
 *   machine sees the same lock, journal and record. The local directory then holds only a
 *   pointer (the state URL), so later commands on that machine find the bucket without
 *   `--state`; any machine finds the instance with `--state`.
 */
import { UsageError } from '../errors.js';
import { fileInstanceStore, type InstanceStore } from '../engine/instance-store.js';
import { readJsonIfExists, writeFileAtomic } from '../fs-atomic.js';
import { instancePaths } from '../paths.js';
import { resolveBackend } from '../pulumi/backend.js';
import { checkRecordVersion, type InstanceRecord, type InstanceStatus } from './instance-record.js';

export interface InstanceState extends InstanceStore {
  readonly name: string;
  /** True when the state is in a bucket that other machines use too. */
  readonly shared: boolean;
  /** Where the record is looked for, for messages: a path or a URL. */
  readonly recordLocation: string;
  readRecord(): Promise<InstanceRecord | undefined>;
  writeRecord(record: InstanceRecord): Promise<void>;
  /** Applies `change` to the newest record and writes it; throws when there is none. */
  updateRecord(change: Partial<Omit<InstanceRecord, 'version' | 'name'>>): Promise<InstanceRecord>;
}

/** What ~/.lookout/<name>/instance.json holds: a full record (local state), or where the shared state is. */
export interface StatePointer {
  version: 1;
  name: string;
  stateUrl: string;
  status: InstanceStatus;
}

type LocalEntry = InstanceRecord | StatePointer;

function isPointer(entry: LocalEntry): entry is StatePointer {
  return !('provider' in entry);
}

async function readLocalEntry(name: string): Promise<LocalEntry | undefined> {
  const entry = await readJsonIfExists<LocalEntry>(instancePaths(name).instanceRecord);
  if (entry) checkRecordVersion(entry);
  return entry;
}

async function writeLocalEntry(entry: LocalEntry): Promise<void> {
  await writeFileAtomic(instancePaths(entry.name).instanceRecord, JSON.stringify(entry, null, 2) + '\n', { mode: 0o600 });
}

/** The pointer left on this machine for an instance whose state is shared. */
export function writeStatePointer(record: InstanceRecord & { stateUrl: string }): Promise<void> {
  return writeLocalEntry({ version: 1, name: record.name, stateUrl: record.stateUrl, status: record.status });
}

/**
 * A full record left under ~/.lookout/<name>/ by a lookout that kept shared instances'
 * records on the machine that created them; read until the bucket has one of its own.
 */
export async function legacyLocalRecord(name: string, stateUrl: string): Promise<InstanceRecord | undefined> {
  const entry = await readLocalEntry(name);
  if (!entry || isPointer(entry) || entry.stateUrl === undefined) return undefined;
  return resolveBackend(name, entry.stateUrl).url === resolveBackend(name, stateUrl).url ? entry : undefined;
}

function localInstanceState(name: string): InstanceState {
  const paths = instancePaths(name);
  const files = fileInstanceStore(paths.journal, paths.lock);
  const readRecord = async () => {
    const entry = await readLocalEntry(name);
    return entry && !isPointer(entry) ? entry : undefined;
  };
  const writeRecord = (record: InstanceRecord) => writeLocalEntry(record);
  return {
    ...files,
    name,
    shared: false,
    recordLocation: paths.instanceRecord,
    readRecord,
    writeRecord,
    async updateRecord(change) {
      const record = await readRecord();
      if (!record) throw unknownInstance(name, paths.dir);
      const updated = { ...record, ...change, updatedAt: new Date().toISOString() };
      await writeRecord(updated);
      return updated;
    },
  };
}

export function unknownInstance(name: string, where: string, stateUrl?: string): UsageError {
  return stateUrl
    ? new UsageError(`no instance named "${name}" is in ${stateUrl} (looked for ${where})`, {
        hint: `Check the bucket and prefix of --state, or create the instance with \`lookout create <provider> ${name} -c <file> --state ${stateUrl}\`.`,
      })
    : new UsageError(`no instance named "${name}" is known on this machine (looked in ${where})`, {
        hint: 'Create it with `lookout create aws <name> -c <file>`, pass --state with the bucket its state is in, or set LOOKOUT_HOME to where its state lives.',
      });
}

/** The state of an instance that keeps it at `stateUrl` (undefined: the default local state). */
export async function instanceStateAt(name: string, stateUrl: string | undefined): Promise<InstanceState> {
  const backend = resolveBackend(name, stateUrl);
  if (backend.kind === 'file') return localInstanceState(name);
  const { sharedInstanceState } = await import('./shared-instance-state.js');
  return sharedInstanceState(name, stateUrl!, backend);
}

/**
 * The state of instance `name` for a command given `--state stateFlag` (or not): the flag's
 * backend, checked against what this machine knows of the instance; without the flag, where
 * this machine's record or pointer says.
 */
export async function locateInstance(name: string, stateFlag?: string): Promise<InstanceState> {
  const local = await readLocalEntry(name);
  if (stateFlag === undefined) return instanceStateAt(name, local?.stateUrl);
  const wanted = resolveBackend(name, stateFlag).url;
  if (local && local.status !== 'destroyed' && resolveBackend(name, local.stateUrl).url !== wanted) {
    throw new UsageError(`--state: instance "${name}" keeps its state in ${local.stateUrl ?? 'the default local backend'}`, {
      hint: local.stateUrl ? `Pass --state ${local.stateUrl}, or leave it out.` : 'Leave out --state.',
    });
  }
  return instanceStateAt(name, stateFlag);
}

/** An instance that must exist, for commands that act on one: its state and its record. */
export async function requireInstance(name: string, stateFlag?: string): Promise<{ state: InstanceState; record: InstanceRecord }> {
  const state = await locateInstance(name, stateFlag);
  const record = await state.readRecord();
  if (!record) throw unknownInstance(name, state.recordLocation, state.shared ? stateFlag : undefined);
  return { state, record };
}
