/**
 * One Lookout instance on a kwok cluster, for the real-engine suites: the compiled CLI, the
 * real Pulumi engine and Kubernetes provider with the file backend, a real API server (kwok)
 * and a real S3 store (versitygw), all on loopback, with a `kubernetes` config that names them.
 *
 * Also the in-process side: the instance's context, as the CLI builds it for a command on an
 * existing instance, and a step context over its journal, so a suite can run the very steps
 * `upgrade` runs (its preview, the platform step) with a changed bundle or component.
 *
 * How `create` is bounded: simulated pods serve nothing, so the steps that talk to the gateway
 * (system-alerting, then verify) cannot pass against kwok, and verify is not weakened for
 * users. `createUntilAlerting` stops the CLI the way a user would, with Ctrl-C, as soon as the
 * system-alerting step starts: every stack has been applied by then, and the journal records it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { BundleManifest } from '../../src/bundle/manifest.js';
import type { StepContext } from '../../src/engine/runner.js';
import type { LogLevel } from '../../src/progress/events.js';
import type { InstanceContext } from '../../src/steps/context.js';
import { kwokBinaries, KWOK_STORAGE_CLASS, startKwokCluster, type KwokCluster } from './kwok-cluster.js';
import { describeRun, runLookout, type LookoutEvent, type LookoutRun } from './lookout-run.js';
import { engineBinaries, preparePulumiEngine, type PulumiEngine } from './pulumi-engine.js';
import { s3ServerBinaries, startS3Server, type S3Server } from './s3-server.js';
import { selfSignedCertificate } from './self-signed.js';
import type { Binaries } from './test-binaries.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What a kwok instance needs from the test binary cache; empty when everything is there. */
export function kwokInstanceMissing(): string {
  return [kwokBinaries(), engineBinaries(), s3ServerBinaries()]
    .map((b: Binaries) => b.missing)
    .filter(Boolean)
    .join('; ');
}

export interface KwokInstanceOptions {
  name: string;
  domain: string;
  tenants: string[];
  buckets: { metrics: string; logs: string; rules: string };
  /** kwok nodes, one zone each up to three (the stores spread hard over three zones). */
  nodes?: number;
}

export interface KwokInstance {
  cluster: KwokCluster;
  s3: S3Server;
  engine: PulumiEngine;
  configPath: string;
  /** The environment of every `lookout` run: engine, LOOKOUT_HOME, passphrase, S3 keys. */
  env: NodeJS.ProcessEnv;
  writeConfig(tenants: string[]): void;
  /** `lookout create kubernetes … --yes --json`, stopped with Ctrl-C when system-alerting starts. */
  create(o?: { killWhen?: (e: LookoutEvent, all: readonly LookoutEvent[]) => boolean }): { done: Promise<LookoutRun> };
  /** A bounded create that must get as far as system-alerting and stop there on Ctrl-C. */
  createUntilAlerting(): Promise<LookoutRun>;
  stop(): Promise<void>;
}

const atAlerting = (e: LookoutEvent) => e.type === 'step-started' && e.step === 'system-alerting';

export async function startKwokInstance(o: KwokInstanceOptions): Promise<KwokInstance> {
  // The CLI runs compiled, as users run it (and as the kubeconfig's kube-token shim does).
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: ROOT, stdio: 'pipe' });
  const engine = await preparePulumiEngine();
  const work = mkdtempSync(join(tmpdir(), `lookout-${o.name}-`));
  // Both start together; if either fails, whatever did start is stopped and nothing is left behind.
  // The control plane gets 5 minutes: the machine running the suites may be busy.
  const [clusterStarted, s3Started] = await Promise.allSettled([startKwokCluster({ nodes: o.nodes ?? 3, deadlineMs: 300_000 }), startS3Server({ buckets: Object.values(o.buckets) })]);
  if (clusterStarted.status === 'rejected' || s3Started.status === 'rejected') {
    if (clusterStarted.status === 'fulfilled') await clusterStarted.value.stop();
    if (s3Started.status === 'fulfilled') await s3Started.value.stop();
    engine.dispose();
    rmSync(work, { recursive: true, force: true });
    throw clusterStarted.status === 'rejected' ? clusterStarted.reason : (s3Started as PromiseRejectedResult).reason;
  }
  const [cluster, s3] = [clusterStarted.value, s3Started.value];
  const pair = await selfSignedCertificate([o.domain, `*.${o.domain}`], { days: 90 });
  writeFileSync(join(work, 'tls.crt'), pair.certificatePem);
  writeFileSync(join(work, 'tls.key'), pair.privateKeyPem, { mode: 0o600 });
  chmodSync(join(work, 'tls.key'), 0o600);
  const context = (YAML.parse(readFileSync(cluster.kubeconfigPath, 'utf8')) as { 'current-context': string })['current-context'];
  const configPath = join(work, 'lookout.yaml');
  const writeConfig = (tenants: string[]) =>
    writeFileSync(
      configPath,
      YAML.stringify({
        name: o.name,
        provider: 'kubernetes',
        kubernetes: {
          kubeconfig: cluster.kubeconfigPath,
          context,
          storageClass: KWOK_STORAGE_CLASS,
          clusterCidrs: ['10.0.0.0/16'],
          objectStorage: { endpoint: s3.endpoint, region: s3.region, buckets: o.buckets },
          gateway: { service: 'LoadBalancer' },
          certificate: { certificateFile: join(work, 'tls.crt'), privateKeyFile: join(work, 'tls.key') },
        },
        dns: { domain: o.domain },
        tenants: tenants.map((name) => ({ name, tokens: ['default'] })),
      }),
    );
  writeConfig(o.tenants);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...engine.env,
    LOOKOUT_HOME: join(work, 'home'),
    LOOKOUT_PASSPHRASE: `kwok-${randomBytes(16).toString('hex')}`,
    LOOKOUT_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LOOKOUT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
  const create: KwokInstance['create'] = (run = {}) =>
    runLookout(['create', 'kubernetes', o.name, '-c', configPath, '--yes', '--json'], {
      env,
      interruptWhen: atAlerting,
      ...(run.killWhen ? { killWhen: run.killWhen } : {}),
      deadlineMs: 900_000,
    });
  return {
    cluster,
    s3,
    engine,
    configPath,
    env,
    writeConfig,
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
