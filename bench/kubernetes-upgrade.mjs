// `upgrade` from bundle 2026.11.0 to 2026.12.0 against kwok + versitygw with the real Pulumi
// engine and the file backend, as test/engine/kubernetes-upgrade.test.ts runs it:
// - the wall time of each step of `upgrade --to 2026.12.0`;
// - the same for one more `upgrade` with nothing left to change (every stack previewed, none
//   changed; the target for it: at most 2 minutes against a real API server);
// - on a second cluster, an `upgrade --to 2026.12.0` SIGKILLed in the middle of the platform
//   step: the time the plain `upgrade` that resumes it takes until it has converged.
//
// Each command is stopped (Ctrl-C) when the verify step starts, as the real-engine suites do:
// kwok's pods serve nothing, so the probe's writes and reads cannot pass; every stack, the
// alerting and the migration are done by then. "Until verify" is the time from the command's
// start to that step's start. The gateway's address is 127.0.0.1, where the suite's stub
// (test/support/gateway-stub.ts) answers the alerting and the migration's Loki rules API;
// it needs port 443 (root), so nothing else may hold it meanwhile.
//
// The code measured is the compiled dist/ (run `npx tsc -b` first).
import { pathToFileURL } from 'node:url';
import { kwokInstance, loadSupport, stepTimes } from './kubernetes.mjs';

const FROM = '2026.11.0';
const TO = '2026.12.0';

const untilVerifyS = (run) => {
  const started = run.events.find((e) => e.type === 'step-started' && e.step === 'verify');
  const first = run.events[0];
  return started && first ? (Date.parse(started.time) - Date.parse(first.time)) / 1000 : undefined;
};

async function upgradeInstance(s, name) {
  let stub;
  const instance = await kwokInstance(s, {
    name,
    tenants: 1,
    extra: { bundle: FROM },
    gateway: { service: 'LoadBalancer', address: '127.0.0.1' },
    onCertificate: async (domain, pair) => {
      stub = await s.gatewayStub.startGatewayStub({ domain, ...pair });
      stub.setLokiRules('team-1', { app: [{ name: 'errors', rules: [{ alert: 'ManyErrors', expr: 'sum(rate({app="shop"} |= "error" [5m])) > 1' }] }] });
      return () => stub.stop();
    },
  });
  const atVerify = (e) => e.type === 'step-started' && e.step === 'verify';
  const run = async (args, killWhen) => {
    const r = await s.run.runLookout([...args, '--yes', '--json'], { env: instance.env, interruptWhen: atVerify, deadlineMs: 2_400_000, ...(killWhen ? { killWhen } : {}) }).done;
    if (killWhen ? !r.killed : !r.interrupted || r.code !== 130) throw new Error(`${args.join(' ')} did not reach ${killWhen ? 'the kill' : 'verify'}: ${s.run.describeRun(r)}`);
    return r;
  };
  return { instance, run };
}

export async function benchUpgradeKubernetes() {
  const s = await loadSupport();
  const result = { benchmark: `upgrade ${FROM} → ${TO} with the system tenant and 1 tenant on kwok + versitygw, real engine, file backend` };

  const clean = await upgradeInstance(s, 'benchup');
  try {
    await clean.run(['create', 'kubernetes', 'benchup', '-c', clean.instance.config]);
    const upgrade = await clean.run(['upgrade', 'benchup', '--to', TO]);
    result.upgradeSteps = stepTimes(upgrade.events);
    result.upgradeUntilVerifyS = untilVerifyS(upgrade);
    const noop = await clean.run(['upgrade', 'benchup']);
    result.noChangeSteps = stepTimes(noop.events);
    result.noChangeUntilVerifyS = untilVerifyS(noop);
  } finally {
    await clean.instance.stop();
  }

  const killed = await upgradeInstance(s, 'benchkill');
  try {
    await killed.run(['create', 'kubernetes', 'benchkill', '-c', killed.instance.config]);
    const midPlatform = (e, all) =>
      e.type === 'step-progress' && e.step === 'platform' && all.filter((x) => x.type === 'step-progress' && x.step === 'platform' && /^updating /.test(x.message ?? '')).length >= 2;
    const first = await killed.run(['upgrade', 'benchkill', '--to', TO], midPlatform);
    result.killedAfterS = first.wallMs / 1000;
    const resumed = await killed.run(['upgrade', 'benchkill']);
    result.resumedSteps = stepTimes(resumed.events);
    result.convergedAfterKillS = untilVerifyS(resumed);
  } finally {
    await killed.instance.stop();
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchUpgradeKubernetes().then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
