/**
 * The parts of `lookout status` that reach the instance: `--verify` runs the verify probe
 * now, `--show-tokens` reads the tenants' tokens from their (encrypted) stack outputs.
 */
import type { Journal } from '../engine/index.js';
import { RESERVED_TENANTS } from '../naming.js';
import type { InstanceRecord } from '../state/instance-record.js';
import type { InstanceState } from '../state/instance-state.js';

export async function liveStatus(
  state: InstanceState,
  record: InstanceRecord,
  journal: Journal | undefined,
  opts: { verify: boolean; showTokens: boolean; json: boolean },
): Promise<void> {
  const [{ openSession }, { runSteps }, { contextFromRecord }, { recordedStep }, cluster] = await Promise.all([
    import('./session.js'),
    import('../engine/index.js'),
    import('../steps/context.js'),
    import('../steps/recorded.js'),
    import('../steps/cluster-steps.js'),
  ]);
  const session = await openSession({
    instance: record.name,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout status ${record.name}${opts.verify ? ' --verify' : ''}\` again.`,
  });
  try {
    const c = await contextFromRecord(record, session, { yes: true });
    if (opts.showTokens) {
      const tenants = [RESERVED_TENANTS[0], ...record.config.tenants.map((t) => t.name)];
      const tokens: Record<string, Record<string, string>> = {};
      for (const t of tenants) tokens[t] = await cluster.tenantTokens(c, t);
      session.close();
      if (opts.json) process.stdout.write(JSON.stringify({ time: new Date().toISOString(), type: 'tokens', tokens }) + '\n');
      else {
        process.stdout.write('\nTokens (secrets: handle with care)\n');
        for (const [t, byName] of Object.entries(tokens)) {
          for (const [name, token] of Object.entries(byName)) process.stdout.write(`  ${t.padEnd(16)} ${name.padEnd(16)} ${token}\n`);
        }
      }
    }
    if (opts.verify) {
      await runSteps({
        instance: record.name,
        command: 'verify',
        steps: [
          recordedStep(journal, 'infra', 'infrastructure outputs'),
          recordedStep(journal, 'tls', 'certificate'),
          recordedStep(journal, 'platform', 'platform outputs'),
          cluster.verifyStep(c),
        ],
        store: state,
        reporter: session.reporter,
        signal: session.signal,
        resume: 'unfinished',
      });
    }
  } finally {
    session.close();
  }
}
