/**
 * A Lookout instance of provider `kubernetes` on loopback, for the suites and benchmarks that
 * drive the compiled CLI against the real engine: a kwok cluster (kwok-cluster.ts), versitygw
 * for the three buckets, the Pulumi engine, a self-signed wildcard certificate, a config file,
 * and the environment the CLI runs in. Also what the API server and the stacks' state hold,
 * to show what a command changed.
 *
 * Why runs are bounded at system-alerting: kwok's pods serve nothing, so the steps that talk to
 * the gateway (system-alerting, verify) cannot pass here. Every stack has been applied, and the
 * journal records it, by the time system-alerting starts; `atSystemAlerting` stops a run there
 * with Ctrl-C (SIGINT), as a user would. Nothing in the CLI knows about it.
 *
 * Also the in-process side: the instance's context, as the CLI builds it for a command on an
 * existing instance, and a step context over its journal, so a suite can run the very steps
 * `upgrade` runs (its preview, the platform step) with a changed bundle or component.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import type { BundleManifest } from '../../src/bundle/manifest.js';
import type { StepContext } from '../../src/engine/runner.js';
import { instancePaths } from '../../src/paths.js';
import type { LogLevel } from '../../src/progress/events.js';
import type { InstanceContext } from '../../src/steps/context.js';
import { OWNER_LABEL } from '../../src/providers/kubernetes/settings.js';
import { kwokBinaries, KWOK_STORAGE_CLASS, startKwokCluster, type KwokCluster } from './kwok-cluster.js';
import { describeRun, runLookout, type LookoutEvent, type LookoutRun } from './lookout-run.js';
import { engineBinaries, preparePulumiEngine, type PulumiEngine } from './pulumi-engine.js';
import { s3ServerBinaries, startS3Server, type S3Server } from './s3-server.js';
import { selfSignedCertificate } from './self-signed.js';

/** Why these suites cannot run here, or undefined. */
export function kwokInstanceMissing(): string | undefined {
  return [kwokBinaries(), engineBinaries(), s3ServerBinaries()].map((b) => b.missing).filter(Boolean).join('; ') || undefined;
}

/** Stops a run (Ctrl-C) when system-alerting starts: see the top of this file. */
export const atSystemAlerting = (e: LookoutEvent) => e.type === 'step-started' && e.step === 'system-alerting';

export type TenantEntry = string | { name: string; tokens?: unknown[] };

export interface KwokInstance {
  name: string;
  domain: string;
  cluster: KwokCluster;
  s3: S3Server;
  engine: PulumiEngine;
  buckets: { metrics: string; logs: string; rules: string };
  configPath: string;
  /** The instance's certificate for `<domain>` and `*.<domain>`, and its key. */
  certificate: { certificatePem: string; privateKeyPem: string };
  /** The environment the CLI runs in (its own LOOKOUT_HOME, passphrase, S3 keys, engine). */
  env: NodeJS.ProcessEnv;
  /** Writes the config file with these tenants. */
  writeConfig(tenants: readonly TenantEntry[]): void;
  /** The instance's state paths under its LOOKOUT_HOME. */
  paths(): ReturnType<typeof instancePaths>;
  /** The stacks' checkpoint files in the instance's file backend. */
  stateFiles(): string[];
  /** `lookout create kubernetes … --yes --json`, stopped with Ctrl-C when system-alerting starts. */
  create(o?: { killWhen?: (e: LookoutEvent, all: readonly LookoutEvent[]) => boolean }): { done: Promise<LookoutRun> };
  /** A bounded create that must get as far as system-alerting and stop there on Ctrl-C. */
  createUntilAlerting(): Promise<LookoutRun>;
  stop(): Promise<void>;
}

