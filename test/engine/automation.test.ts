/**
 * Lookout's Automation API layer (src/pulumi/workspace.ts) against the real Pulumi engine and
 * the real Kubernetes provider, applying to a real API server (kwok): the file backend,
 * passphrase-encrypted secrets, progress counts, a lock held by a live run, and a run whose
 * whole process group was killed with SIGKILL in the middle of `up`, then resumed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor as pWaitFor } from '../../src/wait-for.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import { acquireInstanceLock, readInstanceLock } from '../../src/engine/index.js';
import { instancePaths } from '../../src/paths.js';
import { openStack, workspaceEnvVars } from '../../src/pulumi/workspace.js';
import { forgetRandomResources } from '../../src/tenants/random-migration.js';
import { resolveBackend } from '../../src/pulumi/backend.js';
import { LocalWorkspace, fullyQualifiedStackName } from '@pulumi/pulumi/automation/index.js';
import { collectingReporter, silentReporter, type ProgressEvent } from '../../src/progress/events.js';
import { configMapProgram, PROJECT } from './fixtures/configmap-program.mjs';
import { kwokBinaries, type KwokCluster } from '../support/kwok-cluster.js';
import { engineBinaries } from '../support/pulumi-engine.js';
import { startEngineCluster, type EngineCluster } from '../support/engine-cluster.js';
import { suiteTitle } from '../support/test-binaries.js';
import { killProcessTree } from '../support/processes.js';

const needed = [kwokBinaries(), engineBinaries()];
const missing = needed.map((b) => b.missing).filter(Boolean).join('; ');
const title = suiteTitle('the workspace layer with the real Pulumi engine and a real API server', { paths: {}, ...(missing ? { missing } : {}) });
const CHILD = fileURLToPath(new URL('./fixtures/up-child.mjs', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** A run of up-child.mjs in its own process group, with its progress events as they come. */
function startChild(args: object, env: NodeJS.ProcessEnv): { child: ChildProcess; events: Array<Record<string, unknown>>; output: () => string } {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Array<Record<string, unknown>> = [];
  let buffer = '';
  let all = '';
  child.stdout!.on('data', (c: Buffer) => {
    all += c.toString();
    buffer += c.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not an event line
      }
    }
  });
  child.stderr!.on('data', (c: Buffer) => (all += c.toString()));
  return { child, events, output: () => all };
}

