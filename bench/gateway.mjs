// Gateway overhead (target: at least 0.8 of direct): Prometheus remote-write throughput
// through the real nginx gateway, with its generated config, against the same Prometheus
// receiver directly, measured side by side with wrk on loopback. Needs a build (`npx tsc -b`):
// the config generator and the remote-write encoder are imported from their compiled output.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const TOOLS = {
  prometheus: 'apt-get install prometheus',
  nginx: 'apt-get install nginx-light',
  wrk: 'apt-get install wrk',
};

const DOMAIN = 'obs.bench.test';
const TENANT = 'bench';
const TOKEN = 'lk_bench_Q2xq8VtY4mKp0RzW7nLs3HdJZk3Rm8Pq1Wx7Ly4T';

function which(tool) {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The tools the benchmark runs, and how to install the missing ones (for a skip message). */
export function gatewayBenchMissingTools() {
  return Object.entries(TOOLS)
    .filter(([tool]) => !which(tool))
    .map(([tool, install]) => ({ tool, install }));
}

/** A free TCP port on loopback (shared with the other benches that start servers). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `check` every 50 ms until it is true, or fails after `ms` with `what`. */
async function waitFor(what, check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} did not become ready within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A process this benchmark owns: its output is kept for error messages, and stop() waits for the exit. */
function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout.on('data', (d) => (output = (output + d).slice(-8000)));
  child.stderr.on('data', (d) => (output = (output + d).slice(-8000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let running = true;
  void exited.then(() => (running = false));
  return {
    child,
    output: () => output,
    running: () => running,
    async stop() {
      if (!running) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * One realistic remote-write request: 2,000 series (Prometheus's default max_samples_per_send)
 * of node-exporter and HTTP histogram metrics with the usual target labels, one sample each.
 */
function payload(remoteWriteBody) {
  const now = Date.now();
  const series = [];
  const modes = ['user', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'nice'];
  const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
  const target = (i) => ({
    job: i % 3 === 0 ? 'node-exporter' : 'api',
    instance: `10.0.${Math.floor(i / 200)}.${i % 200}:9100`,
    cluster: 'prod-eu-west-1',
    namespace: 'payments',
    pod: `api-7d9f8c6b5-${(i * 7919).toString(36).slice(-5)}`,
  });
  for (let i = 0; series.length < 2000; i++) {
    for (const mode of modes) series.push({ labels: { __name__: 'node_cpu_seconds_total', cpu: String(i % 16), mode, ...target(i) }, samples: [{ value: 1000 + i, timestampMs: now }] });
    for (const le of buckets) {
      series.push({
        labels: { __name__: 'http_server_request_duration_seconds_bucket', method: 'GET', route: `/api/v1/orders/${i % 20}`, status: '200', le, ...target(i) },
        samples: [{ value: i * 3 + buckets.indexOf(le), timestampMs: now }],
      });
    }
  }
  return remoteWriteBody(series.slice(0, 2000), { userAgent: 'lookout-bench/gateway' });
}

const WRK_SCRIPT = `
local f = assert(io.open(os.getenv("BENCH_PAYLOAD"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/x-protobuf"
wrk.headers["Content-Encoding"] = "snappy"
wrk.headers["X-Prometheus-Remote-Write-Version"] = "0.1.0"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local host = os.getenv("BENCH_HOST")
if host and host ~= "" then wrk.headers["Host"] = host end
`;

function parseWrk(text) {
  const number = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const requests = number(/(\d+) requests in/);
  const seconds = number(/requests in ([\d.]+)s/);
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/) ?? 0;
  const socketErrors = /Socket errors: (.*)/.exec(text)?.[1];
  const latency = /Latency\s+(\S+)/.exec(text)?.[1];
  const p99 = /\s99%\s+(\S+)/.exec(text)?.[1];
  if (requests === undefined || seconds === undefined) throw new Error(`could not read wrk's output:\n${text}`);
  return { requests, seconds, rps: requests / seconds, non2xx, socketErrors, latencyAvg: latency, latencyP99: p99 };
}

function runWrk({ url, env, durationSeconds, connections, threads, script }) {
  const result = spawnSync('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${durationSeconds}s`, '--latency', '-s', script, url], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: (durationSeconds + 30) * 1000,
  });
  if (result.status !== 0) throw new Error(`wrk failed (${result.status}): ${result.stderr}${result.stdout}`);
  const parsed = parseWrk(result.stdout);
  // Throughput of failed requests means nothing: every request must have been accepted.
  if (parsed.non2xx > 0 || parsed.socketErrors) {
    throw new Error(`wrk against ${url}: ${parsed.non2xx} non-2xx responses, socket errors: ${parsed.socketErrors ?? 'none'}\n${result.stdout}`);
  }
  return parsed;
}

/** The status of one POST; node:http rather than fetch, which does not let a caller set Host. */
function post(url, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': body.length }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Remote-write requests per second straight to Prometheus's receiver and through the gateway
 * (public listener, bearer token, host routing, rate-limit zone, same upstream), with the same
 * wrk duration and connections, in ABBA order so that drift over the run hits both alike.
 */
export async function benchGatewayOverhead(options = {}) {
  const durationSeconds = options.durationSeconds ?? 4;
  const connections = options.connections ?? 16;
  const threads = options.threads ?? 2;
  const missing = gatewayBenchMissingTools();
  if (missing.length) {
    throw new Error(`gateway benchmark skipped: ${missing.map((m) => `${m.tool} is not installed (${m.install})`).join('; ')}`);
  }

  let gateway;
  let remoteWrite;
  try {
    gateway = await import('@lookout/gateway');
    remoteWrite = await import(join(root, 'dist/src/verify/remote-write.js'));
  } catch (err) {
    throw new Error(`gateway benchmark needs a build; run \`npx tsc -b\` first (${err.message})`);
  }

  const work = mkdtempSync(join(tmpdir(), 'lookout-bench-gateway-'));
  // Started as root, nginx's workers run as `nobody` and must pass through this 0700
  // directory to buffer bodies over 512 KiB in their temp dir (nginx creates that one for them).
  if (process.getuid?.() === 0) chmodSync(work, 0o711);
  mkdirSync(join(work, 'temp'));
  const processes = [];
  try {
    const promPort = await freePort();
    const publicPort = await freePort();
    const internalPort = await freePort();

    // Prometheus with no scrape jobs: only the remote-write receiver is exercised.
    writeFileSync(join(work, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    const prometheus = start('prometheus', [
      `--config.file=${join(work, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(work, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ]);
    processes.push(prometheus);

    const tenantsDir = join(work, 'tenants');
    mkdirSync(tenantsDir);
    // `scoped`: a write-scoped token that expires in a year, so every request also runs the
    // scope check and the expiry comparison; otherwise a token in the old entry form.
    const entry = options.scoped ? { value: TOKEN, scope: 'write', expiresAt: Math.floor(Date.now() / 1000) + 365 * 86_400 } : TOKEN;
    writeFileSync(join(tenantsDir, gateway.tokensFileName(TENANT)), gateway.renderTokenMapEntries(TENANT, [entry]));
    writeFileSync(join(tenantsDir, gateway.tenantFileName(TENANT)), gateway.renderTenantEntry(TENANT));
    const prom = `http://127.0.0.1:${promPort}`;
    const config = gateway.renderGatewayConfig({
      domain: DOMAIN,
      // Plain HTTP on both sides, so the comparison is the gateway's own work, not TLS.
      public: { address: '127.0.0.1', port: publicPort, tls: null },
      internal: { address: '127.0.0.1', port: internalPort },
      tenantsDir,
      upstreams: {
        distributor: prom,
        queryFrontend: prom,
        ruler: prom,
        alertmanager: prom,
        lokiWrite: prom,
        lokiRead: prom,
        lokiBackend: prom,
        grafana: 'http://grafana.tenant-{tenant}.invalid:3000',
      },
      // Prometheus receives remote write at /api/v1/write, Cortex at /api/v1/push.
      pathRewrites: [{ prefix: '/api/v1/push', replacement: '/api/v1/write' }],
      resolver: { addresses: ['127.0.0.1'] },
      // Far above what one machine can send: the limiter runs, but never rejects.
      limits: { ...gateway.DEFAULT_GATEWAY_LIMITS, requestsPerSecond: 1_000_000, burst: 1_000_000 },
      paths: { pidFile: join(work, 'nginx.pid'), tempDir: join(work, 'temp'), accessLog: join(work, 'access.log'), errorLog: join(work, 'error.log') },
      workerProcesses: 1,
    });
    writeFileSync(join(work, 'nginx.conf'), config);
    const check = spawnSync('nginx', ['-t', '-p', work, '-c', join(work, 'nginx.conf')], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
    const nginx = start('nginx', ['-p', work, '-c', join(work, 'nginx.conf'), '-g', 'daemon off;']);
    processes.push(nginx);

    await waitFor('prometheus', async () => {
      if (!prometheus.running()) throw new Error(prometheus.output());
      return (await fetch(`${prom}/-/ready`)).status === 200;
    });
    await waitFor('nginx', async () => (await fetch(`http://127.0.0.1:${internalPort}/healthz`)).status === 200);
    if (!prometheus.running()) throw new Error(`prometheus exited:\n${prometheus.output()}`);

    const { body, headers } = payload(remoteWrite.remoteWriteBody);
    const payloadFile = join(work, 'payload.bin');
    writeFileSync(payloadFile, body);
    const script = join(work, 'remote-write.lua');
    writeFileSync(script, WRK_SCRIPT);

    // Both paths accept the payload, and the gateway still demands the token.
    const gatewayUrl = `http://127.0.0.1:${publicPort}/api/v1/push`;
    const directUrl = `${prom}/api/v1/write`;
    const checks = {
      direct: await post(directUrl, body, headers),
      gateway: await post(gatewayUrl, body, { ...headers, host: `${TENANT}.${DOMAIN}`, authorization: `Bearer ${TOKEN}` }),
      gatewayWithoutToken: await post(gatewayUrl, body, { ...headers, host: `${TENANT}.${DOMAIN}` }),
    };
    if (checks.direct !== 204 || checks.gateway !== 204 || checks.gatewayWithoutToken !== 401) {
      throw new Error(`unexpected statuses before the benchmark: ${JSON.stringify(checks)}`);
    }

    const sides = {
      direct: { url: directUrl, env: { BENCH_PAYLOAD: payloadFile } },
      gateway: { url: gatewayUrl, env: { BENCH_PAYLOAD: payloadFile, BENCH_TOKEN: TOKEN, BENCH_HOST: `${TENANT}.${DOMAIN}` } },
    };
    const wrk = (side, seconds) => runWrk({ ...sides[side], durationSeconds: seconds, connections, threads, script });
    wrk('direct', 1);
    wrk('gateway', 1);
    const rounds = ['direct', 'gateway', 'gateway', 'direct'].map((side) => ({ side, ...wrk(side, durationSeconds) }));
    const total = (side) => {
      const mine = rounds.filter((r) => r.side === side);
      return mine.reduce((n, r) => n + r.requests, 0) / mine.reduce((s, r) => s + r.seconds, 0);
    };
    const directRps = total('direct');
    const gatewayRps = total('gateway');
    return {
      directRps,
      gatewayRps,
      ratio: gatewayRps / directRps,
      details: {
        durationSeconds,
        connections,
        threads,
        order: 'direct, gateway, gateway, direct (after a 1 s warm-up each)',
        payload: { series: 2000, bytes: body.length, encoding: 'protobuf + snappy (remote write 1.0)' },
        rounds: rounds.map(({ side, rps, requests, seconds, latencyAvg, latencyP99 }) => ({ side, rps: Math.round(rps), requests, seconds, latencyAvg, latencyP99 })),
        checks,
        token: options.scoped ? 'scope write, expires in a year' : 'no scope (old entry form)',
        nginxWorkers: 1,
        versions: {
          nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr.trim(),
          prometheus: spawnSync('prometheus', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
          wrk: spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim(),
        },
      },
    };
  } finally {
    for (const p of processes.reverse()) await p.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
