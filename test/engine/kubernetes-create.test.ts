/**
 * `lookout create kubernetes` for real: the compiled CLI, the real Pulumi engine and
 * Kubernetes provider with the file backend, a real API server (kwok: etcd, kube-apiserver,
 * controller-manager and scheduler, with nodes and pod readiness simulated) and a real
 * S3 store (versitygw), all on loopback.
 *
 * How `create` is bounded here: simulated pods serve nothing, so the steps that talk to the
 * gateway (system-alerting, then verify) cannot pass against kwok, and verify is not weakened
 * for users (the data-plane suites prove it against real Cortex and Loki). The suite stops
 * each `create` the way a user would, with Ctrl-C (SIGINT), as soon as the system-alerting
 * step starts: every stack has been applied by then, and the journal records it. Nothing in
 * the CLI knows about this; no await of the provider is skipped.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/engine/index.js';
import { OWNER_LABEL } from '../../src/providers/kubernetes/settings.js';
import type { KwokCluster } from '../support/kwok-cluster.js';
import { atSystemAlerting as atAlerting, kwokInstanceMissing, startKwokInstance, type KwokInstance } from '../support/kwok-instance.js';
import type { KubeObject } from '../support/kube-client.js';
import { describeRun, runLookout, type LookoutEvent, type LookoutRun } from '../support/lookout-run.js';
import type { S3Server } from '../support/s3-server.js';
import { suiteTitle } from '../support/test-binaries.js';

const missing = kwokInstanceMissing();
const title = suiteTitle('lookout create kubernetes against a real API server, engine and S3 store', { paths: {}, ...(missing ? { missing } : {}) });
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const INSTANCE = 'kwok';
const DOMAIN = 'obs.lookout.test';
const TENANTS = ['acme', 'beta'];
const BUCKETS = { metrics: 'kwok-metrics', logs: 'kwok-logs', rules: 'kwok-rules' };
/** The namespaced types Lookout's stacks make, as list paths. */
const NAMESPACED = [
  '/api/v1/configmaps',
  '/api/v1/secrets',
  '/api/v1/services',
  '/api/v1/serviceaccounts',
  '/apis/apps/v1/deployments',
  '/apis/apps/v1/statefulsets',
  '/apis/apps/v1/daemonsets',
  '/apis/networking.k8s.io/v1/networkpolicies',
  '/apis/policy/v1/poddisruptionbudgets',
];
const NAMESPACES = ['lookout', 'lookout-node', 'tenant-system', ...TENANTS.map((t) => `tenant-${t}`)];