describe.skipIf(Boolean(missing))(title, () => {
  let running: EngineCluster | undefined;
  let cluster: KwokCluster;
  let pulumiCommand: PulumiCommand;
  const passphrase = `engine-test-${randomBytes(8).toString('hex')}`;

  beforeAll(async () => {
    running = await startEngineCluster({ nodes: 1, homePrefix: 'lookout-engine-home-' });
    ({ cluster, pulumiCommand } = running);
  }, 300_000);

  afterAll(async () => {
    await running?.stop();
  });

  const kubeconfig = () => readFileSync(cluster.kubeconfigPath, 'utf8');

  it('applies a stack with the file backend, counts progress, and keeps secrets encrypted at rest', async () => {
    const secretValue = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const reporter = collectingReporter();
    const stack = await openStack({
      instance: 'engine-a',
      project: PROJECT,
      stackName: 'a',
      program: configMapProgram({ kubeconfig: kubeconfig(), namespace: 'engine-a', count: 6, secretValue }),
      passphrase,
      pulumiCommand,
      reporter,
      step: 'up',
      providerPackages: ['@pulumi/kubernetes'],
      // ConfigMaps only: no cloud resource whose import id a pending create could have.
      importIds: {},
    });
    // The engine's own preview counts what will be created; `up` then reports done/total against it.
    const planned = await stack.preview();
    expect(planned.changes.create).toBe(10); // stack, provider, namespace, 6 ConfigMaps, Secret
    const outputs = await stack.up();
    expect(outputs.secret).toBe(secretValue);
    expect(outputs.configMaps).toBe(6);

    const maps = await cluster.kube.list('/api/v1/namespaces/engine-a/configmaps');
    expect(maps.items.map((m) => m.metadata.name).filter((n) => n.startsWith('cm-')).sort()).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5']);
    const token = await cluster.kube.get<{ data: Record<string, string> }>('/api/v1/namespaces/engine-a/secrets/token');
    expect(Buffer.from(token.data.token!, 'base64').toString()).toBe(secretValue);

    // Progress: the engine's events counted every resource of the program, ending at done = total.
    const progress = reporter.events.filter((e): e is Extract<ProgressEvent, { type: 'step-progress' }> => e.type === 'step-progress' && e.done !== undefined);
    const last = progress.at(-1)!;
    expect(last.total).toBe(9); // the stack itself is not a unit of progress
    expect(last.done).toBe(last.total);
    expect(new Set(progress.map((p) => p.done)).size).toBeGreaterThan(2);

    // The file backend holds the state; no file of it holds the secret or the passphrase in plaintext.
    const stateFiles = filesUnder(instancePaths('engine-a').pulumiState);
    expect(stateFiles.some((f) => f.endsWith('a.json'))).toBe(true);
    for (const f of stateFiles) {
      const text = readFileSync(f, 'utf8');
      expect(text, f).not.toContain(secretValue);
      expect(text, f).not.toContain(passphrase);
    }
    expect(stateFiles.map((f) => readFileSync(f, 'utf8')).join('\n')).toContain('ciphertext');
    // The engine writes no metadata sidecars (`*.attrs`): a kill could tear one and make the
    // state unreadable (src/pulumi/backend.ts, engineBackendUrl).
    expect(stateFiles.filter((f) => f.endsWith('.attrs'))).toEqual([]);

    // A second `up` of the unchanged program changes nothing.
    const again = collectingReporter();
    const reopened = await openStack({
      instance: 'engine-a',
      project: PROJECT,
      stackName: 'a',
      program: configMapProgram({ kubeconfig: kubeconfig(), namespace: 'engine-a', count: 6, secretValue }),
      passphrase,
      pulumiCommand,
      reporter: again,
      step: 'up',
      providerPackages: ['@pulumi/kubernetes'],
      // ConfigMaps only: no cloud resource whose import id a pending create could have.
      importIds: {},
    });
    const preview = await reopened.preview();
    expect(Object.keys(preview.changes).filter((op) => op !== 'same')).toEqual([]);
  }, 240_000);

  it('reads a state whose metadata sidecar an interrupted engine left empty, after removing that sidecar', async () => {
    // What an older Lookout's engine, killed between creating `<stack>.json.attrs` and writing
    // it, left beside an intact state file.
    const statePath = filesUnder(instancePaths('engine-a').pulumiState).find((f) => f.endsWith(`${join('stacks', PROJECT, 'a.json')}`))!;
    writeFileSync(`${statePath}.attrs`, '');
    const program = configMapProgram({ kubeconfig: kubeconfig(), namespace: 'engine-a', count: 6, secretValue: 'unused' });
    const workDir = join(instancePaths('engine-a').workspaces, 'a');
    const select = () =>
      LocalWorkspace.selectStack(
        { projectName: PROJECT, stackName: fullyQualifiedStackName('organization', PROJECT, 'a'), program },
        { workDir, envVars: workspaceEnvVars(resolveBackend('engine-a'), passphrase), pulumiCommand },
      );
    // The engine alone cannot read that stack any more: the defect seen after SIGKILLs.
    await expect(select()).rejects.toThrow(/failed to load checkpoint: EOF/);

    const reporter = collectingReporter();
    const stack = await openStack({
      instance: 'engine-a',
      project: PROJECT,
      stackName: 'a',
      program,
      passphrase,
      pulumiCommand,
      reporter,
      step: 'up',
      providerPackages: ['@pulumi/kubernetes'],
      importIds: {},
    });
    const warnings = reporter.events.filter((e) => e.type === 'log' && e.level === 'warn').map((e) => (e as { message: string }).message);
    expect(warnings).toEqual([expect.stringContaining(`Removed ${statePath}.attrs`)]);
    await stack.prepare();
    expect(stack.resources().filter((r) => r.type === 'kubernetes:core/v1:ConfigMap')).toHaveLength(6);
    await expect(select()).resolves.toBeDefined();
  }, 120_000);

  it('refuses to touch a stack whose engine lock a live run holds, then resumes after that run is killed mid-update', async () => {
    const secretValue = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const program = { kubeconfig: kubeconfig(), namespace: 'engine-b', count: 12, secretValue, slowService: true };
    const run = startChild({ instance: 'engine-b', stack: 'b', passphrase, program }, { ...process.env });
    try {
      // The update is under way once the engine reported a finished resource; the slow Service
      // keeps it (and its lock) alive.
      await pWaitFor(() => run.events.some((e) => e.type === 'step-progress' && typeof e.done === 'number' && e.done >= 3), {
        interval: 50,
        timeout: { milliseconds: 120_000, message: `the child never reported progress:\n${run.output()}` },
      });
      await pWaitFor(async () => (await cluster.kube.find('/api/v1/namespaces/engine-b/services/slow')) !== undefined, {
        interval: 100,
        timeout: { milliseconds: 60_000, message: `the slow Service never appeared:\n${run.output()}` },
      });
      // Before starting its engine, the run recorded that it was starting one on the stack (its
      // own identity, keyed by the stack's lock directory); then the engine's Pulumi lock, with
      // the engine's identity, in its instance lock.
      const held = await readInstanceLock(instancePaths('engine-b').lock);
      expect(held?.pid).toBe(run.child.pid);
      const sameSpace = { bootId: held?.bootId, pidNamespace: held?.pidNamespace };
      expect(held?.childLocks).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ key: expect.stringMatching(/^\.pulumi\/locks\/organization\/.*\/b\/$/), process: expect.objectContaining({ ...sameSpace, pid: run.child.pid }) }),
          expect.objectContaining({ key: expect.stringMatching(/^\.pulumi\/locks\/organization\/.*\/b\/[0-9a-f-]+\.json$/), process: expect.objectContaining(sameSpace) }),
        ]),
      );
      expect(held?.childLocks).toHaveLength(2);
      const enginePid = held!.childLocks!.find((r) => r.key.endsWith('.json'))!.process.pid;
      expect(enginePid).not.toBe(run.child.pid);

      const contender = await openStack({
        instance: 'engine-b',
        project: PROJECT,
        stackName: 'b',
        program: configMapProgram(program),
        passphrase,
        pulumiCommand,
        reporter: silentReporter,
        providerPackages: ['@pulumi/kubernetes'],
        // ConfigMaps only: no cloud resource whose import id a pending create could have.
        importIds: {},
      });
      // Without the instance lock (another lookout run holds it), no Pulumi lock is ever removed.
      await expect(contender.up()).rejects.toThrow(new RegExp(`locked by another run[\\s\\S]*pid ${enginePid}`));
    } finally {
      await killProcessTree(run.child);
    }

    // The "load balancer" arrives, as it would have in a real cluster.
    await cluster.kube.mergePatch('/api/v1/namespaces/engine-b/services/slow/status', { status: { loadBalancer: { ingress: [{ ip: '127.0.0.1' }] } } });

    // The next run takes over the dead run's instance lock, and with it the record of its engine.
    const reporter = collectingReporter();
    const lock = await acquireInstanceLock(instancePaths('engine-b').lock, { command: 'create', instance: 'engine-b', reporter });
    const resumed = await openStack({
      instance: 'engine-b',
      project: PROJECT,
      stackName: 'b',
      program: configMapProgram(program),
      passphrase,
      pulumiCommand,
      reporter,
      step: 'up',
      providerPackages: ['@pulumi/kubernetes'],
      // ConfigMaps only: no cloud resource whose import id a pending create could have.
      importIds: {},
    });
    const plan = await resumed.prepare();
    const logs = reporter.events.filter((e) => e.type === 'log').map((e) => (e as { message: string }).message).join('\n');
    expect(logs).toMatch(/Took over the stale lock of instance "engine-b"/);
    expect(logs).toMatch(/Removed a stale Pulumi lock .*its engine was started by an earlier lookout run on this machine, and process \d+ no longer exists/);
    expect(plan.needed).toBe(true);
    expect(plan.clearPendingCreates).toBe(true);

    const outputs = await resumed.up();
    expect(outputs.secret).toBe(secretValue);
    const maps = await cluster.kube.list('/api/v1/namespaces/engine-b/configmaps');
    expect(maps.items.filter((m) => m.metadata.name.startsWith('cm-'))).toHaveLength(12);
    // Exactly one of each resource in the state, and no pending operation left.
    const exported = (await resumed.prepare(), resumed.resources());
    const urns = exported.map((r) => r.urn);
    expect(new Set(urns).size).toBe(urns.length);
    expect(urns.filter((u) => u.includes('ConfigMap::'))).toHaveLength(12);
    expect(urns.filter((u) => u.includes('Service::slow'))).toHaveLength(1);
    await lock.release();
  }, 300_000);

  it('drops the @pulumi/random resources of an older tenant stack without the random plugin, then updates it', async () => {
    const secretValue = `s3cr3t-${randomBytes(12).toString('hex')}`;
    const program = configMapProgram({ kubeconfig: kubeconfig(), namespace: 'engine-c', count: 2, secretValue });
    const open = () =>
      openStack({ instance: 'engine-c', project: PROJECT, stackName: 'c', program, passphrase, pulumiCommand, reporter: silentReporter, providerPackages: ['@pulumi/kubernetes'], importIds: {} });
    await (await open()).up();

    // The state an older Lookout left: a RandomPassword and its default provider. The random
    // plugin is not installed here (nor can it be built), as on a machine that never had it.
    const ws = await LocalWorkspace.selectStack(
      { projectName: PROJECT, stackName: fullyQualifiedStackName('organization', PROJECT, 'c'), program },
      { workDir: join(instancePaths('engine-c').workspaces, 'c'), envVars: workspaceEnvVars(resolveBackend('engine-c'), passphrase), pulumiCommand },
    );
    const deployment = await ws.exportStack();
    const resources = deployment.deployment.resources as Array<Record<string, unknown>>;
    const stackUrn = resources.find((r) => r.type === 'pulumi:pulumi:Stack')!.urn as string;
    const prefix = stackUrn.slice(0, stackUrn.indexOf('::', 'urn:pulumi:'.length + 1));
    const providerUrn = `${prefix}::${PROJECT}::pulumi:providers:random::default_4_21_2`;
    resources.push(
      { urn: providerUrn, custom: true, id: 'provider-id', type: 'pulumi:providers:random', inputs: { version: '4.21.2' }, outputs: { version: '4.21.2' } },
      {
        urn: `${prefix}::${PROJECT}::random:index/randomPassword:RandomPassword::old-token`,
        custom: true,
        id: 'none',
        type: 'random:index/randomPassword:RandomPassword',
        parent: stackUrn,
        provider: `${providerUrn}::provider-id`,
        inputs: { length: 48 },
        outputs: { length: 48, result: 'x'.repeat(48) },
      },
    );
    await ws.importStack(deployment);
    await expect((await open()).up()).rejects.toThrow(/random/);

    const handle = await open();
    expect(await forgetRandomResources(handle)).toBe(2);
    const outputs = await handle.up();
    expect(outputs.secret).toBe(secretValue);
    await handle.prepare();
    expect(handle.resources().filter((r) => r.type.includes('random'))).toEqual([]);
    // Idempotent: nothing left to drop.
    expect(await forgetRandomResources(await open())).toBe(0);
  }, 240_000);
});
