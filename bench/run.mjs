#!/usr/bin/env node
// `npm run bench`: the performance figures Lookout promises, each with its target, measured
// side by side in one run on this machine. Wall times are medians of repeated runs of the real binary; peak RSS
// comes from the measured process itself (bench/max-rss.mjs, preloaded).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lookout = join(root, 'bin/lookout');
const work = mkdtempSync(join(tmpdir(), 'lookout-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const only = process.argv.slice(2);
const wanted = (name) => only.length === 0 || only.includes(name);

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs a command `runs` times; returns wall times (ms) and the peak RSS (MB) of each run. */
function measure(args, { runs, env = {} }) {
  const times = [];
  const rss = [];
  for (let i = 0; i < runs; i++) {
    const rssFile = join(work, `rss-${process.hrtime.bigint()}`);
    const start = performance.now();
    const result = spawnSync(process.execPath, args, {
      env: {
        ...process.env,
        ...env,
        NODE_OPTIONS: `--import=${join(root, 'bench/max-rss.mjs')}`,
        LOOKOUT_BENCH_RSS_FILE: rssFile,
      },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    times.push(performance.now() - start);
    if (result.status !== 0) {
      throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    }
    const kb = readFileSync(rssFile, 'utf8').trim().split('\n').map(Number);
    rss.push(Math.max(...kb) / 1024);
    measure.lastStdout = result.stdout;
  }
  return { medianMs: median(times), peakRssMb: Math.max(...rss), times };
}

function section(title) {
  process.stdout.write(`\n## ${title}\n`);
}

function row(label, value) {
  process.stdout.write(`${label.padEnd(46)} ${value}\n`);
}

if (wanted('help')) {
  section('Start-up: `lookout --help` against a bare `node -e 0` (target: at most 2 times as long)');
  // Interleave the two so machine noise hits both alike.
  const node = [];
  const help = [];
  for (let i = 0; i < 21; i++) {
    node.push(measure(['-e', '0'], { runs: 1 }).medianMs);
    help.push(measure([lookout, '--help'], { runs: 1 }).medianMs);
  }
  row('node -e 0, median of 21', `${median(node).toFixed(1)} ms`);
  row('lookout --help, median of 21', `${median(help).toFixed(1)} ms`);
  row('ratio', (median(help) / median(node)).toFixed(2));
}

if (wanted('binaries')) {
  section('Test binaries built from pinned Go modules (`npm run test:binaries`): cold build time and size');
  const { entryKey, loadPinned, manifestPath, readManifest } = await import('../scripts/test-binaries-lib.mjs');
  const builds = readManifest().builds;
  for (const entry of loadPinned()) {
    const build = builds[entryKey(entry)];
    if (!build) {
      row(entryKey(entry), 'not built (npm run test:binaries)');
      continue;
    }
    const mib = Object.values(build.binaries).reduce((a, b) => a + b, 0) / 1024 / 1024;
    row(entryKey(entry), `${build.buildSeconds} s, ${mib.toFixed(1)} MiB (${Object.keys(build.binaries).join(', ')})`);
  }
  row('manifest', manifestPath());
}

/** A copy of the example config with `count` tenants. */
function configWithTenants(count) {
  const text = readFileSync(join(root, 'examples/aws.yaml'), 'utf8').replace(/^name: .*$/m, '');
  const head = text.slice(0, text.indexOf('\ntenants:'));
  const tenants = Array.from({ length: count }, (_, i) => `  - name: team-${i + 1}\n`).join('');
  const file = join(work, `tenants-${count}.yaml`);
  writeFileSync(file, `${head}\ntenants:\n${tenants}`);
  return file;
}

if (wanted('plan')) {
  section('Offline plan of examples/aws.yaml (target: at most 2.5 s)');
  const plan = measure([lookout, 'plan', 'aws', 'prod', '-c', join(root, 'examples/aws.yaml'), '--json'], { runs: 5 });
  row('median wall time of 5', `${(plan.medianMs / 1000).toFixed(2)} s`);
  row('peak RSS', `${plan.peakRssMb.toFixed(0)} MB`);
  const result = JSON.parse(measure.lastStdout.trim().split('\n').at(-1));
  for (const stack of result.plan.stacks) row(`Pulumi resources in stack ${stack.stack}`, String(stack.resourceCount));
}

if (wanted('plan-gcp')) {
  section('Offline plan of examples/gcp.yaml beside examples/aws.yaml, interleaved (target: GCP within 10% of AWS)');
  // Interleaved, so machine noise hits both alike.
  const aws = [];
  const gcp = [];
  let awsRss = 0;
  let gcpRss = 0;
  for (let i = 0; i < 5; i++) {
    const a = measure([lookout, 'plan', 'aws', 'prod', '-c', join(root, 'examples/aws.yaml'), '--json'], { runs: 1 });
    const g = measure([lookout, 'plan', 'gcp', 'prod', '-c', join(root, 'examples/gcp.yaml'), '--json'], { runs: 1 });
    aws.push(a.medianMs);
    gcp.push(g.medianMs);
    awsRss = Math.max(awsRss, a.peakRssMb);
    gcpRss = Math.max(gcpRss, g.peakRssMb);
  }
  row('plan aws: median of 5 / peak RSS', `${(median(aws) / 1000).toFixed(2)} s / ${awsRss.toFixed(0)} MB`);
  row('plan gcp: median of 5 / peak RSS', `${(median(gcp) / 1000).toFixed(2)} s / ${gcpRss.toFixed(0)} MB`);
  row('gcp / aws: wall time, peak RSS', `${(median(gcp) / median(aws)).toFixed(2)}, ${(gcpRss / awsRss).toFixed(2)}`);
  // Not a measurement: the estimate plan prints, from the infra graph and typical durations.
  const { criticalPath } = JSON.parse(measure.lastStdout.trim().split('\n').at(-1)).plan;
  const duration = (s) => (s < 60 ? `${s} s` : `${Math.round(s / 60)} min`);
  row('create gcp critical path (plan\'s estimate)', `about ${duration(criticalPath.totalSeconds)}`);
  process.stdout.write(`  ${criticalPath.links.map((l) => `${l.label} ${duration(l.seconds)}`).join(' → ')}\n`);
}

if (wanted('tenants')) {
  section('Offline plan with 1, 10 and 100 tenants (target: at most 5 s and 600 MB at 100 tenants, growing linearly)');
  const points = [];
  for (const count of [1, 10, 100]) {
    const file = configWithTenants(count);
    const m = measure([lookout, 'plan', 'aws', 'bench', '-c', file, '--json'], { runs: 3 });
    const result = JSON.parse(measure.lastStdout.trim().split('\n').at(-1));
    points.push({ count, ...m, resources: result.plan.totalResources, stacks: result.plan.stacks });
    row(`${count} tenants: median of 3 / peak RSS / resources`, `${(m.medianMs / 1000).toFixed(2)} s / ${m.peakRssMb.toFixed(0)} MB / ${result.plan.totalResources}`);
  }
  const [, ten, hundred] = points;
  const perTenantMs = (hundred.medianMs - ten.medianMs) / 90;
  const perTenantMb = (hundred.peakRssMb - ten.peakRssMb) / 90;
  row('growth per tenant (10 → 100)', `${perTenantMs.toFixed(1)} ms, ${perTenantMb.toFixed(2)} MB`);
  const byLayer = (stacks, layer) => stacks.filter((s) => s.layer === layer).map((s) => s.resourceCount);
  const platform = byLayer(hundred.stacks, 'platform');
  const tenant = byLayer(hundred.stacks, 'tenant');
  if (platform.length) row('Pulumi resources: platform stack', String(platform[0]));
  if (tenant.length) row('Pulumi resources: per tenant stack (max)', String(Math.max(...tenant)));
}

if (wanted('upgrade')) {
  section('An upgrade with nothing pending, and `upgrade --check` (target: the no-op within 2 min against a real API server; here decided offline)');
  const home = join(work, 'upgrade-home');
  const previousHome = process.env.LOOKOUT_HOME;
  process.env.LOOKOUT_HOME = home;
  const [{ writeInstanceRecord }, { parseConfigText }, { availableBundles }] = await Promise.all([
    import('../dist/src/state/instance-record.js'),
    import('../dist/src/config/load.js'),
    import('../dist/src/bundle/manifest.js'),
  ]);
  const newest = availableBundles().at(-1);
  const yaml = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [10.0.0.0/8]\ndns:\n  domain: obs.example.com\n';
  const config = { ...parseConfigText(yaml, 'bench.yaml', { provider: 'aws', name: 'current' }), bundle: newest };
  const at = new Date().toISOString();
  await writeInstanceRecord({ version: 1, name: 'current', provider: 'aws', region: 'eu-west-1', accountId: '111122223333', bundle: newest, config, status: 'ready', createdAt: at, updatedAt: at });
  if (previousHome === undefined) delete process.env.LOOKOUT_HOME;
  else process.env.LOOKOUT_HOME = previousHome;
  const noop = measure([lookout, 'upgrade', 'current', '--yes'], { runs: 5, env: { LOOKOUT_HOME: home } });
  row(`upgrade, nothing pending (bundle ${newest}): median of 5`, `${(noop.medianMs / 1000).toFixed(2)} s`);
  const check = measure([lookout, 'upgrade', 'current', '--check'], { runs: 5, env: { LOOKOUT_HOME: home } });
  row('upgrade --check, nothing pending: median of 5', `${(check.medianMs / 1000).toFixed(2)} s`);
}

if (wanted('limits')) {
  section('Refusing input that is too big or too deep: `lookout config validate`, exit 2 (target: each within 2 s)');
  const head = 'aws:\n  region: eu-west-1\n  apiAllowedCidrs: [203.0.113.0/24]\ndns:\n  domain: demo.example.com\n';
  const cases = [
    ['20,000 tokens in one tenant', `${head}tenants:\n  - name: team\n    tokens:\n${Array.from({ length: 20_000 }, (_, i) => `      - t${i}\n`).join('')}`],
    ['3,000 tenants', `${head}tenants:\n${Array.from({ length: 3_000 }, (_, i) => `  - name: team-${i}\n`).join('')}`],
    ['nesting 2,000 deep', `${head}x: ${'['.repeat(2_000)}${']'.repeat(2_000)}\n`],
    ['80,000 keys', `${head}x:\n${Array.from({ length: 80_000 }, (_, i) => `  k${i}: 1\n`).join('')}`],
    ['20,000 keys, one duplicate', `${head}x:\n${Array.from({ length: 20_000 }, (_, i) => `  k${i}: 1\n`).join('')}  k1: 2\n`],
  ];
  for (const [label, text] of cases) {
    const file = join(work, `limits-${label.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, text);
    const times = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const r = spawnSync(process.execPath, [lookout, 'config', 'validate', 'aws', 'bench', '-c', file], { encoding: 'utf8' });
      times.push(performance.now() - start);
      if (r.status !== 2) throw new Error(`${label}: expected exit 2, got ${r.status}: ${r.stderr}`);
    }
    row(`${label}: median of 3`, `${(median(times) / 1000).toFixed(2)} s`);
  }
}

if (wanted('gateway')) {
  section('Remote-write throughput through the gateway, against Prometheus directly, wrk on loopback (target: at least 0.8 of direct)');
  const { benchGatewayOverhead, gatewayBenchMissingTools } = await import('./gateway.mjs');
  const missingTools = gatewayBenchMissingTools();
  if (missingTools.length > 0) row('skipped, missing', missingTools.map((t) => `${t.tool} (${t.install})`).join(', '));
  else {
    const r = await benchGatewayOverhead();
    row('direct to Prometheus', `${r.directRps.toFixed(1)} req/s`);
    row('through the gateway', `${r.gatewayRps.toFixed(1)} req/s`);
    row('ratio', r.ratio.toFixed(3));
  }
}

if (wanted('gateway-scopes')) {
  section('Gateway overhead of token scopes and expiry: remote-write throughput vs direct, an unscoped token and a write-scoped expiring one (target: no measurable loss)');
  const { benchGatewayOverhead, gatewayBenchMissingTools } = await import('./gateway.mjs');
  const missingTools = gatewayBenchMissingTools();
  if (missingTools.length > 0) row('skipped, missing', missingTools.map((t) => `${t.tool} (${t.install})`).join(', '));
  else {
    const plain = await benchGatewayOverhead();
    const scoped = await benchGatewayOverhead({ scoped: true });
    row('ratio to direct, unscoped token', plain.ratio.toFixed(3));
    row('ratio to direct, scoped expiring token', scoped.ratio.toFixed(3));
    row('scoped / unscoped', (scoped.ratio / plain.ratio).toFixed(3));
  }
}

if (wanted('tenant-add')) {
  section('`tenant add` under mocks with 1, 10 and 100 existing tenants: edit, validate, platform limits and the new tenant stack (target: flat)');
  const { benchTenantAdd } = await import('./tenants-day-two.mjs');
  for (const existing of [1, 10, 100]) row(`${existing} existing tenants, median of 3`, `${((await benchTenantAdd(existing)) / 1000).toFixed(2)} s`);
}

if (wanted('tenant-add-kwok')) {
  section('`tenant add` with 1, 10 and 50 existing tenants on kwok + versitygw, real engine, until system-alerting (target: at most 20 s, flat); `create` with that many (target: at most 5 min with 50)');
  const { benchTenantAddKwok } = await import('./tenants-kwok.mjs');
  const counts = (process.env.LOOKOUT_BENCH_KWOK_TENANTS ?? '1,10,50').split(',').map(Number);
  const parallelisms = (process.env.LOOKOUT_BENCH_KWOK_PARALLEL ?? '8').split(',').map(Number);
  try {
    for (const r of await benchTenantAddKwok(counts, undefined, parallelisms)) {
      row(`${r.existing} existing: tenant add`, `${r.addS.toFixed(1)} s (${r.addSteps.map(([step, sec]) => `${step} ${sec.toFixed(1)} s`).join(', ')})`);
      for (const c of r.creates) {
        row(
          `${r.existing} tenants: create --parallel ${c.parallel}`,
          `${c.createS.toFixed(1)} s (tenant stacks: ${c.createTenantStackS.sum.toFixed(1)} s summed, slowest ${c.createTenantStackS.max.toFixed(1)} s; peak RSS ${c.createCliPeakRssMb} MB, with engines and plugins ${c.createTreePeakRssMb} MB)`,
        );
      }
    }
  } catch (err) {
    row('skipped', err.message);
  }
}

if (wanted('revocation')) {
  section('Token revocation: file changed on disk until the real nginx refuses the token, real reload sidecar loop (target: at most 10 s)');
  const { benchRevocation, dayTwoMissingTools } = await import('./tenants-day-two.mjs');
  const missing = dayTwoMissingTools();
  if (missing.length > 0) row('skipped, missing', missing.map((t) => `${t.tool} (${t.install})`).join(', '));
  else {
    const r = await benchRevocation();
    row('sidecar interval', `${r.interval} s`);
    row(`median of ${r.samples}`, `${r.median.toFixed(2)} s`);
    row('max', `${r.max.toFixed(2)} s`);
  }
}

if (wanted('tls')) {
  section('Certificate issuance for <domain> and *.<domain>, pebble and bind9 on loopback (target: median of 5 at most 1 s)');
  const { benchIssuance } = await import('./tls.mjs');
  try {
    const r = await benchIssuance({ runs: 5 });
    row('median of 5', `${r.medianMs.toFixed(0)} ms`);
    row('runs', r.timesMs.map((t) => `${t.toFixed(0)} ms`).join(', '));
  } catch (err) {
    row('skipped', err.message);
  }
}

if (wanted('kubernetes')) {
  section('create kubernetes on kwok + versitygw, real engine: wall time per step, CLI peak RSS; unchanged stack `up` (target: at most 5 s)');
  const { benchCreateKubernetes } = await import('./kubernetes.mjs');
  try {
    const r = await benchCreateKubernetes();
    for (const [step, s] of r.createSteps) row(`create: ${step}`, `${s.toFixed(1)} s`);
    row('create: wall time until system-alerting', `${r.createWallS.toFixed(1)} s`);
    row('create: CLI peak RSS', `${r.cliPeakRssMb} MB (with engine and plugins: ${r.treePeakRssMb} MB)`);
    for (const [step, s] of r.unchangedUpSteps) row(`unchanged up: ${step}`, `${s.toFixed(1)} s`);
  } catch (err) {
    row('skipped', err.message);
  }
}

if (wanted('kubernetes-upgrade')) {
  section('upgrade 2026.11.0 → 2026.12.0 on kwok + versitygw, real engine: wall time per step; nothing left to change (target: at most 2 min); converged after a SIGKILL mid-platform');
  const { benchUpgradeKubernetes } = await import('./kubernetes-upgrade.mjs');
  try {
    const r = await benchUpgradeKubernetes();
    for (const [step, s] of r.upgradeSteps) row(`upgrade --to: ${step}`, `${s.toFixed(1)} s`);
    row('upgrade --to: until verify', `${r.upgradeUntilVerifyS.toFixed(1)} s`);
    for (const [step, s] of r.noChangeSteps) row(`nothing to change: ${step}`, `${s.toFixed(1)} s`);
    row('nothing to change: until verify', `${r.noChangeUntilVerifyS.toFixed(1)} s`);
    row('interrupted: SIGKILL mid-platform after', `${r.killedAfterS.toFixed(1)} s`);
    for (const [step, s] of r.resumedSteps) row(`resumed: ${step}`, `${s.toFixed(1)} s`);
    row('resumed: converged (until verify)', `${r.convergedAfterKillS.toFixed(1)} s`);
  } catch (err) {
    row('skipped', err.message);
  }
}

if (wanted('dataplane')) {
  section('Data plane from the rendered examples/aws.yaml: real Cortex, versitygw and the nginx gateway on loopback (target: the gateway keeps at least 0.9 of direct remote write)');
  // The harness is TypeScript (test/support/dataplane); vitest runs it with the tests' resolution.
  const out = join(work, 'dataplane.json');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(root, 'bench/dataplane.vitest.config.ts')], {
    cwd: root,
    env: { ...process.env, LOOKOUT_BENCH_DATAPLANE_OUT: out },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`the data plane benchmark failed:\n${r.stdout}${r.stderr}`);
  const f = JSON.parse(readFileSync(out, 'utf8'));
  if (f.skipped) row('skipped', f.skipped);
  else {
    const rate = (p) => `${Math.round(p.samplesPerSecond).toLocaleString('en-US')} samples/s (${p.requests} requests${Object.keys(p.refused).length ? `, refused ${JSON.stringify(p.refused)}` : ''})`;
    row('Cortex', f.cortex);
    row('start-up to ready (whole data plane)', `${(f.startupMs / 1000).toFixed(1)} s, ${f.cortexProcesses} Cortex processes`);
    row('remote write directly to the distributor', rate(f.pushDirect));
    row('remote write through the gateway', rate(f.pushGateway));
    row('ratio gateway / direct', (f.pushGateway.samplesPerSecond / f.pushDirect.samplesPerSecond).toFixed(3));
    row(`PromQL instant query, p50 / p99 of ${f.instant.count}`, `${f.instant.p50Ms.toFixed(1)} / ${f.instant.p99Ms.toFixed(1)} ms`);
    row(`PromQL 1 h range query, p50 / p99 of ${f.range1h.count}`, `${f.range1h.p50Ms.toFixed(1)} / ${f.range1h.p99Ms.toFixed(1)} ms`);
    for (const [name, mb] of Object.entries(f.peakRssMb)) row(`peak RSS ${name}`, `${mb.toFixed(0)} MB`);
  }
}

process.stdout.write('\n');