describe.skipIf(Boolean(missing))(title, () => {
  let lookout: KwokInstance;
  let cluster: KwokCluster;
  let s3: S3Server;
  let configPath: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    // The CLI runs compiled, as users run it (and as the kubeconfig's kube-token shim does).
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, stdio: 'pipe' });
    lookout = await startKwokInstance({ name: INSTANCE, domain: DOMAIN, tenants: TENANTS });
    expect(lookout.buckets).toEqual(BUCKETS);
    ({ cluster, s3, configPath, env } = lookout);
  }, 600_000);

  afterAll(async () => {
    await lookout?.stop();
  });

  const create = (o: { killWhen?: (e: LookoutEvent, all: readonly LookoutEvent[]) => boolean } = {}) =>
    runLookout(['create', 'kubernetes', INSTANCE, '-c', configPath, '--yes', '--json'], {
      env,
      interruptWhen: atAlerting,
      ...(o.killWhen ? { killWhen: o.killWhen } : {}),
      deadlineMs: 900_000,
    });

  /** A bounded create that must get as far as system-alerting and stop there on Ctrl-C. */
  async function createUntilAlerting(): Promise<LookoutRun> {
    const run = await create().done;
    expect(run.interrupted, describeRun(run)).toBe(true);
    expect(run.code, describeRun(run)).toBe(130);
    return run;
  }

  async function labelled(kube = cluster.kube): Promise<string[]> {
    const found: string[] = [];
    for (const type of await kube.resourceTypes()) {
      if (type.path.endsWith('/events') || type.path.includes('events.k8s.io')) continue;
      const list = await kube.list(type.path, `${OWNER_LABEL}=${INSTANCE}`).catch(() => undefined);
      for (const o of list?.items ?? []) found.push(`${type.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
    }
    return found.sort();
  }

  const stateFiles = () => lookout.stateFiles();

  /** Every resource in the instance's Pulumi state (file backend); none may be pending. */
  function stateResources(): Array<{ urn: string; type: string }> {
    return stateFiles().flatMap((f) => {
      const checkpoint = JSON.parse(readFileSync(f, 'utf8')) as { checkpoint?: { latest?: { resources?: Array<{ urn: string; type: string }>; pending_operations?: unknown[] } } };
      expect(checkpoint.checkpoint?.latest?.pending_operations ?? [], f).toEqual([]);
      return (checkpoint.checkpoint?.latest?.resources ?? []).map((r) => ({ urn: r.urn, type: r.type }));
    });
  }
  const stateUrns = () => stateResources().map((r) => r.urn);

  it('creates every stack in the cluster: namespaces, Ready workloads, Services, NetworkPolicies, owner labels, tokens only in Secrets', async () => {
    const run = await createUntilAlerting();
    const done = run.events.filter((e) => e.type === 'step-done').map((e) => (e as { step: string }).step);
    expect(done).toEqual(expect.arrayContaining(['preflight', 'infra', 'tls', 'platform', 'tenant:system', ...TENANTS.map((t) => `tenant:${t}`)]));
    // The tenant stacks ran at the same time (--parallel defaults to 8): every one started
    // before the first of them was done.
    const at = (type: string, step: string) => run.events.findIndex((e) => e.type === type && (e as { step?: string }).step === step);
    const tenantSteps = ['tenant:system', ...TENANTS.map((t) => `tenant:${t}`)];
    const firstDone = Math.min(...tenantSteps.map((t) => at('step-done', t)));
    for (const t of tenantSteps) expect(at('step-started', t), t).toBeLessThan(firstDone);

    const kube = cluster.kube;
    for (const ns of NAMESPACES) {
      const namespace = await kube.get(`/api/v1/namespaces/${ns}`);
      expect(namespace.metadata.labels?.[OWNER_LABEL], ns).toBe(INSTANCE);
    }
    // Every object of ours carries the owner label; none of another kind hides in our namespaces.
    for (const path of NAMESPACED) {
      for (const ns of NAMESPACES) {
        const items = (await kube.list(path.replace(/\/([^/]+)$/, `/namespaces/${ns}/$1`))).items;
        const ours = items.filter((o) => !(o.metadata.name === 'kube-root-ca.crt' || o.metadata.name === 'default'));
        for (const o of ours) expect(o.metadata.labels?.[OWNER_LABEL], `${path} ${ns}/${o.metadata.name}`).toBe(INSTANCE);
      }
    }
    // Workloads: each Deployment and StatefulSet Ready under kwok, as the provider's await saw them.
    const workloads = [
      ...(await kube.list<KubeObject & { spec: { replicas: number }; status?: { readyReplicas?: number } }>('/apis/apps/v1/deployments', `${OWNER_LABEL}=${INSTANCE}`)).items,
      ...(await kube.list<KubeObject & { spec: { replicas: number }; status?: { readyReplicas?: number } }>('/apis/apps/v1/statefulsets', `${OWNER_LABEL}=${INSTANCE}`)).items,
    ];
    expect(workloads.length).toBeGreaterThan(8);
    for (const w of workloads) expect(w.status?.readyReplicas ?? 0, `${w.kind} ${w.metadata.namespace}/${w.metadata.name}`).toBe(w.spec.replicas);
    // Services, with the gateway's load balancer; NetworkPolicies in every namespace.
    const gateway = await kube.get<KubeObject & { spec: { type: string } }>('/api/v1/namespaces/lookout/services/gateway');
    expect(gateway.spec.type).toBe('LoadBalancer');
    for (const ns of NAMESPACES) {
      expect((await kube.list(`/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies`)).items.length, ns).toBeGreaterThan(0);
    }
    // The S3 keys and the tenants' tokens are in Secrets, never in a ConfigMap or an annotation.
    const configMaps = JSON.stringify((await kube.list('/api/v1/configmaps', `${OWNER_LABEL}=${INSTANCE}`)).items);
    const secrets = JSON.stringify((await kube.list('/api/v1/secrets', `${OWNER_LABEL}=${INSTANCE}`)).items);
    expect(configMaps).not.toContain(s3.secretAccessKey);
    expect(secrets).toContain(Buffer.from(s3.secretAccessKey).toString('base64'));
    const status = execFileSync(process.execPath, [join(ROOT, 'bin/lookout'), 'status', INSTANCE, '--show-tokens', '--json'], { env, encoding: 'utf8' });
    const shown = status.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; tokens?: Record<string, Record<string, string>> });
    const tokens = Object.values(shown.find((e) => e.type === 'tokens')?.tokens ?? {}).flatMap((byName) => Object.values(byName));
    expect(tokens.length).toBe(TENANTS.length + 1);
    const deployments = JSON.stringify((await kube.list('/apis/apps/v1/deployments')).items);
    const stateText = stateFiles().map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const token of tokens) {
      expect(token.length).toBeGreaterThan(20);
      expect(configMaps).not.toContain(token);
      expect(deployments).not.toContain(token);
      expect(stateText).not.toContain(token);
    }
    // The journal records every stack as done; the state holds each resource once, nothing pending.
    const journal = await readJournal(lookout.paths().journal);
    expect(JSON.stringify(journal)).toContain('tenant:beta');
    const urns = stateUrns();
    expect(new Set(urns).size).toBe(urns.length);
    console.log(`create kubernetes (bounded at system-alerting): ${Math.round(run.wallMs / 1000)} s, CLI peak RSS ${Math.round(run.peakRssBytes / 2 ** 20)} MiB, with engine and plugins ${Math.round(run.peakTreeRssBytes / 2 ** 20)} MiB`);
  }, 1_200_000);

  /**
   * The engine's own preview of each stack for a changed config, through Lookout's stack
   * programs and workspace layer (what `upgrade` applies), in this process. Returns the URNs
   * the preview would change, by operation, per stack.
   */
  async function previewFor(configText: string) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const [{ parseConfigText }, { loadBundle }, { loadProvider }, { openClusterStack, secretStore }, cluster, { ensurePulumiCommand }, { silentReporter }, { fakeTenantCredentials }, { readTenantCredentials }, record] =
        await Promise.all([
          import('../../src/config/load.js'),
          import('../../src/bundle/manifest.js'),
          import('../../src/providers/registry.js'),
          import('../../src/steps/context.js'),
          import('../../src/steps/cluster-steps.js'),
          import('../../src/pulumi/cli-install.js'),
          import('../../src/progress/events.js'),
          import('../support/tenant-credentials.js'),
          import('../../src/tenants/credentials.js'),
          import('../../src/state/instance-record.js').then((m) => m.readInstanceRecord(INSTANCE)),
        ]);
      const config = parseConfigText(configText, configPath, { provider: 'kubernetes', name: INSTANCE });
      const bundle = loadBundle(config.bundle);
      const session = {
        reporter: silentReporter,
        signal: new AbortController().signal,
        passphrase: env.LOOKOUT_PASSPHRASE!,
        interactive: false,
        pulumi: () => ensurePulumiCommand({ reporter: silentReporter }),
        log: () => {},
        close: () => {},
      };
      const c = {
        name: INSTANCE,
        config,
        configFile: configPath,
        session,
        provider: await loadProvider('kubernetes'),
        record: record!,
        expectedCounts: Promise.resolve({}),
        bundle,
        yes: true,
      };
      const journal = (await readJournal(lookout.paths().journal))!;
      const outputsOf = (step: string) => journal.runs.flatMap((r) => r.steps).find((s) => s.name === step && s.status === 'done')!.outputs as Record<string, unknown>;
      const infra = outputsOf('infra');
      const platform = outputsOf('platform');
      const changed = (diffText = '') => {
        const ops: Record<string, string[]> = {};
        // The engine's diff prints each changed resource as `<op> <type>: (<what>)` then its URN.
        const re = /^\s*([-+~]+)\s*([a-z][\w.-]*:[\w./-]+:\w+): \(([\w-]+)\)[\s\S]*?\[urn=([^\]]+)\]/gm;
        for (const m of diffText.matchAll(re)) (ops[m[3]!] ??= []).push(`${m[2]}::${m[4]!.split('::').pop()}`);
        return ops;
      };
      const preview = async (layer: 'platform' | { tenant: string }, program: () => Promise<unknown>) => {
        const stack = await openClusterStack(c as never, layer, program, { step: 'preview' });
        const result = await stack.preview();
        return { changes: result.changes, changed: changed(result.diffText) };
      };
      const platformProgram = await cluster.platformProgramFor(c as never, infra);
      // Existing tenants keep their stored credentials (a change there would show as a diff); a new one gets stand-ins.
      const store = await secretStore(c as never);
      const tenantProgram = async (t: (typeof config.tenants)[number]) =>
        cluster.tenantProgramFor(c as never, t, infra, platform as never, (await readTenantCredentials(store, t.name)) ?? fakeTenantCredentials(t));
      const result: Record<string, Awaited<ReturnType<typeof preview>>> = { platform: await preview('platform', platformProgram) };
      for (const t of config.tenants) result[t.name] = await preview({ tenant: t.name }, await tenantProgram(t));
      return result;
    } finally {
      process.env = saved;
    }
  }

  it('previews a tenant added or removed through the config as its own stack plus the two runtime ConfigMaps', async () => {
    lookout.writeConfig([...TENANTS, 'gamma']);
    try {
      const added = await previewFor(readFileSync(configPath, 'utf8'));
      // The platform: only the stores' per-tenant runtime config changes, in place.
      expect(Object.keys(added.platform!.changed), JSON.stringify(added.platform!.changed)).toEqual(['update']);
      expect(added.platform!.changed.update!.sort()).toEqual([expect.stringMatching(/^kubernetes:core\/v1:ConfigMap::/), expect.stringMatching(/^kubernetes:core\/v1:ConfigMap::/)]);
      // The new tenant is all creates in its own stack; the others change nothing.
      expect(Object.keys(added.gamma!.changed)).toEqual(['create']);
      for (const t of TENANTS) expect(added[t]!.changed, t).toEqual({});

      // Removing one: again only the two ConfigMaps of the platform (its own stack is destroyed).
      lookout.writeConfig(TENANTS.slice(0, 1));
      const removed = await previewFor(readFileSync(configPath, 'utf8'));
      expect(removed.platform!.changed).toEqual({ update: [expect.stringMatching(/^kubernetes:core\/v1:ConfigMap::/), expect.stringMatching(/^kubernetes:core\/v1:ConfigMap::/)] });
      expect(removed[TENANTS[0]!]!.changed).toEqual({});
      lookout.writeConfig(TENANTS);

    } finally {
      lookout.writeConfig(TENANTS);
    }
  }, 900_000);

  it('destroy, killed once in the middle, leaves nothing labelled with the instance, cluster-scoped objects included, and an empty state', async () => {
    const destroy = (killWhen?: (e: LookoutEvent) => boolean) =>
      runLookout(['destroy', INSTANCE, '--delete-data', '--yes', '--json'], { env, deadlineMs: 900_000, ...(killWhen ? { killWhen } : {}) }).done;
    const killed = await destroy((e) => e.type === 'step-progress' && e.step === 'platform-destroy' && typeof e.done === 'number' && e.done >= 1);
    expect(killed.killed, describeRun(killed)).toBe(true);
    const run = await destroy();
    expect(run.code, describeRun(run)).toBe(0);
    // The buckets are the user's: even --delete-data keeps them, and the result says so.
    expect(run.events.find((e) => (e as { type: string }).type === 'result')).toMatchObject({ status: 'destroyed', keptBuckets: Object.values(BUCKETS) });
    expect(await labelled()).toEqual([]);
    expect(stateResources().filter((r) => r.type !== 'pulumi:pulumi:Stack')).toEqual([]);
    // The data is kept: the buckets are the user's.
    const { HeadBucketCommand } = await import('@aws-sdk/client-s3');
    for (const bucket of Object.values(BUCKETS)) await s3.client.send(new HeadBucketCommand({ Bucket: bucket }));
  }, 1_200_000);

  it('converges after SIGKILLs during the platform step’s `pulumi up` (first resource, ~10%, ~50%, ~90%) and during a tenant’s', async () => {
    // After the destroy above, each run below starts where the killed one stopped: the whole
    // process group (CLI, engine, plugins) is killed, as a power cut or the OOM killer would.
    const platformDone = (all: readonly LookoutEvent[]) =>
      all.filter((e): e is Extract<LookoutEvent, { type: 'step-progress' }> => e.type === 'step-progress' && e.step === 'platform' && typeof e.done === 'number');
    const atFraction = (fraction: number) => (_e: LookoutEvent, all: readonly LookoutEvent[]) =>
      platformDone(all).some((p) => (p.done ?? 0) >= 1 && p.total !== undefined && p.total > 0 && (p.done ?? 0) >= p.total * fraction);
    for (const fraction of [0, 0.1, 0.5, 0.9]) {
      const killed = await create({ killWhen: atFraction(fraction) }).done;
      expect(killed.killed, `kill at ${fraction * 100}% of the platform: ${describeRun(killed)}`).toBe(true);
    }
    const tenant = await create({
      killWhen: (e) => e.type === 'step-progress' && e.step === `tenant:${TENANTS[1]}` && typeof e.done === 'number' && e.done >= 1,
    }).done;
    expect(tenant.killed, describeRun(tenant)).toBe(true);

    const resumed = await createUntilAlerting();
    const logs = resumed.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).join('\n');
    expect(logs).toMatch(/stale lock/i);
    // Exactly one of each: every Kubernetes object in the state is in the cluster once, and
    // the cluster holds no labelled object the state does not know (a duplicate under another name).
    const urns = stateUrns();
    expect(new Set(urns).size).toBe(urns.length);
    const inState = stateResources().filter((r) => r.type.startsWith('kubernetes:') && !r.type.endsWith('Patch'));
    // Endpoints and EndpointSlices copy their Service's labels: the cluster's, not ours.
    const inCluster = (await labelled()).filter((o) => !o.startsWith('Endpoint'));
    expect(inCluster.length, inCluster.join('\n')).toBe(inState.length);
    const journal = await readJournal(lookout.paths().journal);
    const lastRun = journal!.runs.at(-1)!;
    expect(lastRun.steps.filter((s) => s.status === 'done').map((s) => s.name)).toEqual(
      expect.arrayContaining(['platform', 'tenant:system', ...TENANTS.map((t) => `tenant:${t}`)]),
    );
    console.log(`resume after SIGKILL in a tenant step, up to system-alerting: ${Math.round(resumed.wallMs / 1000)} s`);
  }, 2_400_000);

  it('refuses a second run on the same instance while one is running', async () => {
    // The first run is left waiting in system-alerting (for a gateway kwok cannot serve), holding the lock.
    let reachedAlerting!: () => void;
    const atStep = new Promise<void>((resolve) => (reachedAlerting = resolve));
    const first = runLookout(['create', 'kubernetes', INSTANCE, '-c', configPath, '--yes', '--json'], {
      env,
      deadlineMs: 900_000,
      interruptWhen: (e) => {
        if (atAlerting(e)) reachedAlerting();
        return false;
      },
    });
    await Promise.race([atStep, first.done.then((r) => Promise.reject(new Error(`the first run ended early: ${describeRun(r)}`)))]);
    expect(existsSync(lookout.paths().lock)).toBe(true);
    const second = await runLookout(['create', 'kubernetes', INSTANCE, '-c', configPath, '--yes', '--json'], { env, deadlineMs: 120_000 }).done;
    expect(second.code, describeRun(second)).toBe(1);
    expect(second.stderr + second.stdout).toMatch(/locked by another lookout run/);
    first.child.kill('SIGINT');
    const run = await first.done;
    expect(run.code, describeRun(run)).toBe(130);
  }, 1_200_000);
});
