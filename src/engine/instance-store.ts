/**
 * Where the step engine keeps an instance's lock and journal. The local store is two files
 * under ~/.lookout/<name>/; a shared backend (src/state/shared-instance-state.ts) keeps both
 * in the bucket next to the Pulumi state, so that runs on different machines see each other.
 */
import { readJournal, writeJournal, type Journal } from './journal.js';
import { acquireInstanceLock, readInstanceLock, type AcquireLockOptions, type InstanceLock, type LockInfo } from './lock.js';

export interface InstanceStore {
  /** Where the journal is, as a path or URL, for messages. */
  readonly journalLocation: string;
  acquireLock(options: AcquireLockOptions): Promise<InstanceLock>;
  /** The current holder, for `status`; undefined when the instance is not locked. */
  readLock(): Promise<LockInfo | undefined>;
  readJournal(): Promise<Journal | undefined>;
  /**
   * Replaces the journal. Call it only while holding the lock from `acquireLock`: a shared
   * store refuses the write once that lock is lost, or when someone else wrote the journal.
   */
  writeJournal(journal: Journal): Promise<void>;
}

/** The lock and journal as two files (the default backend, and tests). */
export function fileInstanceStore(journalPath: string, lockPath: string): InstanceStore {
  return {
    journalLocation: journalPath,
    acquireLock: (options) => acquireInstanceLock(lockPath, options),
    readLock: () => readInstanceLock(lockPath),
    readJournal: () => readJournal(journalPath),
    writeJournal: (journal) => writeJournal(journalPath, journal),
  };
}
