// Day two for tenants and tokens: `tenant add` with 1, 10 and 100 existing tenants under Pulumi
// mocks (the file edit, the validation, and the two stacks the change applies: the platform's
// runtime limits and the new tenant's stack), and how long a revoked token stays accepted by
// the real nginx gateway with the real reload sidecar script. Needs a build (`npx tsc -b`).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { freePort } from './gateway.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => import(join(root, 'dist', path));

const INFRA = {
  clusterName: 'lookout-prod',
  clusterEndpoint: 'https://example.eks.amazonaws.com',
  clusterCertificateAuthority: 'Q0E=',
  region: 'eu-west-1',
  buckets: { metrics: 'lookout-prod-metrics-0123abcd', logs: 'lookout-prod-logs-0123abcd', rules: 'lookout-prod-rules-0123abcd' },
  zoneId: 'Z1',
  roleArns: { metricsStore: 'arn:aws:iam::123456789012:role/m', ruler: 'arn:aws:iam::123456789012:role/r', alertmanager: 'arn:aws:iam::123456789012:role/a' },
  clusterCidrs: ['10.0.0.0/16'],
};

/**
 * Wall time (ms, median of `runs`) of what `tenant add` does besides waiting on the cluster:
 * edit the file, validate it, and run the platform program and the new tenant's program.
 */
