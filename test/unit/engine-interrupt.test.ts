import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/errors.js';
import { installExitOnInterrupt, installInterruptHandler, type InterruptHandler } from '../../src/engine/index.js';
import { collectingReporter } from '../../src/progress/events.js';

// Real signals are covered by test/fault (a real process and kill(2)); here the handlers are
// driven with process.emit so the test process itself is never at risk.
let handler: InterruptHandler | undefined;
afterEach(() => {
  handler?.dispose();
  handler = undefined;
});

function install() {
  const reporter = collectingReporter();
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exits: number[] = [];
  const closes = { count: 0 };
  const close = reporter.close;
  reporter.close = () => {
    closes.count++;
    close();
  };
  handler = installInterruptHandler({
    reporter,
    resumeHint: 'run `lookout create aws prod -c x.yaml` again to resume',
    stderr,
    exit: (code) => void exits.push(code),
  });
  return { reporter, exits, closes, stderr: () => text, signal: handler.signal };
}

describe('installInterruptHandler', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('aborts the signal on the first %s and says how to exit now', (name) => {
    const h = install();
    expect(h.signal.aborted).toBe(false);
    process.emit(name, name);
    expect(h.signal.aborted).toBe(true);
    expect(h.signal.reason).toBeInstanceOf(InterruptedError);
    expect((h.signal.reason as InterruptedError).hint).toBe('run `lookout create aws prod -c x.yaml` again to resume');
    expect(h.reporter.events).toEqual([
      { type: 'log', level: 'warn', message: 'Stopping after the current operation… press Ctrl-C again to exit now' },
    ]);
    expect(h.exits).toEqual([]);
  });

  it('exits with 130 on the second signal, saying the step may be partly applied and how to resume', () => {
    const h = install();
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    expect(h.exits).toEqual([130]);
    expect(h.closes.count).toBe(1);
    expect(h.stderr()).toContain('exiting now');
    expect(h.stderr()).toContain('partly applied');
    expect(h.stderr()).toContain('hint: run `lookout create aws prod -c x.yaml` again to resume');
  });

  it('removes its listeners on dispose', () => {
    const before = { int: process.listenerCount('SIGINT'), term: process.listenerCount('SIGTERM') };
    const h = install();
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    handler!.dispose();
    handler = undefined;
    expect(process.listenerCount('SIGINT')).toBe(before.int);
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(h.signal.aborted).toBe(false);
  });

  it('sits on top of the CLI base handler, which exits 130 at once outside a session', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const baseExits: number[] = [];
    const removeBase = installExitOnInterrupt({ stderr, exit: (code) => void baseExits.push(code) });
    try {
      const h = install();
      process.emit('SIGTERM', 'SIGTERM');
      expect(h.signal.aborted).toBe(true);
      expect(baseExits).toEqual([]);
      handler!.dispose();
      handler = undefined;
      process.emit('SIGTERM', 'SIGTERM');
      expect(baseExits).toEqual([130]);
      expect(text).toBe('error: interrupted.\n');
    } finally {
      removeBase();
    }
  });
});
