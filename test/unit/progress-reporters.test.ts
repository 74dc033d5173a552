import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../src/progress/events.js';
import { JsonReporter, PlainReporter, TtyReporter, chooseOutputMode, formatDuration } from '../../src/progress/reporters.js';

function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream;
  // A terminal's width; spinners are only drawn on a terminal wide enough for them.
  (stream as { columns?: number }).columns = 80;
  let out = '';
  (stream as unknown as PassThrough).on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

// Strips ANSI sequences so assertions read what a person sees.
const plain = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

const run: ProgressEvent[] = [
  { type: 'run-started', command: 'create', instance: 'prod', runId: 'r1', resumed: false, steps: ['infra', 'tls'] },
  { type: 'step-started', step: 'infra', title: 'Create the infrastructure', attempt: 1 },
  { type: 'step-progress', step: 'infra', done: 12, total: 88, message: 'aws:eks/cluster:Cluster eks' },
  { type: 'step-done', step: 'infra', title: 'Create the infrastructure', durationMs: 754_000 },
  { type: 'step-started', step: 'tls', title: 'Issue the certificate', attempt: 1 },
  { type: 'step-started', step: 'tls/record-written', title: 'Write the ACME challenge records', attempt: 1 },
  { type: 'step-done', step: 'tls/record-written', title: 'Write the ACME challenge records', durationMs: 1_200 },
  { type: 'step-done', step: 'tls', title: 'Issue the certificate', durationMs: 9_000 },
  { type: 'run-finished', command: 'create', status: 'done', durationMs: 800_000 },
];

describe('reporters', () => {
  it('TTY: a spinner per step with counts and elapsed time, sub-steps indented under their step', async () => {
    const { stream, text } = sink();
    const reporter = await TtyReporter.create(stream, true);
    for (const e of run) reporter.emit(e);
    reporter.close();
    const out = plain(text());
    expect(out).toContain('Starting create of prod');
    expect(out).toMatch(/Create the infrastructure 12\/88 resources/);
    expect(out).toMatch(/✔ Create the infrastructure \(12m 34s\)/);
    expect(out).toMatch(/▸ Issue the certificate/);
    expect(out).toMatch(/✔ {3}Write the ACME challenge records \(1s\)/);
    expect(out).toMatch(/✔ Issue the certificate \(9s\)/);
  });

  it('TTY: steps running at the same time share the spinner, a line each, and each result is printed as it ends', async () => {
    const { stream, text } = sink();
    const reporter = await TtyReporter.create(stream, true);
    const started = (step: string): ProgressEvent => ({ type: 'step-started', step, title: `Install tenant ${step}`, attempt: 1 });
    reporter.emit(started('a'));
    reporter.emit(started('b'));
    reporter.emit(started('c'));
    reporter.emit({ type: 'step-progress', step: 'b', done: 7, total: 30, message: 'kubernetes:core/v1:Secret tokens' });
    const drawn = plain(text());
    expect(drawn).toMatch(/Install tenant a {2}\d+s\n {2}Install tenant b {2}\d+s\n {2}Install tenant c/);
    expect(drawn).toMatch(/Install tenant b 7\/30 resources {2}\d+s {2}kubernetes:core\/v1:Secret tokens/);
    // b (beside the spinner's first line) ends first, then a: c takes the spinner, then ends.
    reporter.emit({ type: 'step-done', step: 'b', title: 'Install tenant b', durationMs: 21_000 });
    reporter.emit({ type: 'step-failed', step: 'a', title: 'Install tenant a', durationMs: 22_000, error: 'x' });
    reporter.emit({ type: 'step-progress', step: 'c', done: 3, total: 30 });
    reporter.emit({ type: 'step-done', step: 'c', title: 'Install tenant c', durationMs: 23_000 });
    reporter.close();
    const out = plain(text());
    expect(out).toMatch(/✔ Install tenant b \(21s\)/);
    expect(out).toMatch(/✖ Install tenant a failed after 22s/);
    expect(out).toMatch(/Install tenant c 3\/30 resources/);
    expect(out).toMatch(/✔ Install tenant c \(23s\)/);
    expect(out.indexOf('✔ Install tenant b')).toBeLessThan(out.indexOf('✖ Install tenant a'));
  });

  it('plain: timestamped lines without escape sequences', () => {
    const { stream, text } = sink();
    const reporter = new PlainReporter(stream);
    for (const e of run) reporter.emit(e);
    expect(text()).not.toMatch(/\u001b/);
    expect(text()).toMatch(/^\d\d:\d\d:\d\d ▸ Create the infrastructure$/m);
    expect(text()).toMatch(/^\d\d:\d\d:\d\d ✓ Create the infrastructure \(12m 34s\)$/m);
  });

  it('JSON: one event per line, each with a timestamp', () => {
    const { stream, text } = sink();
    const reporter = new JsonReporter(stream);
    for (const e of run) reporter.emit(e);
    const lines = text().trim().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
    expect(lines.map((l) => l.type)).toEqual(run.map((e) => e.type));
    for (const l of lines) expect(Number.isNaN(Date.parse(l.time))).toBe(false);
  });

  it('choose plain output when not on a terminal, JSON when asked, and format durations', () => {
    const notTty = { isTTY: false } as NodeJS.WriteStream;
    expect(chooseOutputMode({}, notTty)).toBe('plain');
    expect(chooseOutputMode({ json: true }, notTty)).toBe('json');
    expect(formatDuration(59_999)).toBe('59s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
  });

  it('choose plain lines on a terminal of unknown or tiny width (ora divides by the column count)', () => {
    const env = { NO_COLOR: process.env.NO_COLOR, CI: process.env.CI };
    delete process.env.NO_COLOR;
    delete process.env.CI;
    try {
      for (const columns of [0, 5, undefined, Number.NaN]) {
        expect(chooseOutputMode({}, { isTTY: true, columns } as NodeJS.WriteStream), String(columns)).toBe('plain');
      }
      expect(chooseOutputMode({}, { isTTY: true, columns: 80 } as NodeJS.WriteStream)).toBe('tty');
    } finally {
      Object.assign(process.env, Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)));
    }
  });

  it('TTY: a terminal shrunk to 0 columns mid-step switches to plain lines instead of drawing', async () => {
    const { stream, text } = sink();
    const reporter = await TtyReporter.create(stream, true);
    reporter.emit(run[0]!);
    reporter.emit(run[1]!);
    (stream as { columns?: number }).columns = 0;
    reporter.emit(run[2]!);
    reporter.emit(run[3]!);
    reporter.close();
    const out = text();
    expect(out).toContain('too narrow for spinners');
    expect(out).toMatch(/^\d\d:\d\d:\d\d ✓ Create the infrastructure \(12m 34s\)$/m);
    // Bounded: a few lines, not cursor codes without end.
    expect(out.length).toBeLessThan(4_000);
  });
});
