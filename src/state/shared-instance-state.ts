/**
 * An instance's lock, journal and record in a shared bucket, next to its Pulumi state:
 *
 *   <prefix>/.pulumi/…                         Pulumi's own state and stack locks
 *   <prefix>/.lookout/<name>/lock.json         the instance lock (src/state/object-lock.ts)
 *   <prefix>/.lookout/<name>/journal.json      the journal; written only by the lock holder,
 *                                              each write conditional on the version it read
 *   <prefix>/.lookout/<name>/instance.json     the record; every change is a conditional
 *                                              read-modify-write, retried on a conflict
 *   <prefix>/.lookout/<name>/secrets.enc       the sealed secrets (src/state/secret-store.ts)
 *
 * The same code serves S3 (conditional requests on ETags) and GCS (generation preconditions):
 * each store fills ConditionalObjects (src/pulumi/diy-store.ts, src/pulumi/gcs-store.ts).
 */
import { parseJournal, readJournal as readJournalFile, type Journal } from '../engine/journal.js';
import { parseLock, type AcquireLockOptions, type LockInfo } from '../engine/lock.js';
import { FailureError } from '../errors.js';
import { instancePaths } from '../paths.js';
import type { Backend } from '../pulumi/backend.js';
import { storeFor, type ConditionalObjects, type DiyStore } from '../pulumi/diy-store.js';
import { explainStoreError } from '../pulumi/store-errors.js';
import { checkRecordVersion, type InstanceRecord } from './instance-record.js';
import { legacyLocalRecord, unknownInstance, writeStatePointer, type InstanceState } from './instance-state.js';
import { acquireObjectLock, type ObjectLock, type ObjectLockOptions } from './object-lock.js';

/** The keys of an instance's own objects, relative to the backend root. */
export function instanceStateKeys(name: string) {
  const dir = `.lookout/${name}`;
  return { lock: `${dir}/lock.json`, journal: `${dir}/journal.json`, record: `${dir}/instance.json` };
}

export interface SharedStateOptions {
  /** The backend's store; by default derived from the backend. */
  store?: DiyStore;
  /** Passed to the lock (tests shorten the lease). */
  lock?: Pick<ObjectLockOptions, 'leaseMs' | 'probe'>;
}

/** Conditional writes that did not go through after this many fresh reads: something keeps writing. */
const MAX_ATTEMPTS = 8;

export function sharedInstanceState(name: string, stateUrl: string, backend: Backend, options: SharedStateOptions = {}): InstanceState {
  const store = options.store ?? storeFor(backend);
  const objects: ConditionalObjects | undefined = store.conditional;
  if (!objects) throw new FailureError(`lookout cannot keep the state of instance "${name}" in ${backend.display}: no conditional writes there`);
  const keys = instanceStateKeys(name);
  const at = (key: string) => store.location(key);

  /** The bucket client's errors become errors a user can act on (credentials, access denied). */
  async function bucket<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw explainStoreError(err, store.kind, what) ?? err;
    }
  }

  function parseJson(text: string, key: string): unknown {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new FailureError(`${at(key)} is not valid JSON`, {
        cause: err,
        hint: 'The object was damaged or replaced. Restore an earlier version (the state bucket is versioned) or move it aside.',
      });
    }
  }

  async function getRecord(): Promise<{ record: InstanceRecord; version: string } | undefined> {
    const found = await bucket(`reading ${at(keys.record)}`, () => objects!.get(keys.record));
    if (!found) return undefined;
    const record = parseJson(found.text, keys.record) as InstanceRecord;
    checkRecordVersion(record);
    return { record, version: found.version };
  }

  /** Writes `next(current)` on condition that the record is still `current`; retries on a race. */
  async function writeRecordWith(next: (current: InstanceRecord | undefined) => InstanceRecord): Promise<InstanceRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await getRecord();
      const record = next(current?.record ?? (await legacyLocalRecord(name, stateUrl)));
      const text = JSON.stringify(record, null, 2) + '\n';
      const written = await bucket(`writing ${at(keys.record)}`, () =>
        current ? objects!.replace(keys.record, text, current.version) : objects!.create(keys.record, text),
      );
      if (written) {
        await writeStatePointer({ ...record, stateUrl: record.stateUrl ?? stateUrl });
        return record;
      }
    }
    throw new FailureError(`the record of instance "${name}" at ${at(keys.record)} kept changing while this run tried to update it`, {
      hint: 'Other runs are changing this instance at the same time. Run again in a moment.',
    });
  }

  let lock: ObjectLock | undefined;
  /** The journal's version as this run last read or wrote it; undefined when there was none. */
  let journalVersion: string | undefined;

  return {
    name,
    shared: true,
    recordLocation: at(keys.record),
    journalLocation: at(keys.journal),

    async acquireLock(o: AcquireLockOptions) {
      const place = { key: keys.lock, location: at(keys.lock), removeCommand: store.removeCommand(keys.lock) };
      lock = await bucket(`taking the lock ${place.location}`, () => acquireObjectLock(objects, place, { ...o, ...options.lock }));
      return lock;
    },

    async readLock(): Promise<LockInfo | undefined> {
      const found = await bucket(`reading ${at(keys.lock)}`, () => objects.get(keys.lock));
      return found ? parseLock(found.text, at(keys.lock), `remove it with \`${store.removeCommand(keys.lock)}\``) : undefined;
    },

    async readJournal(): Promise<Journal | undefined> {
      const found = await bucket(`reading ${at(keys.journal)}`, () => objects.get(keys.journal));
      journalVersion = found?.version;
      if (found) return parseJournal(parseJson(found.text, keys.journal), at(keys.journal));
      // Kept on the creating machine by a lookout before shared journals; moved on the first write.
      return (await legacyLocalRecord(name, stateUrl)) ? readJournalFile(instancePaths(name).journal) : undefined;
    },

    async writeJournal(journal: Journal) {
      if (!lock) {
        throw new FailureError(`the journal of instance "${name}" was written without its lock`, { hint: 'This is a bug in lookout; please report it.' });
      }
      lock.assertHeld();
      const text = JSON.stringify(journal, null, 2) + '\n';
      const version = await bucket(`writing ${at(keys.journal)}`, () =>
        journalVersion ? objects.replace(keys.journal, text, journalVersion) : objects.create(keys.journal, text),
      );
      if (!version) {
        throw new FailureError(`the journal ${at(keys.journal)} was changed by another run while this run held the lock of instance "${name}"`, {
          hint: `Another lookout run is working on this instance (was its lock removed by hand?). Check \`lookout status ${name}\`, and run again once it is free.`,
        });
      }
      journalVersion = version;
    },

    async readRecord() {
      return (await getRecord())?.record ?? (await legacyLocalRecord(name, stateUrl));
    },

    async writeRecord(record: InstanceRecord) {
      await writeRecordWith(() => record);
    },

    async updateRecord(change) {
      return writeRecordWith((current) => {
        if (!current) throw unknownInstance(name, at(keys.record), stateUrl);
        return { ...current, ...change, updatedAt: new Date().toISOString() };
      });
    },
  };
}
