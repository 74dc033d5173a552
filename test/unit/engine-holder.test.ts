import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { isDescendant, isPidAlive, judgeProcess, localHostProbe, type HostProbe, type ProcessIdentity, type ProcessState } from '../../src/engine/holder.js';

const HERE: ProcessIdentity = {
  hostname: 'ci',
  pid: 500,
  bootId: 'boot-1',
  machineId: 'machine-1',
  pidNamespace: 'pid:[4026531836]',
  processStart: '9000',
};

/** A machine whose processes are `table` (PID → state). */
function probe(table: Record<number, ProcessState>, self: Partial<ProcessIdentity> = {}): HostProbe {
  return { self: () => ({ ...HERE, ...self }), inspect: (pid) => table[pid] ?? { state: 'gone' } };
}

const holder = (o: Partial<ProcessIdentity> = {}): ProcessIdentity => ({ ...HERE, pid: 77, processStart: '1234', ...o });

describe('judgeProcess', () => {
  it('calls a holder of this boot and PID namespace dead when its PID is gone', () => {
    expect(judgeProcess(holder(), probe({}))).toEqual({ kind: 'dead', reason: 'process 77 no longer exists' });
  });

  it('calls it dead when its PID now belongs to a later process', () => {
    const verdict = judgeProcess(holder(), probe({ 77: { state: 'running', start: '5555', parent: 1 } }));
    expect(verdict.kind).toBe('dead');
    expect(verdict.reason).toContain('now belongs to another process');
  });

  it('calls it running when the process with that PID and start time exists', () => {
    expect(judgeProcess(holder(), probe({ 77: { state: 'running', start: '1234', parent: 1 } })).kind).toBe('running');
    // /proc unreadable for this namespace: an existing PID counts as the holder.
    expect(judgeProcess(holder(), probe({ 77: { state: 'running' } })).kind).toBe('running');
  });

  it('never judges a holder in another PID namespace by its PID, even on the same machine', () => {
    const verdict = judgeProcess(holder({ pidNamespace: 'pid:[4026532175]' }), probe({}));
    expect(verdict.kind).toBe('unknown');
    expect(verdict.reason).toContain('another PID namespace (pid:[4026532175]');
  });

  it('never judges a holder of another machine or boot by its PID, even with the same host name', () => {
    const other = judgeProcess(holder({ bootId: 'boot-2', machineId: 'machine-2' }), probe({}));
    expect(other).toEqual({ kind: 'unknown', reason: 'it runs on another machine (ci, boot boot-2)' });
    const restarted = judgeProcess(holder({ bootId: 'boot-0' }), probe({}));
    expect(restarted.kind).toBe('unknown');
    expect(restarted.reason).toContain('before it was last restarted');
  });

  it('cannot judge a holder that does not say where it ran, nor anything on a system without /proc', () => {
    const { bootId: _b, pidNamespace: _n, ...legacy } = holder();
    expect(judgeProcess(legacy, probe({})).reason).toContain('written by an older lookout');
    const bare = judgeProcess(holder(), probe({}, { bootId: undefined, pidNamespace: undefined }));
    expect(bare.kind).toBe('unknown');
    expect(bare.reason).toContain('this system does not tell its boot id');
  });
});

describe('the local probe', () => {
  it('identifies this process by boot id, machine id, PID namespace and start time', () => {
    const self = localHostProbe.self();
    expect(self).toMatchObject({ hostname: hostname(), pid: process.pid });
    expect(self.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(self.pidNamespace).toBe(readlinkSync('/proc/self/ns/pid'));
    expect(self.processStart).toMatch(/^\d+$/);
    expect(self.machineId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sees a child as running, with its parent, and as gone once it has exited', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const state = localHostProbe.inspect(child.pid!);
      expect(state).toMatchObject({ state: 'running', parent: process.pid });
      expect(isDescendant(child.pid!)).toBe(true);
      expect(isDescendant(process.pid)).toBe(false);
      const self = localHostProbe.self();
      expect(judgeProcess({ ...self, pid: child.pid!, processStart: (state as { start: string }).start }).kind).toBe('running');
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
    expect(localHostProbe.inspect(child.pid!)).toEqual({ state: 'gone' });
  });

  it('never calls a process-group address dead', () => {
    const kill = vi.spyOn(process, 'kill');
    try {
      expect(isPidAlive(0)).toBe(true);
      expect(isPidAlive(-1)).toBe(true);
      expect(localHostProbe.inspect(0)).toEqual({ state: 'running' });
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
    }
  });

  it('treats EPERM as alive and only ESRCH as gone', () => {
    const kill = vi.spyOn(process, 'kill');
    try {
      kill.mockImplementation(() => {
        throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
      });
      expect(isPidAlive(1234)).toBe(true);
      kill.mockImplementation(() => {
        throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
      });
      expect(isPidAlive(1234)).toBe(false);
    } finally {
      kill.mockRestore();
    }
  });
});
