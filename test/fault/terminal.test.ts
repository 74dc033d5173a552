/**
 * The real `lookout create` on a real pseudo-terminal (Python's pty module drives it, as a
 * person at a terminal would): a terminal that reports 0 columns, one shrunk to nothing while
 * spinners run, and SIGTERM, SIGINT and a typed Ctrl-C. Whatever the display does, the command
 * stops promptly with exit 130, writes a bounded amount, and leaves no lock behind.
 *
 * The run is held in its preflight by an STS endpoint on loopback that accepts connections and
 * never answers, so the signal always arrives mid-step, with the spinner (or plain line) live.
 */
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const python = spawnSync('python3', ['-c', 'import pty, termios, fcntl'], { encoding: 'utf8' });
const missing = python.status === 0 ? '' : 'python3 with the pty module (apt-get install python3)';
if (missing) console.warn(`SKIPPED the pseudo-terminal tests: ${missing} is missing`);

const DRIVER = join(ROOT, 'test/support/pty-driver.py');
/** Far more than any honest progress output of a few seconds; the bug wrote tens of MB. */
const OUTPUT_BOUND = 64 * 1024;

interface Step {
  waitFor?: string;
  resize?: [number, number];
  signal?: 'SIGTERM' | 'SIGINT';
  write?: string;
  waitExit?: true;
  deadlineSec?: number;
}

interface PtyResult {
  exitCode: number | null;
  signal: number | null;
  bytes: number;
  elapsedMs: number;
  head: string;
  tail: string;
  events: Array<{ step: Step; atMs: number }>;
  failedStep: Step | null;
}

let home: string;
let blackhole: Server;
const sockets: Socket[] = [];
let endpoint: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'lookout-pty-'));
  blackhole = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
  const address = blackhole.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => (blackhole ? blackhole.close(() => resolve()) : resolve()));
  if (home) await rm(home, { recursive: true, force: true });
});

/** What a person's shell would have: no CI, no NO_COLOR, no test-runner variables. */
function userEnvironment(instanceHome: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: instanceHome,
    TERM: 'xterm-256color',
    LANG: 'C.UTF-8',
    LOOKOUT_HOME: instanceHome,
    LOOKOUT_PASSPHRASE: 'a pty test passphrase, long enough to pass',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_CONFIG_FILE: join(instanceHome, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(instanceHome, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // Every AWS API call goes to the loopback server that never answers.
    AWS_ENDPOINT_URL: endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

function drive(instance: string, cols: number, steps: Step[], command: string[] = ['create', 'aws', instance, '-c', join(ROOT, 'examples/aws-small.yaml')]): Promise<PtyResult> {
  const instanceHome = join(home, instance);
  const spec = {
    argv: [process.execPath, join(ROOT, 'bin/lookout'), ...command],
    env: userEnvironment(instanceHome),
    cwd: ROOT,
    rows: 40,
    cols,
    steps,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the pty driver failed (${code}): ${err}`));
      resolve(JSON.parse(out) as PtyResult);
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

const IN_PREFLIGHT = 'Check credentials, region, quotas and names';

function describeRun(r: PtyResult): string {
  const stopped = r.events.find((e) => e.step.signal || e.step.write);
  const exited = r.events.find((e) => e.step.waitExit);
  const took = stopped && exited ? `${exited.atMs - stopped.atMs} ms from the signal to the exit` : 'did not exit';
  return `exit ${r.exitCode ?? `by signal ${r.signal}`}, ${r.bytes} bytes written, ${took}` +
    (r.failedStep ? `, missed step ${JSON.stringify(r.failedStep)}` : '') + `\n--- last output:\n${r.tail.slice(-1500)}`;
}

function expectStoppedCleanly(r: PtyResult, instance: string): void {
  console.log(`pty ${instance}: ${describeRun(r).split('\n')[0]}`);
  expect(r.failedStep, describeRun(r)).toBeNull();
  expect(r.exitCode, describeRun(r)).toBe(130);
  expect(r.bytes, describeRun(r)).toBeLessThan(OUTPUT_BOUND);
  expect(existsSync(join(home, instance, instance, 'lock.json')), 'lock.json left behind').toBe(false);
  // Stopped in the preflight, which changes nothing: no run is left to "resume".
  expect(existsSync(join(home, instance, instance, 'journal.json')), 'journal.json left behind').toBe(false);
}

describe.skipIf(Boolean(missing))(`create on a real terminal${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('a terminal of 0 columns: plain lines, and SIGTERM stops it with 130 and no lock', async () => {
    const r = await drive('zerocols', 0, [
      { waitFor: IN_PREFLIGHT, deadlineSec: 60 },
      { signal: 'SIGTERM' },
      { waitExit: true, deadlineSec: 15 },
    ]);
    expectStoppedCleanly(r, 'zerocols');
    // Plain progress lines, not spinner frames redrawn in place.
    expect(r.head).toMatch(/\d\d:\d\d:\d\d ▸ Check credentials/);
    expect(r.tail).toMatch(/Interrupted/);
  });

  it('a terminal of 0 columns: a typed Ctrl-C stops it with 130 and no lock', async () => {
    const r = await drive('zerocolsctrlc', 0, [
      { waitFor: IN_PREFLIGHT, deadlineSec: 60 },
      { write: '\u0003' },
      { waitExit: true, deadlineSec: 15 },
    ]);
    expectStoppedCleanly(r, 'zerocolsctrlc');
  });

  it('spinners on a wide terminal fall back to plain lines when it shrinks to nothing, and SIGINT still stops it', async () => {
    const r = await drive('shrunk', 120, [
      { waitFor: IN_PREFLIGHT, deadlineSec: 60 },
      { resize: [40, 0] },
      { waitFor: 'too narrow for spinners', deadlineSec: 10 },
      { signal: 'SIGINT' },
      { waitExit: true, deadlineSec: 15 },
    ]);
    expectStoppedCleanly(r, 'shrunk');
    // It did draw a spinner before the resize: the Braille frames of ora's default spinner.
    expect(r.head).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });

  it('plan shows its progress while it computes, then the plan', async () => {
    const r = await drive('plan', 120, [
      { waitFor: 'Run the platform program offline', deadlineSec: 60 },
      { waitExit: true, deadlineSec: 60 },
    ], ['plan', 'aws', 'demo', '-c', join(ROOT, 'examples/aws-small.yaml')]);
    console.log(`pty plan: exit ${r.exitCode}, ${r.bytes} bytes, ${r.elapsedMs} ms`);
    expect(r.failedStep, describeRun(r)).toBeNull();
    expect(r.exitCode, describeRun(r)).toBe(0);
    // What a person sees: the text without colours and cursor movements.
    const seen = (r.head + r.tail).replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
    expect(seen).toMatch(/✔ Run the aws infrastructure program offline \(\d+s\)/);
    expect(seen).toMatch(/✔ Run the tenant program offline for \d+ tenants/);
    expect(r.tail).toContain('Estimated monthly cost');
  });
});
