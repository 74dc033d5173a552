/**
 * What the real-engine suites that drive Lookout's workspace layer in-process share: the
 * engine registered in a throwaway PULUMI_HOME, a kwok cluster, the Pulumi CLI that Lookout
 * runs, and LOOKOUT_HOME in a temporary directory, with this process's environment set for
 * them until `stop()` puts it back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PulumiCommand } from '@pulumi/pulumi/automation/index.js';
import { ensurePulumiCommand } from '../../src/pulumi/cli-install.js';
import { silentReporter } from '../../src/progress/events.js';
import { startKwokCluster, type KwokCluster, type KwokClusterOptions } from './kwok-cluster.js';
import { preparePulumiEngine, type PulumiEngine } from './pulumi-engine.js';

export interface EngineCluster {
  cluster: KwokCluster;
  engine: PulumiEngine;
  pulumiCommand: PulumiCommand;
  /** LOOKOUT_HOME while the suite runs. */
  home: string;
  stop(): Promise<void>;
}

export async function startEngineCluster(o: KwokClusterOptions & { homePrefix: string }): Promise<EngineCluster> {
  const saved = { ...process.env };
  const engine = await preparePulumiEngine();
  const home = mkdtempSync(join(tmpdir(), o.homePrefix));
  let cluster: KwokCluster | undefined;
  const stop = async () => {
    await cluster?.stop();
    engine.dispose();
    rmSync(home, { recursive: true, force: true });
    process.env = saved;
  };
  try {
    Object.assign(process.env, engine.env, { LOOKOUT_HOME: home });
    const { homePrefix: _, ...clusterOptions } = o;
    cluster = await startKwokCluster(clusterOptions);
    const pulumiCommand = await ensurePulumiCommand({ reporter: silentReporter });
    return { cluster, engine, pulumiCommand, home, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
