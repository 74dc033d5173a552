/**
 * Real servers for tests: finding their binaries, free loopback ports, and starting a
 * process that is waited for with a deadline (never a sleep) and always stopped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { delimiter, join } from 'node:path';
import { TimeoutError, waitFor } from '../../src/wait-for.js';

export { waitFor };

/** The executable `name` on PATH (or in the sbin directories, where Debian puts named and nginx), if any. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The lowest port the kernel hands out to outgoing connections (`ip_local_port_range`);
 * undefined where it cannot be read.
 */
function ephemeralPortsStart(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : undefined;
  } catch {
    return undefined;
  }
}

/** Ports this process handed out already: never twice, whether or not they are bound yet. */
const handedOut = new Set<number>();

const bindsTcp = (port: number) =>
  new Promise<number | undefined>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });

const bindsUdp = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });

/**
 * A loopback port that was free for both TCP and UDP a moment ago (DNS servers need both).
 * It is taken below the kernel's ephemeral range where there is room: a port from that range
 * can be given to an outgoing connection (of the dozens the servers of a test open) between
 * this check and the server's bind, which made a Cortex process fail with "address already in
 * use" now and then.
 */
export async function freePort(): Promise<number> {
  const start = ephemeralPortsStart();
  const floor = 10_000;
  for (let attempt = 0; attempt < 50; attempt++) {
    const candidate = start !== undefined && start - floor > 1_000 ? floor + Math.floor(Math.random() * (start - floor)) : 0;
    if (candidate !== 0 && handedOut.has(candidate)) continue;
    const port = await bindsTcp(candidate);
    if (port === undefined || handedOut.has(port) || !(await bindsUdp(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no free port for both TCP and UDP on 127.0.0.1');
}

export interface RunningProcess {
  child: ChildProcess;
  /** What it printed so far, for failure messages and log assertions. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within ten seconds. */
  stop(): Promise<void>;
}

/** Starts a process and waits until `ready()` is true; fails early with its output if it exits first. */
export async function startProcess(
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  options: { what: string; deadlineMs?: number; env?: NodeJS.ProcessEnv },
): Promise<RunningProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const running: RunningProcess = {
    child,
    output: () => output,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(killed);
    },
  };
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`${options.what} exited before it was ready:\n${output}`);
        return ready();
      },
      { interval: 20, timeout: options.deadlineMs ?? 30_000 },
    );
  } catch (err) {
    await running.stop();
    // The output as it is now, not as it was when the wait began.
    if (err instanceof TimeoutError) throw new TimeoutError(`${options.what} was not ready in time:\n${output}`);
    throw err;
  }
  return running;
}

/** Every descendant of `pid` (children, their children, …), read from /proc. */
export function descendantPids(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/**
 * SIGKILL to a process and everything it started, as a machine crash would: the Pulumi engine
 * starts its plugins in process groups of their own, so killing the group alone leaves them.
 * Waits until the process has exited.
 */
export async function killProcessTree(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const pids = [child.pid!, ...descendantPids(child.pid!)];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await exited;
}
