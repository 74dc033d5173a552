/**
 * Real servers for the verify probe's integration tests: the Prometheus binary on loopback,
 * started and stopped by the test, waited for with a deadline (never a sleep).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startProcess } from '../support/processes.js';

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
