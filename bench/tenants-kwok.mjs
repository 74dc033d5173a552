// `tenant add` with 1, 10 and 50 existing tenants against kwok + versitygw with the real Pulumi
// engine and the file backend (issue 11, goal: at most 20 s, flat), and, on the way, `create`
// with that many tenants (issue 8, goal: at most 5 min with 50).
//
// How 50 existing tenants are afforded: one `create` per count with every tenant in the config
// (the number that measures create-with-N as well), on a fresh kwok cluster each, then one
// `tenant add`. `create` installs the tenant stacks `--parallel` at a time (default 8); each
// count is measured at every parallelism asked for (1 is one after another), `tenant add` once.
//
// Both commands are stopped (Ctrl-C) when the system-alerting step starts, as the real-engine
// suites do (test/support/kwok-instance.ts): kwok's pods serve nothing, so the steps that talk to
// the gateway cannot pass; every stack has been applied by then. The time reported is from the
// command's start to that moment.
//
// Run: `npx tsc -b && node bench/tenants-kwok.mjs [counts…]` (default 1 10 50), or
// `npm run bench -- tenant-add-kwok` with LOOKOUT_BENCH_KWOK_TENANTS=1,10,50; the parallelism
// of `create` from LOOKOUT_BENCH_KWOK_PARALLEL (default 8; `1,8` measures both).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

async function loadSupport() {
  const { runnerImport } = await import('vite');
  const load = async (file) => (await runnerImport(join(root, file), { configFile: false, logLevel: 'silent' })).module;
  return { instance: await load('test/support/kwok-instance.ts'), run: await load('test/support/lookout-run.ts') };
}

/** Runs a command until system-alerting starts; seconds from its start to then, and its steps' times. */
async function untilAlerting(s, instance, args) {
  const started = Date.now();
  let reached = 0;
  const r = await s.run.runLookout([...args, '--yes', '--json'], {
    env: instance.env,
    deadlineMs: 3_600_000,
    interruptWhen: (e) => {
      if (!s.instance.atSystemAlerting(e)) return false;
      reached = Date.now();
      return true;
    },
  }).done;
  if (!r.interrupted || r.code !== 130 || !reached) throw new Error(`${args.join(' ')} did not reach system-alerting: ${s.run.describeRun(r)}`);
  const steps = r.events.filter((e) => e.type === 'step-done').map((e) => [e.step, e.durationMs / 1000]);
  return { seconds: (reached - started) / 1000, steps, cliPeakRssMb: Math.round(r.peakRssBytes / 2 ** 20), treePeakRssMb: Math.round(r.peakTreeRssBytes / 2 ** 20) };
}

export async function benchTenantAddKwok(counts = [1, 10, 50], log = (line) => process.stderr.write(`${line}\n`), parallelisms = [4]) {
  const s = await loadSupport();
  const missing = s.instance.kwokInstanceMissing();
  if (missing) throw new Error(`cannot run: ${missing}`);
  const results = [];
  for (const count of counts) {
    const tenants = Array.from({ length: count }, (_, i) => `team-${i + 1}`);
    const creates = [];
    let add;
    for (const [i, parallel] of parallelisms.entries()) {
      const name = `bench-${count}-p${parallel}`;
      const instance = await s.instance.startKwokInstance({ name, domain: 'obs.bench.test', tenants });
      try {
        log(`${count} tenants: create --parallel ${parallel}…`);
        const create = await untilAlerting(s, instance, ['create', 'kubernetes', name, '-c', instance.configPath, '--parallel', String(parallel)]);
        const tenantSteps = create.steps.filter(([step]) => step.startsWith('tenant:') && step !== 'tenant:system').map(([, sec]) => sec);
        log(`${count} tenants: create --parallel ${parallel}: ${create.seconds.toFixed(1)} s`);
        creates.push({
          parallel,
          createS: create.seconds,
          createTenantStackS: { sum: tenantSteps.reduce((a, b) => a + b, 0), max: Math.max(...tenantSteps) },
          createCliPeakRssMb: create.cliPeakRssMb,
          createTreePeakRssMb: create.treePeakRssMb,
        });
        if (i === parallelisms.length - 1) {
          log(`${count} tenants: tenant add…`);
          add = await untilAlerting(s, instance, ['tenant', 'add', name, 'newcomer', '-c', instance.configPath]);
          log(`${count} tenants: tenant add ${add.seconds.toFixed(1)} s`);
        }
      } finally {
        await instance.stop();
      }
    }
    results.push({ existing: count, creates, addS: add.seconds, addSteps: add.steps });
  }
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const counts = process.argv.slice(2).map(Number);
  const parallelisms = (process.env.LOOKOUT_BENCH_KWOK_PARALLEL ?? '8').split(',').map(Number);
  benchTenantAddKwok(counts.length ? counts : undefined, undefined, parallelisms).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
