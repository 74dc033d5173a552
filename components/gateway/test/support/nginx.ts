/**
 * Runs the real nginx for tests: unprivileged, under a temporary prefix, on free loopback
 * ports, in the foreground (so the test owns the process and stops it), with readiness found
 * by polling /healthz against a deadline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { findExecutable, freePort, waitFor as pWaitFor } from '../../../../test/support/processes.js';

export const NGINX_INSTALL_HINT = 'apt-get install nginx-light';

/** The nginx binary, or undefined when it is not installed. */
export function findNginx(): string | undefined {
  return findExecutable('nginx');
}

export { freePort };

/**
 * The temp directory to give nginx (`paths.tempDir`) under a test's private directory, made
 * so that nginx's workers can write it. Started as root (as in CI containers), nginx runs its
 * workers as `nobody`: they buffer request bodies over `client_body_buffer_size` in
 * `<temp>/client_body`, which nginx creates and hands to the worker user at start, but they
 * must also be able to pass through the test's directory, which `mkdtemp` makes 0700. Without
 * this every push over 512 KiB gets a 500. Run as any other user, nothing needs changing.
 */
export function nginxTempDir(privateDir: string): string {
  const temp = join(privateDir, 'temp');
  mkdirSync(temp, { recursive: true });
  if (process.getuid?.() === 0) chmodSync(privateDir, 0o711);
  return temp;
}

/** `nginx -t` on a config file: exit status and what nginx printed. */
export function testNginxConfig(nginx: string, prefix: string, configFile: string): { ok: boolean; output: string } {
  const result = spawnSync(nginx, ['-t', '-p', prefix, '-c', configFile], { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

export interface RunningNginx {
  process: ChildProcess;
  pid: number;
  /** nginx's exit code once it has exited. */
  exited: Promise<number | null>;
  /**
   * SIGHUP, as the reload sidecar sends: nginx re-reads its config and includes, starts new
   * workers and retires the old ones. Resolves once every old worker is gone, so that no later
   * request can still land on a worker with the old config.
   */
  reload(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startNginx(options: {
  nginx: string;
  prefix: string;
  configFile: string;
  /** A plain-HTTP /healthz to poll until nginx answers. */
  healthUrl: string;
  timeoutMs?: number;
}): Promise<RunningNginx> {
  const child = spawn(options.nginx, ['-p', options.prefix, '-c', options.configFile, '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));

  const healthy = async () => {
    if (gone) throw new Error(`nginx exited before it was healthy:\n${output}`);
    try {
      return (await request({ url: options.healthUrl })).status === 200;
    } catch {
      return false;
    }
  };
  try {
    await pWaitFor(healthy, { interval: 20, timeout: { milliseconds: options.timeoutMs ?? 10_000, message: `nginx did not answer ${options.healthUrl}:\n${output}` } });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    process: child,
    pid: child.pid!,
    exited,
    reload: async (timeoutMs = 10_000) => {
      const old = childPids(child.pid!);
      child.kill('SIGHUP');
      await pWaitFor(
        () => {
          const now = childPids(child.pid!);
          return now.length > 0 && now.every((pid) => !old.includes(pid));
        },
        { interval: 20, timeout: { milliseconds: timeoutMs, message: `nginx did not replace its workers after SIGHUP:\n${output}` } },
      );
    },
    stop: async () => {
      if (gone) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Live child processes of a process (nginx's workers), from /proc. */
export function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised command name: state, ppid, ...
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) === parent && state !== 'Z') pids.push(Number(entry));
    } catch {
      // The process exited while we looked.
    }
  }
  return pids;
}

export interface RequestOptions {
  url: string;
  /**
   * The request target exactly as sent, instead of the URL's (which WHATWG URL parsing has
   * already normalised: no `..`, no `#`): for requests that attack the gateway's path handling.
   */
  rawPath?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** For https: the CA to trust and the SNI name to send. */
  tls?: { ca: string; servername: string; minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };
  timeoutMs?: number;
  /** The client address to send from, e.g. another 127.0.0.x to be another client on loopback. */
  localAddress?: string;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The negotiated TLS version, for https. */
  tlsProtocol?: string | null;
}

/** One HTTP(S) request on a fresh connection (no keep-alive, so tests never share sockets). */
export function request(options: RequestOptions): Promise<Response> {
  const url = new URL(options.url);
  const isHttps = url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        hostname: url.hostname,
        port: url.port,
        path: options.rawPath ?? `${url.pathname}${url.search}`,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
        timeout: options.timeoutMs ?? 10_000,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...(isHttps && options.tls
          ? { ca: options.tls.ca, servername: options.tls.servername, minVersion: options.tls.minVersion, maxVersion: options.tls.maxVersion }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        // Read now: after a response to a request that asked to upgrade, Node detaches the socket.
        const tlsProtocol = isHttps ? ((res.socket as import('node:tls').TLSSocket | null)?.getProtocol?.() ?? null) : undefined;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            ...(isHttps ? { tlsProtocol } : {}),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${options.url} timed out`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

export function readLines(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
}
