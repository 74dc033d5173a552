/**
 * Who holds a lock, precisely enough to prove that it is dead.
 *
 * A PID means something only inside one PID namespace of one running kernel. A host name
 * proves neither: two containers, two VMs cloned from one image, or two laptops can all be
 * called `ci`, and a process in another PID namespace is invisible to `kill(pid, 0)` even on
 * the same machine. So a holder is recorded with
 *   - the boot id (`/proc/sys/kernel/random/boot_id`): random per boot of a kernel, so it
 *     names one kernel between two restarts, wherever it runs;
 *   - the PID namespace (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`): unique among the
 *     namespaces of that kernel;
 *   - the process start time (field 22 of `/proc/<pid>/stat`, in clock ticks since boot), so
 *     a PID that was reused by a later process is told apart from the holder;
 *   - the machine id (`/etc/machine-id`) and host name, to say in messages where it ran.
 *
 * A holder is provably dead only when it ran under this boot id and in this PID namespace
 * (so its PID is one this process can look up), and that PID is gone or now belongs to a
 * process that started at another time. Everything else is `unknown`: it may be alive, and a
 * lock it holds must not be broken on our own authority. Same boot id and namespace means the
 * same PID space whatever the machine id says (containers sharing the host's PIDs often have
 * an /etc/machine-id of their own), so the machine id is not needed for the proof.
 *
 * Systems without /proc (macOS, Windows) record no boot id, so their locks are never taken
 * over automatically: they are reported with what to do.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';

/** A process as a lock records it. All but `hostname` and `pid` are absent where the system does not tell. */
export interface ProcessIdentity {
  hostname: string;
  pid: number;
  bootId?: string;
  machineId?: string;
  pidNamespace?: string;
  /** Start time in clock ticks since boot (decimal), as /proc/<pid>/stat says. */
  processStart?: string;
}

export type ProcessState =
  | { state: 'gone' }
  /** `start` and `parent` are absent when /proc cannot be read for this PID namespace. */
  | { state: 'running'; start?: string; parent?: number };

/** How this process sees its machine; tests pass fakes. */
export interface HostProbe {
  /** This process, as it records itself in a lock. */
  self(): ProcessIdentity;
  /** A process of this PID namespace. Never reports a PID that cannot be a process (0, negative) as gone. */
  inspect(pid: number): ProcessState;
}

export type Verdict =
  /** Provably not running: its PID is gone or belongs to a later process of the same PID space. */
  | { kind: 'dead'; reason: string }
  /** Running in this PID space (this may be the calling process itself). */
  | { kind: 'running'; reason: string }
  /** Cannot be checked from here; it may well be alive. */
  | { kind: 'unknown'; reason: string };

function readTrimmed(path: string): string | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(text: string): string[] | undefined {
  const end = text.lastIndexOf(')');
  if (end < 0) return undefined;
  // Field 3 (state) is the first after the name.
  return text.slice(end + 2).trim().split(/\s+/);
}

interface ProcStat {
  state: string;
  parent: number;
  start: string;
}

function readProcStat(pid: number | 'self'): ProcStat | 'gone' | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  const f = statFields(text);
  // f[0] is field 3 (state), f[1] field 4 (ppid), f[19] field 22 (starttime).
  if (!f || f.length < 20) return undefined;
  return { state: f[0]!, parent: Number(f[1]), start: f[19]! };
}

/**
 * Whether a process exists. Signal 0 checks without delivering anything: ESRCH means no such
 * process; EPERM means it exists but belongs to another user, so it counts as alive.
 */
