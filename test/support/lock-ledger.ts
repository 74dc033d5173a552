/**
 * What Pulumi lock clearing needs from an instance lock, in memory: the records of the locks
 * that engines of ours hold (src/pulumi/locks.ts), without taking a real instance lock.
 */
import type { ChildLockLedger, ChildLockRecord } from '../../src/engine/lock.js';
import { localHostProbe, type HostProbe, type ProcessIdentity } from '../../src/engine/holder.js';
import type { LockEnvironment } from '../../src/pulumi/locks.js';

export interface MemoryLedger extends ChildLockLedger {
  records: ChildLockRecord[];
}

export function memoryLedger(records: ChildLockRecord[] = []): MemoryLedger {
  const ledger: MemoryLedger = {
    records,
    childLocks: () => ledger.records,
    async recordChildLock(key, process) {
      ledger.records = [...ledger.records.filter((r) => r.key !== key), { key, process, recordedAt: new Date().toISOString() }];
    },
    async forgetChildLocks(keys) {
      ledger.records = ledger.records.filter((r) => !keys.includes(r.key));
    },
  };
  return ledger;
}

/** The environment of a process that holds the instance lock `ledger` (none: holds no lock). */
export function lockEnvironment(ledger?: ChildLockLedger, probe: HostProbe = localHostProbe): LockEnvironment {
  return { probe, ledger: () => ledger };
}

/**
 * A record saying that process `pid` of this machine, boot and PID namespace holds the lock at
 * `key`, with that process's start time (when it runs) or `processStart`.
 */
export function recordHere(key: string, pid: number, processStart?: string): ChildLockRecord {
  const now = localHostProbe.inspect(pid);
  const start = processStart ?? (now.state === 'running' ? now.start : undefined) ?? '1';
  const process: ProcessIdentity = { ...localHostProbe.self(), pid, processStart: start };
  return { key, process, recordedAt: '2026-03-02T10:15:07.000Z' };
}
