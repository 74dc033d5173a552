/**
 * Real servers for the verify probe's integration tests: the Prometheus binary on loopback,
 * started and stopped by the test, waited for with a deadline (never a sleep).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pWaitFor from 'p-wait-for';

/** The absolute path of a command on PATH (or in the sbin directories, where Debian puts nginx). */
export function findCommand(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
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

/** A port that was free a moment ago (the kernel's choice, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RunningProcess {
  child: ChildProcess;
  /** What it printed so far, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within the deadline. */
  stop(): Promise<void>;
}

/** Starts a process and waits until `ready()` is true; fails early with its output if it exits first. */
export async function startProcess(
  command: string,
  args: string[],
  ready: () => Promise<boolean>,
  options: { deadlineMs?: number; what: string },
): Promise<RunningProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
    await pWaitFor(
      async () => {
        if (exited) throw new Error(`${options.what} exited before it was ready:\n${output}`);
        return ready();
      },
      { interval: 50, timeout: { milliseconds: options.deadlineMs ?? 30_000, message: `${options.what} was not ready in time:\n${output}` } },
    );
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

/** GET on loopback; resolves with the status, or 0 when nothing answers. */
export function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export interface RunningPrometheus {
  port: number;
  stop(): Promise<void>;
}

/** The real Prometheus with its remote-write receiver, a fresh TSDB and no scrape targets. */
export async function startPrometheus(binary: string): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-verify-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const process = await startProcess(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
    ],
    async () => (await httpStatus(port, '/-/ready')) === 200,
    { what: 'prometheus' },
  );
  return {
    port,
    async stop() {
      await process.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const INSTALL_HINT = {
  prometheus: 'apt-get install prometheus',
  nginx: 'apt-get install nginx',
} as const;
