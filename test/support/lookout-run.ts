/**
 * `lookout` itself as a real process (the compiled CLI, as users run it), with its JSON
 * progress events as they come, for the suites that drive whole commands against real
 * engines: stop it gracefully at a step, SIGKILL it (and everything it started) at an event,
 * or let it finish. Its peak RSS is read from /proc while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProgressEvent } from '../../src/progress/events.js';
import { descendantPids, killProcessTree } from './processes.js';

const LOOKOUT = fileURLToPath(new URL('../../bin/lookout', import.meta.url));

export type LookoutEvent = ProgressEvent & { time?: string };

export interface LookoutRunOptions {
  env: NodeJS.ProcessEnv;
  /** SIGKILL the process tree at the first event this accepts. */
  killWhen?: (event: LookoutEvent, events: readonly LookoutEvent[]) => boolean;
  /** SIGINT (a user's Ctrl-C, which stops gracefully) at the first event this accepts. */
  interruptWhen?: (event: LookoutEvent) => boolean;
  /** SIGKILL the tree if it has not ended by then (a hung run fails the test, not the machine). */
  deadlineMs: number;
}

export interface LookoutRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: LookoutEvent[];
  stdout: string;
  stderr: string;
  killed: boolean;
  interrupted: boolean;
  timedOut: boolean;
  /** The CLI process's own peak resident set (VmHWM), in bytes; its engine and plugins are other processes. */
  peakRssBytes: number;
  /** The peak of the CLI and everything it started, summed at each sample, in bytes. */
  peakTreeRssBytes: number;
  wallMs: number;
}

function rssOf(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function runLookout(args: string[], o: LookoutRunOptions): { child: ChildProcess; done: Promise<LookoutRun> } {
  const started = Date.now();
  const child = spawn(process.execPath, [LOOKOUT, ...args], { env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: LookoutEvent[] = [];
  let stdout = '';
  let stderr = '';
  let buffer = '';
  let killed = false;
  let interrupted = false;
  let timedOut = false;
  let peakRssBytes = 0;
  let peakTreeRssBytes = 0;
  const sample = () => {
    if (!child.pid || child.exitCode !== null) return;
    peakRssBytes = Math.max(peakRssBytes, rssOf(child.pid, 'VmHWM'));
    const tree = [child.pid, ...descendantPids(child.pid)].reduce((sum, pid) => sum + rssOf(pid, 'VmRSS'), 0);
    peakTreeRssBytes = Math.max(peakTreeRssBytes, tree);
  };
  const sampler = setInterval(sample, 500);
  const kill = () => {
    if (killed) return;
    killed = true;
    sample();
    void killProcessTree(child);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, o.deadlineMs);
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    buffer += chunk.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (!line.startsWith('{')) continue;
      let event: LookoutEvent;
      try {
        event = JSON.parse(line) as LookoutEvent;
      } catch {
        continue;
      }
      events.push(event);
      if (!killed && o.killWhen?.(event, events)) kill();
      else if (!interrupted && !killed && o.interruptWhen?.(event)) {
        interrupted = true;
        sample();
        child.kill('SIGINT');
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<LookoutRun>((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      // The engine and its plugins may outlive a killed CLI for a moment: none must be left.
      const finish = () => resolve({ code, signal, events, stdout, stderr, killed, interrupted, timedOut, peakRssBytes, peakTreeRssBytes, wallMs: Date.now() - started });
      child.stdout!.once('close', finish);
      if (child.stdout!.closed) finish();
    });
  });
  return { child, done };
}

/** What a run printed, for a failing assertion's message. */
export function describeRun(run: LookoutRun): string {
  const tail = (s: string) => s.split('\n').slice(-40).join('\n');
  return `exit ${run.code ?? run.signal}${run.timedOut ? ' (deadline passed)' : ''}\n--- stderr\n${tail(run.stderr)}\n--- stdout\n${tail(run.stdout)}`;
}
