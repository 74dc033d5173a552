// `create kubernetes` against kwok + versitygw with the real Pulumi engine and the file
// backend: the wall time of each step, the CLI's peak RSS (its engine and plugins are other
// processes, reported as the tree's peak beside it), then the engine's overhead on unchanged
// stacks: `upgrade` with the same config runs `pulumi up` on every stack, and changes nothing.
//
// Both commands are stopped (Ctrl-C) when the system-alerting step starts, as the real-engine
// suite does: kwok's pods serve nothing, so the steps that talk to the gateway cannot pass.
// Then the time a create killed (SIGKILL) half-way through the platform step takes to converge.
// Targets: the unchanged stack's `up` at most 5 s.
//
// The code measured is the compiled dist/ (run `npx tsc -b` first). The servers come from the
// test helpers (TypeScript, loaded through Vite, which the test runner already brings).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function loadSupport() {
  const { runnerImport } = await import('vite');
  const load = async (file) => (await runnerImport(join(root, file), { configFile: false, logLevel: 'silent' })).module;
  return {
    kwok: await load('test/support/kwok-cluster.ts'),
    s3: await load('test/support/s3-server.ts'),
    engine: await load('test/support/pulumi-engine.ts'),
    run: await load('test/support/lookout-run.ts'),
    selfSigned: await load('test/support/self-signed.ts'),
    gatewayStub: await load('test/support/gateway-stub.ts'),
    processes: await load('test/support/processes.ts'),
  };
}

/** Each step's wall time from a run's events, in seconds, in the order the steps ran. */
export function stepTimes(events) {
  return events.filter((e) => e.type === 'step-done').map((e) => [e.step, e.durationMs / 1000]);
}

/**
 * One instance on a fresh kwok cluster and versitygw: its config file and the CLI's
 * environment. `extra` adds top-level config fields (`bundle`), `gateway` sets how the
 * gateway is exposed. `stop()` takes everything down.
 */
export async function kwokInstance(s, { name, tenants, extra = {}, gateway, onCertificate } = {}) {
  const missing = [s.kwok.kwokBinaries(), s.engine.engineBinaries(), s.s3.s3ServerBinaries()].map((b) => b.missing).filter(Boolean);
  if (missing.length > 0) throw new Error(`cannot run: ${missing.join('; ')}`);
  const work = await mkdtemp(join(tmpdir(), 'lookout-bench-k8s-'));
  const engine = await s.engine.preparePulumiEngine();
  const buckets = { metrics: 'bench-metrics', logs: 'bench-logs', rules: 'bench-rules' };
  const [cluster, s3] = await Promise.all([s.kwok.startKwokCluster({ nodes: 3 }), s.s3.startS3Server({ buckets: Object.values(buckets) })]);
  const domain = 'obs.bench.test';
  const pair = await s.selfSigned.selfSignedCertificate([domain, `*.${domain}`]);
  const stopExtra = onCertificate ? await onCertificate(domain, pair) : async () => {};
  await writeFile(join(work, 'tls.crt'), pair.certificatePem);
  await writeFile(join(work, 'tls.key'), pair.privateKeyPem, { mode: 0o600 });
  const context = /current-context:\s*(\S+)/.exec(readFileSync(cluster.kubeconfigPath, 'utf8'))[1];
  const config = join(work, 'lookout.yaml');
  await writeFile(
    config,
    JSON.stringify({
      name,
      provider: 'kubernetes',
      ...extra,
      kubernetes: {
        kubeconfig: cluster.kubeconfigPath,
        context,
        storageClass: s.kwok.KWOK_STORAGE_CLASS,
        clusterCidrs: ['10.0.0.0/16'],
        objectStorage: { endpoint: s3.endpoint, region: s3.region, buckets },
        ...(gateway ? { gateway } : {}),
        certificate: { certificateFile: join(work, 'tls.crt'), privateKeyFile: join(work, 'tls.key') },
      },
      dns: { domain },
      tenants: Array.from({ length: tenants }, (_, i) => ({ name: `team-${i + 1}` })),
    }),
  );
  const env = {
    ...process.env,
    ...engine.env,
    LOOKOUT_HOME: join(work, 'home'),
    LOOKOUT_PASSPHRASE: `bench-${randomBytes(16).toString('hex')}`,
    LOOKOUT_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LOOKOUT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  return {
    config,
    env,
    async stop() {
      await stopExtra();
      await cluster.stop();
      await s3.stop();
      engine.dispose();
      await rm(work, { recursive: true, force: true });
    },
  };
}

export async function benchCreateKubernetes({ tenants = 1 } = {}) {
  const s = await loadSupport();
  const instance = await kwokInstance(s, { name: 'bench', tenants });
  try {
    const { config, env } = instance;
    const atAlerting = (e) => e.type === 'step-started' && e.step === 'system-alerting';
    const run = async (args) => {
      const r = await s.run.runLookout(args, { env, interruptWhen: atAlerting, deadlineMs: 1_800_000 }).done;
      if (!r.interrupted || r.code !== 130) throw new Error(`${args.join(' ')} did not reach system-alerting: ${s.run.describeRun(r)}`);
      return r;
    };
    const create = await run(['create', 'kubernetes', 'bench', '-c', config, '--yes', '--json']);
    const upgrade = await run(['upgrade', 'bench', '-c', config, '--yes', '--json']);
    // Resume: destroy, then a create whose whole process tree is killed (SIGKILL) half-way
    // through the platform step's `pulumi up`; the next create's wall time is the time until
    // it has converged (up to system-alerting, as above).
    const destroyed = await s.run.runLookout(['destroy', 'bench', '--yes', '--json'], { env, deadlineMs: 1_800_000 }).done;
    if (destroyed.code !== 0) throw new Error(`destroy failed: ${s.run.describeRun(destroyed)}`);
    const halfPlatform = (_e, all) =>
      all.some((e) => e.type === 'step-progress' && e.step === 'platform' && e.total > 0 && (e.done ?? 0) >= e.total / 2);
    const killed = await s.run.runLookout(['create', 'kubernetes', 'bench', '-c', config, '--yes', '--json'], { env, killWhen: halfPlatform, deadlineMs: 1_800_000 }).done;
    if (!killed.killed) throw new Error(`the create was not killed mid-platform: ${s.run.describeRun(killed)}`);
    const resumed = await run(['create', 'kubernetes', 'bench', '-c', config, '--yes', '--json']);
    return {
      benchmark: `create kubernetes with ${tenants} tenant(s) on kwok + versitygw, real engine, file backend`,
      createSteps: stepTimes(create.events),
      createWallS: create.wallMs / 1000,
      cliPeakRssMb: Math.round(create.peakRssBytes / 2 ** 20),
      treePeakRssMb: Math.round(create.peakTreeRssBytes / 2 ** 20),
      unchangedUpSteps: stepTimes(upgrade.events).filter(([step]) => step === 'platform' || step.startsWith('tenant:')),
      upgradeCliPeakRssMb: Math.round(upgrade.peakRssBytes / 2 ** 20),
      resumeAfterPlatformKillWallS: resumed.wallMs / 1000,
      resumeSteps: stepTimes(resumed.events),
    };
  } finally {
    await instance.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchCreateKubernetes().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
