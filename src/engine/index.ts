/**
 * The resumable step engine: commands are lists of named steps, recorded in a per-instance
 * journal, run by one process at a time under an instance lock, and stopped cleanly on Ctrl-C.
 */
export { runSteps, type RunOptions, type RunResult, type Step, type StepContext } from './runner.js';
export {
  HISTORY_LIMIT,
  JOURNAL_VERSION,
  canonicalJson,
  currentRun,
  hashInputs,
  latestRun,
  parseJournal,
  readJournal,
  type Journal,
  type RunRecord,
  type RunStatus,
  type RunSummary,
  type StepRecord,
  type StepStatus,
} from './journal.js';
export {
  acquireInstanceLock,
  currentCommandLine,
  describeLockHolder,
  heldInstanceLock,
  isPidAlive,
  readInstanceLock,
  type AcquireLockOptions,
  type ChildLockLedger,
  type ChildLockRecord,
  type InstanceLock,
  type LockInfo,
} from './lock.js';
export { fileInstanceStore, type InstanceStore } from './instance-store.js';
export { judgeProcess, localHostProbe, type HostProbe, type ProcessIdentity, type Verdict } from './holder.js';
export { installExitOnInterrupt, installInterruptHandler, type InterruptHandler, type InterruptHandlerOptions } from './interrupt.js';
