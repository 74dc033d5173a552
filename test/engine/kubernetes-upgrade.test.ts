/**
 * `lookout upgrade` from bundle 2026.11.0 to 2026.12.0 for real: the compiled CLI, the real
 * Pulumi engine and Kubernetes provider with the file backend, a real API server (kwok) and a
 * real S3 store (versitygw), on loopback. One cluster, the system tenant and one tenant; the
 * cases build on each other in order: create at 2026.11.0, an upgrade SIGKILLed in the middle
 * of the platform step, resumed by a plain `upgrade` and SIGKILLed again in the middle of the
 * migration's check, resumed again until it converges, then one more `upgrade` with nothing
 * left to change.
 *
 * The gateway: kwok's pods serve nothing, but the steps after the stacks talk to the gateway
 * (the system tenant's alerting, and the loki-ruler-storage migration, which records every
 * tenant's Loki rule groups before the platform changes and checks them after). The config
 * sets `kubernetes.gateway.address: 127.0.0.1`, the field users set when a load balancer of
 * their own fronts the gateway, and a stub on 127.0.0.1:443 with the instance's certificate
 * answers what those steps ask (test/support/gateway-stub.ts): health, the token check,
 * Cortex's alerting and rules APIs and Loki's rules API, rule groups held in memory. Nothing
 * in the CLI knows about the stub.
 *
 * How each command is bounded: the verify probe writes and reads back samples and log lines,
 * which the stub does not serve (the data-plane suites prove verify against real Cortex and
 * Loki), so, as kubernetes-create does at system-alerting, the suite stops every run the way a
 * user would, with Ctrl-C (SIGINT), when the verify step starts: every stack, the alerting and
 * the migration are done by then, and the journal records it. The instance's record therefore
 * keeps bundle 2026.11.0 with the upgrade's target beside it: an upgrade only counts as
 * finished once verify has passed.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/bundle/manifest.js';
import { readJournal, type Journal } from '../../src/engine/index.js';
import { stackNames } from '../../src/naming.js';
import { instancePaths } from '../../src/paths.js';
import { OWNER_LABEL } from '../../src/providers/kubernetes/settings.js';
import { gatewayPortMissing, startGatewayStub, type GatewayStub } from '../support/gateway-stub.js';
import type { KubeObject } from '../support/kube-client.js';
import { describeRun, runLookout, type LookoutEvent, type LookoutRun } from '../support/lookout-run.js';
import { killProcessTree } from '../support/processes.js';
import { kwokInstanceMissing, startKwokInstance, type KwokInstance } from '../support/kwok-instance.js';
import { suiteTitle } from '../support/test-binaries.js';

const missing = [kwokInstanceMissing(), gatewayPortMissing()].filter(Boolean).join('; ');
const title = suiteTitle('lookout upgrade 2026.11.0 → 2026.12.0 against a real API server, engine and S3 store', { paths: {}, ...(missing ? { missing } : {}) });
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const INSTANCE = 'kwokup';
const DOMAIN = 'obs.upgrade.test';
const TENANT = 'acme';
const FROM = '2026.11.0';
const TO = '2026.12.0';
const BUCKETS = { metrics: 'up-metrics', logs: 'up-logs', rules: 'up-rules' };
const STACKS = stackNames(INSTANCE);
const ALL_STACKS = [STACKS.platform, STACKS.tenant('system'), STACKS.tenant(TENANT)];
/** The log store's ConfigMap (components/log-store: CONFIG_MAP_NAME), in namespace lookout. */
const LOKI_CONFIG_MAP = 'loki-config';
const CHECK_STEP = 'migrate:loki-ruler-storage:check';
const RECORD_STEP = 'migrate:loki-ruler-storage:record';
/** The Loki rule groups the tenants have before the upgrade; the migration must keep every one. */
const LOKI_RULES = {
  system: { 'lookout-logs': [{ name: 'gateway-errors', rules: [{ alert: 'GatewayErrors', expr: 'sum(rate({app="gateway"} |= "error" [5m])) > 0' }] }] },
  [TENANT]: {
    app: [
      { name: 'errors', rules: [{ alert: 'ManyErrors', expr: 'sum(rate({app="shop"} |= "error" [5m])) > 1', for: '5m' }] },
      { name: 'panics', rules: [{ record: 'shop:panics:rate5m', expr: 'sum(rate({app="shop"} |= "panic" [5m]))' }] },
    ],
  },
};
const SEEDED_GROUPS = Object.values(LOKI_RULES).flatMap((t) => Object.values(t).flat()).length;