export function isPidAlive(pid: number): boolean {
  // kill(0) or a negative PID would address a process group: never call that dead.
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

interface StaticIdentity {
  bootId?: string;
  machineId?: string;
  pidNamespace?: string;
  processStart?: string;
  /** True when /proc shows this process's own PID namespace (so /proc/<pid> means our PID). */
  procIsOurs: boolean;
}

let cachedIdentity: StaticIdentity | undefined;

function staticIdentity(): StaticIdentity {
  if (cachedIdentity) return cachedIdentity;
  // /proc/self resolves in the PID namespace of the mounted /proc. After `unshare --pid
  // --fork` without --mount-proc that is the parent's, where our PID differs.
  const procIsOurs = readLink('/proc/self') === String(process.pid);
  const self = procIsOurs ? readProcStat('self') : undefined;
  const bootId = readTrimmed('/proc/sys/kernel/random/boot_id');
  const machineId = readTrimmed('/etc/machine-id') ?? readTrimmed('/var/lib/dbus/machine-id');
  const pidNamespace = readLink('/proc/self/ns/pid');
  cachedIdentity = {
    procIsOurs,
    ...(bootId ? { bootId } : {}),
    ...(machineId ? { machineId } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
    ...(self && self !== 'gone' ? { processStart: self.start } : {}),
  };
  return cachedIdentity;
}

/** The probe of the real machine, through /proc and kill(2). */
export const localHostProbe: HostProbe = {
  self() {
    const { procIsOurs: _, ...identity } = staticIdentity();
    return { hostname: osHostname(), pid: process.pid, ...identity };
  },
  inspect(pid) {
    if (!isPidAlive(pid)) return { state: 'gone' };
    if (!Number.isInteger(pid) || pid <= 0 || !staticIdentity().procIsOurs) return { state: 'running' };
    const stat = readProcStat(pid);
    if (stat === 'gone') return { state: 'gone' };
    if (!stat) return { state: 'running' };
    // A zombie has exited; only its exit status is left for its parent to collect.
    if (stat.state === 'Z' || stat.state === 'X') return { state: 'gone' };
    return { state: 'running', start: stat.start, parent: stat.parent };
  },
};

/** Where the holder ran, in words, when it cannot be checked from here. */
function elsewhere(holder: ProcessIdentity, here: ProcessIdentity): string | undefined {
  if (!holder.bootId || !holder.pidNamespace) {
    return 'the lock does not say which machine boot and PID namespace it comes from (it was written by an older lookout, or on a system without /proc)';
  }
  if (!here.bootId || !here.pidNamespace) {
    return 'this system does not tell its boot id and PID namespace, so no PID can be checked against the lock';
  }
  if (holder.bootId !== here.bootId) {
    const sameMachine = holder.machineId !== undefined && holder.machineId === here.machineId;
    return sameMachine
      ? `it ran on this machine before it was last restarted (boot ${holder.bootId}), or on a copy of this machine`
      : `it runs on another machine (${holder.hostname}, boot ${holder.bootId})`;
  }
  if (holder.pidNamespace !== here.pidNamespace) {
    return `it runs in another PID namespace (${holder.pidNamespace}, for example another container) on this machine, where PID ${holder.pid} cannot be checked from here`;
  }
  return undefined;
}

/** Whether the process `holder` is provably dead, running here, or out of our sight. */
export function judgeProcess(holder: ProcessIdentity, probe: HostProbe = localHostProbe): Verdict {
  const here = probe.self();
  const away = elsewhere(holder, here);
  if (away) return { kind: 'unknown', reason: away };
  const now = probe.inspect(holder.pid);
  if (now.state === 'gone') return { kind: 'dead', reason: `process ${holder.pid} no longer exists` };
  if (holder.processStart && now.start && now.start !== holder.processStart) {
    return { kind: 'dead', reason: `PID ${holder.pid} now belongs to another process (started later)` };
  }
  return { kind: 'running', reason: `process ${holder.pid} is still running on this machine` };
}

/** True when `holder` is this very process (same PID space, PID and start time). */
export function isThisProcess(holder: ProcessIdentity, probe: HostProbe = localHostProbe): boolean {
  const here = probe.self();
  return (
    elsewhere(holder, here) === undefined &&
    holder.pid === here.pid &&
    (holder.processStart === undefined || holder.processStart === here.processStart)
  );
}

/**
 * Whether `pid` is a descendant of this process (at most `depth` generations down), as /proc
 * says. False where /proc cannot tell.
 */
export function isDescendant(pid: number, probe: HostProbe = localHostProbe, depth = 4): boolean {
  const self = probe.self().pid;
  let current = pid;
  for (let i = 0; i < depth; i++) {
    const state = probe.inspect(current);
    if (state.state !== 'running' || state.parent === undefined) return false;
    if (state.parent === self) return true;
    if (state.parent <= 1) return false;
    current = state.parent;
  }
  return false;
}
