/**
 * `lookout tls renew <name> [--force]`: renews the instance certificate once two thirds of
 * its lifetime have passed (or now, with --force), rolls the gateway onto it, and verifies
 * that every tenant host serves it.
 */
import { validateInstanceName } from '../config/load.js';
import { UsageError } from '../errors.js';
import { requireInstance } from '../state/instance-state.js';
import { printResult } from './output.js';

export interface TlsRenewOptions {
  name: string;
  force?: boolean;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
}

export async function tlsRenewCommand(opts: TlsRenewOptions): Promise<void> {
  validateInstanceName(opts.name);
  const { state, record } = await requireInstance(opts.name, opts.state);
  if (record.status === 'destroyed') throw new UsageError(`instance "${opts.name}" was destroyed`);
  const [{ openSession }, { runSteps }, { contextFromRecord }, { recordedStep }, tls, cluster, { checkBeforeCloud }] = await Promise.all([
    import('./session.js'),
    import('../engine/index.js'),
    import('../steps/context.js'),
    import('../steps/recorded.js'),
    import('../steps/tls-steps.js'),
    import('../steps/cluster-steps.js'),
    import('../config/checks.js'),
  ]);
  const warnings = await checkBeforeCloud(record.config, { file: 'the recorded config', purpose: 'apply' });
  const journal = await state.readJournal();
  const session = await openSession({
    instance: opts.name,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout tls renew ${opts.name}${opts.force ? ' --force' : ''}\` again to resume.`,
  });
  try {
    for (const w of warnings) session.log('warn', w);
    const c = await contextFromRecord(record, session, { yes: Boolean(opts.yes) });
    const result = await runSteps({
      instance: opts.name,
      command: 'tls-renew',
      steps: [
        recordedStep(journal, 'infra', 'infrastructure outputs'),
        tls.tlsStep(c, { force: Boolean(opts.force) }),
        cluster.platformStep(c),
        cluster.verifyStep(c),
      ],
      store: state,
      reporter: session.reporter,
      signal: session.signal,
      resume: 'unfinished',
    });
    session.close();
    const out = result.outputs.tls as import('../steps/tls-steps.js').TlsOutputs;
    printResult(opts, { type: 'result', instance: opts.name, certificate: out }, () =>
      out.reused
        ? `\nThe certificate is still fresh (valid until ${out.notAfter.slice(0, 10)}, renewal due ${out.renewalDue.slice(0, 10)}); nothing was renewed.\n`
        : `\nRenewed: valid until ${out.notAfter.slice(0, 10)}; the gateway serves it on every tenant host.\n`,
    );
  } finally {
    session.close();
  }
}