/** Every run is bounded here: stopped with Ctrl-C when verify starts (see the top). */
const atVerify = (e: LookoutEvent) => e.type === 'step-started' && e.step === 'verify';
const logMessages = (run: LookoutRun) => run.events.flatMap((e) => (e.type === 'log' ? [e.message] : []));

type Workload = KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }>; initContainers?: Array<{ image: string }> } } } };

describe.skipIf(Boolean(missing))(title, () => {
  let instance: KwokInstance;
  let cluster: KwokInstance['cluster'];
  let gateway: GatewayStub;
  let configPath: string;
  let env: NodeJS.ProcessEnv;
  /** kind namespace/name → uid, after create. */
  let createdUids: Map<string, string>;

  beforeAll(async () => {
    instance = await startKwokInstance({
      name: INSTANCE,
      domain: DOMAIN,
      tenants: [TENANT],
      buckets: BUCKETS,
      bundle: FROM,
      // The address clients (and the CLI) use for the gateway: the stub (see the top).
      gateway: { service: 'LoadBalancer', address: '127.0.0.1' },
    });
    ({ cluster, env, configPath } = instance);
    gateway = await startGatewayStub({ domain: DOMAIN, ...instance.certificate });
    for (const [tenant, rules] of Object.entries(LOKI_RULES)) gateway.setLokiRules(tenant, rules);
  }, 600_000);

  afterAll(async () => {
    await gateway?.stop();
    await instance?.stop();
  });

  const paths = () => {
    const saved = process.env.LOOKOUT_HOME;
    process.env.LOOKOUT_HOME = env.LOOKOUT_HOME;
    try {
      return instancePaths(INSTANCE);
    } finally {
      if (saved === undefined) delete process.env.LOOKOUT_HOME;
      else process.env.LOOKOUT_HOME = saved;
    }
  };
  const journal = async (): Promise<Journal> => (await readJournal(paths().journal))!;
  const upgradeRun = async () => (await journal()).runs.find((r) => r.command === 'upgrade')!;
  const record = () => JSON.parse(readFileSync(paths().instanceRecord, 'utf8')) as { bundle: string; upgradingTo?: string; config: { bundle: string } };

  const lookout = (args: string[], o: { killWhen?: (e: LookoutEvent, all: readonly LookoutEvent[]) => boolean } = {}) =>
    runLookout([...args, '--yes', '--json'], { env, interruptWhen: atVerify, deadlineMs: 1_500_000, ...(o.killWhen ? { killWhen: o.killWhen } : {}) });

  /** A run that must get as far as verify and stop there on Ctrl-C. */
  async function untilVerify(args: string[]): Promise<LookoutRun> {
    const run = await lookout(args).done;
    expect(run.interrupted, describeRun(run)).toBe(true);
    expect(run.code, describeRun(run)).toBe(130);
    expect(run.stderr + run.stdout).not.toMatch(/failed to load checkpoint/);
    return run;
  }

  /** Every object labelled with the instance: `Kind namespace/name` → { uid, resourceVersion }. */
  async function labelled(): Promise<Map<string, { uid: string; resourceVersion: string }>> {
    const found = new Map<string, { uid: string; resourceVersion: string }>();
    for (const type of await cluster.kube.resourceTypes()) {
      if (type.path.endsWith('/events') || type.path.includes('events.k8s.io')) continue;
      const list = await cluster.kube.list(type.path, `${OWNER_LABEL}=${INSTANCE}`).catch(() => undefined);
      for (const o of list?.items ?? []) {
        const key = `${type.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
        expect(found.has(key), `${key} listed twice`).toBe(false);
        found.set(key, { uid: String(o.metadata.uid), resourceVersion: String(o.metadata.resourceVersion) });
      }
    }
    return found;
  }

  /** Each container image of our workloads, as `repository` → the tags seen. */
  async function imageTags(): Promise<Map<string, Set<string>>> {
    const tags = new Map<string, Set<string>>();
    for (const path of ['/apis/apps/v1/deployments', '/apis/apps/v1/statefulsets', '/apis/apps/v1/daemonsets']) {
      for (const w of (await cluster.kube.list<Workload>(path, `${OWNER_LABEL}=${INSTANCE}`)).items) {
        for (const c of [...w.spec.template.spec.containers, ...(w.spec.template.spec.initContainers ?? [])]) {
          const m = /^(.+?):([^:@/]+)(@sha256:[0-9a-f]+)?$/.exec(c.image);
          if (!m) continue;
          if (!tags.has(m[1]!)) tags.set(m[1]!, new Set());
          tags.get(m[1]!)!.add(m[2]!);
        }
      }
    }
    return tags;
  }

  /** Every component image of `version` runs at that bundle's tag, and no other tag of it. */
  async function expectImagesOf(version: string): Promise<void> {
    const running = await imageTags();
    const components = Object.entries(loadBundle(version).components).filter(([, c]) => running.has(c.image.repository));
    expect(components.map(([name]) => name)).toEqual(expect.arrayContaining(['cortex', 'loki', 'gateway', 'kubeStateMetrics', 'nodeExporter']));
    for (const [name, c] of components) expect([...running.get(c.image.repository)!], `${name} (${c.image.repository})`).toEqual([c.image.tag]);
  }

  async function lokiConfig(): Promise<Record<string, unknown>> {
    const map = await cluster.kube.get<KubeObject & { data: Record<string, string> }>(`/api/v1/namespaces/lookout/configmaps/${LOKI_CONFIG_MAP}`);
    return YAML.parse(map.data['config.yaml']!) as Record<string, unknown>;
  }

  /** The stacks' checkpoints: no resource twice, nothing pending. */
  function expectCleanState(): void {
    const files = instance.stateFiles();
    expect(files.length).toBeGreaterThanOrEqual(ALL_STACKS.length);
    for (const f of files) {
      const checkpoint = JSON.parse(readFileSync(f, 'utf8')) as { checkpoint?: { latest?: { resources?: Array<{ urn: string }>; pending_operations?: unknown[] } } };
      expect(checkpoint.checkpoint?.latest?.pending_operations ?? [], f).toEqual([]);
      const urns = (checkpoint.checkpoint?.latest?.resources ?? []).map((r) => r.urn);
      expect(new Set(urns).size, f).toBe(urns.length);
    }
  }

  function tokensOf(tenant: string): string[] {
    const status = execFileSync(process.execPath, [join(ROOT, 'bin/lookout'), 'status', INSTANCE, '--show-tokens', '--json'], { env, encoding: 'utf8' });
    const shown = status.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; tokens?: Record<string, Record<string, string>> });
    return Object.values(shown.find((e) => e.type === 'tokens')?.tokens?.[tenant] ?? {});
  }

  it(`creates the instance at bundle ${FROM}: its images, Loki's rules under ruler.storage, alerting loaded through the gateway`, async () => {
    const run = await untilVerify(['create', 'kubernetes', INSTANCE, '-c', configPath]);
    const done = run.events.flatMap((e) => (e.type === 'step-done' ? [e.step] : []));
    expect(done).toEqual(expect.arrayContaining(['platform', 'tenant:system', `tenant:${TENANT}`, 'system-alerting']));
    await expectImagesOf(FROM);
    const config = await lokiConfig();
    expect(config.ruler_storage).toBeUndefined();
    expect((config.ruler as { storage?: unknown }).storage).toBeDefined();
    // The system tenant's alerting reached the gateway's address (the stub), with its own token.
    expect(Object.keys(gateway.cortexRules('system'))).toEqual(['lookout']);
    createdUids = new Map([...(await labelled())].map(([k, v]) => [k, v.uid]));
    expect(record()).toMatchObject({ bundle: FROM });
    console.log(`create kubernetes at ${FROM} (bounded at verify): ${Math.round(run.wallMs / 1000)} s`);
  }, 1_800_000);

  it(`upgrade --to ${TO}, SIGKILLed mid-platform, then resumed by a plain upgrade and SIGKILLed mid-migration, converges`, async () => {
    // 1. Killed in the middle of the platform step: after at least two of its updates started.
    const updating = (e: LookoutEvent, all: readonly LookoutEvent[]) =>
      e.type === 'step-progress' && e.step === 'platform' && all.filter((x) => x.type === 'step-progress' && x.step === 'platform' && /^updating /.test(x.message ?? '')).length >= 2;
    const first = await lookout(['upgrade', INSTANCE, '--to', TO], { killWhen: updating }).done;
    expect(first.killed, describeRun(first)).toBe(true);
    // The preview came first: the engine's own diff of each stack, with the platform's workloads
    // updated in place (none created, replaced or deleted) and the migration recorded before it.
    const preview = logMessages(first).find((m) => m.startsWith(`Stack ${STACKS.platform}:`))!;
    expect(preview, describeRun(first)).toBeDefined();
    for (const stack of ALL_STACKS.slice(1)) expect(preview).toContain(`\nStack ${stack}: `);
    const platformLines = preview.split('\nStack ')[0]!.split('\n');
    expect(platformLines[0]).toMatch(/^Stack \S+: \d+ to update\.$/);
    for (const workload of ['StatefulSet cortex-ingester', 'StatefulSet loki-write', 'StatefulSet loki-backend', 'Deployment gateway', 'ConfigMap loki-config']) {
      expect(platformLines.some((l) => l.startsWith('  update ') && l.includes(`:${workload.split(' ')[0]} ${workload.split(' ')[1]}`)), workload).toBe(true);
    }
    expect(preview).toMatch(/cortex-ingester[^\n]*\n\s+stateful: rolling replacement of its pods, one at a time, volumes kept; protected by WAL/);
    let run = await upgradeRun();
    expect(run.steps.find((s) => s.name === RECORD_STEP)).toMatchObject({ status: 'done', outputs: { tenants: { system: 1, [TENANT]: 2 } } });
    expect(run.steps.find((s) => s.name === 'platform')?.status).toBe('started');
    expect(record()).toMatchObject({ bundle: FROM, upgradingTo: TO });

    // 2. A plain `upgrade` resumes toward the interrupted run's target and says so; it is
    // killed while the migration's check lists the tenants' Loki rules (the stub holds the request).
    const held = gateway.holdNext((r) => r.method === 'GET' && r.path === '/loki/api/v1/rules');
    const second = lookout(['upgrade', INSTANCE]);
    const reached = await Promise.race([held.arrived.then(() => 'held' as const), second.done.then(() => 'ended' as const)]);
    if (reached === 'ended') throw new Error(`the resumed upgrade ended before the migration's check: ${describeRun(await second.done)}`);
    await killProcessTree(second.child);
    const killed = await second.done;
    held.release();
    expect(killed.signal, describeRun(killed)).toBe('SIGKILL');
    expect(killed.events.filter((e) => e.type === 'step-started').at(-1)).toMatchObject({ step: CHECK_STEP });
    expect(logMessages(killed)).toContain(
      `Resuming the interrupted upgrade of ${INSTANCE} to bundle ${TO} (no --to given: the interrupted run's target); ${INSTANCE} records bundle ${FROM} until it finishes.`,
    );
    expect(killed.stderr + killed.stdout).not.toMatch(/failed to load checkpoint/);
    run = await upgradeRun();
    expect(run.steps.find((s) => s.name === 'platform')?.status).toBe('done');
    expect(run.steps.find((s) => s.name === CHECK_STEP)?.status).toBe('started');

    // 3. Once more: it converges, up to verify.
    const third = await untilVerify(['upgrade', INSTANCE]);
    expect(third.events.filter((e) => e.type === 'step-skipped').map((e) => (e as { step: string }).step)).toEqual(
      expect.arrayContaining(['platform', 'tenant:system', `tenant:${TENANT}`, RECORD_STEP]),
    );
    run = await upgradeRun();
    // The journal: every step up to verify done, the record from before the platform changed checked.
    const byName = new Map(run.steps.map((s) => [s.name, s]));
    for (const name of run.plan.slice(0, run.plan.indexOf('verify'))) expect(byName.get(name)?.status, name).toBe('done');
    expect(byName.get(CHECK_STEP)?.outputs).toEqual({ checked: SEEDED_GROUPS, restored: [] });
    expect(run.plan.indexOf(RECORD_STEP)).toBeLessThan(run.plan.indexOf('platform'));
    expect(run.plan.indexOf(CHECK_STEP)).toBeGreaterThan(run.plan.indexOf(`tenant:${TENANT}`));

    // The cluster: 2026.12.0's images, Loki's rules under ruler_storage, and the same objects
    // as before (none created or deleted; workloads updated in place, none recreated).
    await expectImagesOf(TO);
    const config = await lokiConfig();
    expect(config.ruler_storage).toBeDefined();
    expect((config.ruler as { storage?: unknown } | undefined)?.storage).toBeUndefined();
    const now = await labelled();
    expect([...now.keys()].sort()).toEqual([...createdUids.keys()].sort());
    for (const [key, uid] of createdUids) {
      if (/^(StatefulSet|Deployment|DaemonSet|PersistentVolumeClaim|Service|Namespace) /.test(key)) expect(now.get(key)?.uid, key).toBe(uid);
    }
    expectCleanState();
    // The tenants' Loki rule groups: each kept, none twice, read with each tenant's own token.
    for (const [tenant, rules] of Object.entries(LOKI_RULES)) expect(gateway.lokiRules(tenant), tenant).toEqual(rules);
    const acmeTokens = tokensOf(TENANT);
    expect(acmeTokens.length).toBeGreaterThan(0);
    expect(gateway.tokensSeen(TENANT).every((t) => acmeTokens.includes(t))).toBe(true);
    expect(gateway.tokensSeen('system').some((t) => acmeTokens.includes(t))).toBe(false);
    expect(record()).toMatchObject({ bundle: FROM, upgradingTo: TO });
    console.log(`upgrade ${FROM} → ${TO}: killed mid-platform after ${Math.round(first.wallMs / 1000)} s, mid-migration after ${Math.round(killed.wallMs / 1000)} s, converged in ${Math.round(third.wallMs / 1000)} s`);
  }, 2_400_000);

  /**
   * Nothing left to change: the engine's preview of every stack, the platform's included, is
   * empty. (Before the headless Services skipped the provider's await, the platform's preview
   * could list updates of two or three of them here, with the state holding their copies from
   * before the apply: see @lookout/kube headlessService and kubernetes-headless-services.)
   */
  it('one more upgrade with nothing left to change: no stack previews any change, and no object changes', async () => {
    const before = await labelled();
    const run = await untilVerify(['upgrade', INSTANCE]);
    const messages = logMessages(run);
    const preview = messages.find((m) => m.startsWith(`Stack ${STACKS.platform}:`));
    for (const stack of ALL_STACKS) expect(preview, stack).toContain(`Stack ${stack}: no changes.`);
    // No line of a resource to create, update, replace or delete, in any stack.
    expect(preview!.split('\n').filter((l) => !l.startsWith('Stack ')), preview).toEqual([]);
    expect(run.events.filter((e) => e.type === 'step-skipped').map((e) => (e as { step: string }).step)).toEqual(
      expect.arrayContaining(['platform', 'tenant:system', `tenant:${TENANT}`, RECORD_STEP, CHECK_STEP]),
    );
    const after = await labelled();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, v] of before) expect(after.get(key), key).toEqual(v);
    console.log(`upgrade with nothing to change (bounded at verify): ${Math.round(run.wallMs / 1000)} s`);
  }, 1_200_000);
});