export async function startKwokInstance(o: {
  name: string;
  domain: string;
  tenants: readonly TenantEntry[];
  nodes?: number;
  /** Default: `<name>-metrics`, `<name>-logs`, `<name>-rules`. */
  buckets?: { metrics: string; logs: string; rules: string };
  /** The config's `bundle`; default: the config's default, the newest bundle. */
  bundle?: string;
  /** The config's `kubernetes.gateway`; default: a LoadBalancer Service. */
  gateway?: { service: 'LoadBalancer' | 'NodePort' | 'ClusterIP'; address?: string };
}): Promise<KwokInstance> {
  const work = mkdtempSync(join(tmpdir(), `lookout-${o.name}-`));
  const buckets = o.buckets ?? { metrics: `${o.name}-metrics`, logs: `${o.name}-logs`, rules: `${o.name}-rules` };
  const started: Array<() => Promise<void> | void> = [() => rmSync(work, { recursive: true, force: true })];
  const undo = async () => {
    for (const f of started.reverse()) await Promise.resolve(f()).catch(() => undefined);
  };
  let engine: PulumiEngine;
  let cluster: KwokCluster;
  let s3: S3Server;
  try {
    engine = await preparePulumiEngine();
    started.push(() => engine.dispose());
    // The control plane gets 5 minutes: the machine running the suites may be busy.
    const [k, s] = await Promise.allSettled([startKwokCluster({ nodes: o.nodes ?? 3, deadlineMs: 300_000 }), startS3Server({ buckets: Object.values(buckets) })]);
    if (k.status === 'fulfilled') started.push(() => k.value.stop());
    if (s.status === 'fulfilled') started.push(() => s.value.stop());
    if (k.status === 'rejected') throw k.reason;
    if (s.status === 'rejected') throw s.reason;
    [cluster, s3] = [k.value, s.value];
  } catch (err) {
    // Nothing started is left behind (the test run fails on leftovers in its temporary directory).
    await undo();
    throw err;
  }
  const pair = await selfSignedCertificate([o.domain, `*.${o.domain}`], { days: 90 });
  writeFileSync(join(work, 'tls.crt'), pair.certificatePem);
  writeFileSync(join(work, 'tls.key'), pair.privateKeyPem, { mode: 0o600 });
  chmodSync(join(work, 'tls.key'), 0o600);
  const context = (YAML.parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as { 'current-context': string })['current-context'];
  const configPath = join(work, 'lookout.yaml');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...engine.env,
    LOOKOUT_HOME: join(work, 'home'),
    LOOKOUT_PASSPHRASE: `${o.name}-${randomBytes(16).toString('hex')}`,
    LOOKOUT_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LOOKOUT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  const writeConfig = (tenants: readonly TenantEntry[]) =>
    writeFileSync(
      configPath,
      YAML.stringify({
        name: o.name,
        provider: 'kubernetes',
        ...(o.bundle ? { bundle: o.bundle } : {}),
        kubernetes: {
          kubeconfig: cluster.kubeconfigPath,
          context,
          storageClass: KWOK_STORAGE_CLASS,
          clusterCidrs: ['10.0.0.0/16'],
          objectStorage: { endpoint: s3.endpoint, region: s3.region, buckets },
          gateway: o.gateway ?? { service: 'LoadBalancer' },
          certificate: { certificateFile: join(work, 'tls.crt'), privateKeyFile: join(work, 'tls.key') },
        },
        dns: { domain: o.domain },
        tenants: tenants.map((t) => (typeof t === 'string' ? { name: t, tokens: ['default'] } : t)),
      }),
    );
  writeConfig(o.tenants);
  const paths = () => {
    const saved = process.env.LOOKOUT_HOME;
    process.env.LOOKOUT_HOME = env.LOOKOUT_HOME;
    try {
      return instancePaths(o.name);
    } finally {
      if (saved === undefined) delete process.env.LOOKOUT_HOME;
      else process.env.LOOKOUT_HOME = saved;
    }
  };
  const stateFiles = () => {
    const files: string[] = [];
    const walk = (d: string) => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.json') && p.includes(join('.pulumi', 'stacks'))) files.push(p);
      }
    };
    if (existsSync(paths().pulumiState)) walk(paths().pulumiState);
    return files.sort();
  };
  const create: KwokInstance['create'] = (run = {}) =>
    runLookout(['create', 'kubernetes', o.name, '-c', configPath, '--yes', '--json'], {
      env,
      interruptWhen: atSystemAlerting,
      ...(run.killWhen ? { killWhen: run.killWhen } : {}),
      deadlineMs: 900_000,
    });
  return {
    name: o.name,
    domain: o.domain,
    cluster,
    s3,
    engine,
    buckets,
    configPath,
    certificate: pair,
    env,
    writeConfig,
    paths,
    stateFiles,
    create,
    async createUntilAlerting() {
      const run = await create().done;
      if (!run.interrupted || run.code !== 130) throw new Error(`create did not reach system-alerting: ${describeRun(run)}`);
      return run;
    },
    async stop() {
      await cluster.stop();
      await s3.stop();
      engine.dispose();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * Kinds whose objects change without anyone applying anything: the simulated pods and what
 * follows them, node heartbeats, leader-election leases, events.
 */
const CHANGING_BY_THEMSELVES = new Set(['Pod', 'Endpoints', 'EndpointSlice', 'Event', 'Lease', 'Node']);

/**
 * The resourceVersion of every object labelled as the instance's (`<kind> <namespace>/<name>`),
 * of every kind the API server serves but those above. Two snapshots show which objects a
 * command created, changed or deleted.
 */
export async function ownedObjectVersions(instance: KwokInstance): Promise<Map<string, string>> {
  const kube = instance.cluster.kube;
  const out = new Map<string, string>();
  for (const type of await kube.resourceTypes()) {
    if (CHANGING_BY_THEMSELVES.has(type.kind) || type.path.includes('events.k8s.io')) continue;
    const list = await kube.list(type.path, `${OWNER_LABEL}=${instance.name}`).catch(() => undefined);
    for (const o of list?.items ?? []) out.set(`${type.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, o.metadata.resourceVersion ?? '');
  }
  return out;
}

/** A hash of each stack's checkpoint, by file name relative to the state directory. */
export function stateDigests(instance: KwokInstance): Map<string, string> {
  const base = instance.paths().pulumiState;
  return new Map(instance.stateFiles().map((f) => [f.slice(base.length + 1), createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

/** What differs between two snapshots (of objects or of stack states). */
export function snapshotDiff(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): { added: string[]; changed: string[]; removed: string[] } {
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    changed: [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
  };
}

/** Runs `fn` with the instance's environment in this process (LOOKOUT_HOME, passphrase, engine on PATH). */
export async function withInstanceEnv<T>(instance: Pick<KwokInstance, 'env'>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, instance.env);
  try {
    return await fn();
  } finally {
    process.env = saved;
  }
}

/**
 * The instance's context in this process, as the CLI builds it for a command on an existing
 * instance, with the bundle given (a changed copy stands for a newer bundle). Call it inside
 * withInstanceEnv.
 */
export async function instanceContextFor(instance: Pick<KwokInstance, 'configPath' | 'env'>, name: string, bundle?: BundleManifest): Promise<InstanceContext> {
  const [{ loadConfig }, { loadBundle }, { loadProvider }, { ensurePulumiCommand }, { silentReporter }, { readInstanceRecord }] = await Promise.all([
    import('../../src/config/load.js'),
    import('../../src/bundle/manifest.js'),
    import('../../src/providers/registry.js'),
    import('../../src/pulumi/cli-install.js'),
    import('../../src/progress/events.js'),
    import('../../src/state/instance-record.js'),
  ]);
  const config = await loadConfig(instance.configPath, { provider: 'kubernetes', name });
  const record = await readInstanceRecord(name);
  if (!record) throw new Error(`no record of instance ${name} under ${instance.env.LOOKOUT_HOME}`);
  return {
    name,
    config,
    configFile: instance.configPath,
    session: {
      reporter: silentReporter,
      signal: new AbortController().signal,
      passphrase: instance.env.LOOKOUT_PASSPHRASE!,
      interactive: false,
      pulumi: () => ensurePulumiCommand({ reporter: silentReporter }),
      log: () => {},
      close: () => {},
    } as unknown as InstanceContext['session'],
    provider: await loadProvider('kubernetes'),
    record,
    expectedCounts: Promise.resolve({}),
    bundle: bundle ?? loadBundle(config.bundle),
    yes: true,
  };
}

export interface RecordingStepContext extends StepContext {
  logged: Array<{ level: LogLevel; message: string }>;
}

/**
 * A step context over the instance's journal: `outputsOf` answers with the outputs of the
 * last run that finished each step. Call it inside withInstanceEnv.
 */
export async function journalStepContext(name: string): Promise<RecordingStepContext> {
  const [{ readJournal }, { instancePaths }] = await Promise.all([import('../../src/engine/index.js'), import('../../src/paths.js')]);
  const journal = await readJournal(instancePaths(name).journal);
  if (!journal) throw new Error(`instance ${name} has no journal`);
  const logged: RecordingStepContext['logged'] = [];
  return {
    instance: name,
    command: 'upgrade',
    runId: 'in-process',
    signal: new AbortController().signal,
    idempotencyKey: 'in-process:step',
    outputsOf<T>(step: string): T {
      const done = journal.runs.flatMap((r) => r.steps).filter((s) => s.name === step && s.status === 'done');
      if (done.length === 0) throw new Error(`the journal has no finished ${step} step`);
      return done.at(-1)!.outputs as T;
    },
    progress: () => {},
    log: (level, message) => logged.push({ level, message }),
    logged,
  };
}