export async function benchTenantAdd(existing, runs = 3) {
  const [{ addTenant }, { parseConfigText }, { platformProgram }, { tenantProgram }, { runProgramUnderMocks }, { withKubernetesMocks }, { createAwsMockBehaviour }, { awsClusterLayers }, { loadBundle }] =
    await Promise.all([
      dist('src/tenants/config-edit.js'),
      dist('src/config/load.js'),
      dist('stacks/platform.js'),
      dist('stacks/tenant.js'),
      dist('src/plan/mock-runtime.js'),
      dist('src/plan/k8s-mocks.js'),
      dist('src/providers/aws/mocks.js'),
      dist('src/providers/aws/cluster.js'),
      dist('src/bundle/manifest.js'),
    ]);
  const behaviour = withKubernetesMocks({ cloud: createAwsMockBehaviour({ region: 'eu-west-1', accountId: '123456789012' }) });
  const text = ['aws:', '  region: eu-west-1', '  apiAllowedCidrs: [203.0.113.0/24]', 'dns:', '  domain: obs.example.com', 'tenants:', ...Array.from({ length: existing }, (_, i) => `  - name: team-${i}\n    tokens: [prometheus, promtail]`)].join('\n') + '\n';
  const times = [];
  for (let run = 0; run < runs; run++) {
    const start = performance.now();
    const config = parseConfigText(addTenant(text, 'lookout.yaml', { name: 'newcomer', tokens: [{ name: 'agent', scope: 'write' }] }), 'lookout.yaml', { provider: 'aws', name: 'prod' });
    const layers = awsClusterLayers('prod', INFRA);
    const bundle = loadBundle(config.bundle);
    await runProgramUnderMocks(
      platformProgram({ instance: 'prod', config, bundle, kubeconfig: layers.kubeconfig, cloud: layers.platform, tls: { certificatePem: 'C', privateKeyPem: 'K' } }),
      { project: 'lookout-platform', stack: `prod-platform-${existing}-${run}`, behaviour },
    );
    const tenant = config.tenants.at(-1);
    const token = (n) => `lk_newcomer_${n.padEnd(48, '0')}`;
    await runProgramUnderMocks(
      tenantProgram({
        instance: 'prod',
        tenant,
        domain: config.dns.domain,
        bundle,
        kubeconfig: layers.kubeconfig,
        storageClassName: layers.platform.storageClass.name,
        gateway: { internalUrl: 'http://gateway-internal.lookout.svc.cluster.local:8080', tenantsSecretName: 'gateway-tenants' },
        credentials: { tokens: { agent: token('agent') }, grafana: { datasourceToken: token('grafana'), adminPassword: 'x'.repeat(32) }, tokensCreatedAt: { agent: new Date().toISOString() } },
      }),
      { project: 'lookout-tenant', stack: `prod-tenant-newcomer-${existing}-${run}`, behaviour },
    );
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The status of a POST (fetch would not send our Host header). */
function status(url, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Seconds from the moment a revoked token's file changes on disk (as the kubelet swaps a mounted
 * Secret) until nginx refuses it, with the real reload sidecar loop (`reloadLoopScript`, its
 * shipped interval) sending SIGHUP. `samples` revocations, each at a random point of the loop.
 */
export async function benchRevocation(samples = 5) {
  const gateway = await import('@lookout/gateway');
  const interval = Number(/RELOAD_INTERVAL_SECONDS = (\d+)/.exec(readFileSync(join(root, 'components/gateway/src/gateway.ts'), 'utf8'))[1]);
  const work = mkdtempSync(join(tmpdir(), 'lookout-bench-revoke-'));
  if (process.getuid?.() === 0) chmodSync(work, 0o711);
  const tenants = join(work, 'tenants');
  mkdirSync(tenants);
  mkdirSync(join(work, 'temp'));
  const publicPort = await freePort();
  const internalPort = await freePort();
  const up = 'http://127.0.0.1:9';
  writeFileSync(
    join(work, 'nginx.conf'),
    gateway.renderGatewayConfig({
      domain: 'obs.bench.test',
      public: { address: '127.0.0.1', port: publicPort, tls: null },
      internal: { address: '127.0.0.1', port: internalPort },
      tenantsDir: tenants,
      upstreams: { distributor: up, queryFrontend: up, ruler: up, alertmanager: up, lokiWrite: up, lokiRead: up, lokiBackend: up, grafana: 'http://g-{tenant}.invalid:3000' },
      resolver: { addresses: ['127.0.0.1'] },
      limits: gateway.DEFAULT_GATEWAY_LIMITS,
      paths: { pidFile: join(work, 'nginx.pid'), tempDir: join(work, 'temp'), accessLog: join(work, 'access.log'), errorLog: join(work, 'error.log') },
      workerProcesses: 1,
    }),
  );
  const token = (n) => `lk_bench_${String(n).padStart(48, 'x')}`;
  const write = (tokens) => {
    writeFileSync(join(tenants, gateway.tokensFileName('bench')), gateway.renderTokenMapEntries('bench', tokens));
    writeFileSync(join(tenants, gateway.tenantFileName('bench')), gateway.renderTenantEntry('bench'));
  };
  write([token(0)]);
  const nginx = spawn('nginx', ['-p', work, '-c', join(work, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  const loop = spawn('sh', ['-c', gateway.reloadLoopScript({ watchDirs: [tenants], pidFile: join(work, 'nginx.pid'), heartbeatFile: join(work, 'beat'), intervalSeconds: interval })], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${publicPort}/api/v1/push`;
  const headers = (n) => ({ host: 'bench.obs.bench.test', authorization: `Bearer ${token(n)}` });
  const poll = async (ok, ms = 60_000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (await ok().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('the gateway did not take the change within 60 s');
  };
  const seconds = [];
  try {
    // Accepted means "not 401": the upstream is unreachable on purpose (502).
    await poll(async () => (await status(url, headers(0))) !== 401);
    for (let i = 0; i < samples; i++) {
      write([token(i + 1)]);
      await poll(async () => (await status(url, headers(i + 1))) !== 401);
      // A random point of the sidecar's loop, as in production.
      await new Promise((r) => setTimeout(r, Math.random() * interval * 1000));
      const start = performance.now();
      write([token(i + 2)]);
      await poll(async () => (await status(url, headers(i + 1))) === 401);
      seconds.push((performance.now() - start) / 1000);
    }
  } finally {
    loop.kill('SIGKILL');
    nginx.kill('SIGTERM');
    await new Promise((r) => nginx.once('exit', r));
    rmSync(work, { recursive: true, force: true });
  }
  seconds.sort((a, b) => a - b);
  return { interval, median: seconds[Math.floor(seconds.length / 2)], max: seconds.at(-1), samples: seconds.length };
}

export function dayTwoMissingTools() {
  return spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).status === 0 ? [] : [{ tool: 'nginx', install: 'apt-get install nginx-light' }];
}
