/**
 * `lookout destroy <name> [--delete-data]`: removes what the instance created, after asking.
 * Data buckets are kept unless `--delete-data` is given. Resumable.
 */
import { validateInstanceName } from '../config/load.js';
import { FailureError, UsageError } from '../errors.js';
import { instancePaths } from '../paths.js';
import { withReporterSuspended } from '../progress/events.js';
import { resolveBackend } from '../pulumi/backend.js';
import { requireInstanceRecord, updateInstanceRecord } from '../state/instance-record.js';
import { printResult } from './output.js';

export interface DestroyOptions {
  name: string;
  deleteData?: boolean;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
}

export async function destroyCommand(opts: DestroyOptions): Promise<void> {
  validateInstanceName(opts.name);
  const record = await requireInstanceRecord(opts.name);
  if (opts.state !== undefined && opts.state !== record.stateUrl) {
    throw new UsageError(`--state: instance "${opts.name}" keeps its state in ${record.stateUrl ?? 'the default local backend'}`);
  }
  resolveBackend(opts.name, record.stateUrl);
  const { confirmByTyping, openSession } = await import('./session.js');

  const [{ runSteps }, teardown, { contextFromRecord }] = await Promise.all([
    import('../engine/index.js'),
    import('../steps/destroy-steps.js'),
    import('../steps/context.js'),
  ]);
  const session = await openSession({
    instance: opts.name,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout destroy ${opts.name}${opts.deleteData ? ' --delete-data' : ''}\` again to resume.`,
  });
  try {
    const c = await contextFromRecord(record, session, { yes: Boolean(opts.yes) });
    const cloudTeardown = c.provider.teardown;
    if (!opts.yes) {
      const what = opts.deleteData
        ? `This deletes instance ${opts.name} AND ALL ITS DATA (buckets ${cloudTeardown.dataBuckets(record).join(', ')}). This cannot be undone.`
        : `This deletes instance ${opts.name} (tenants, platform, cluster, network, DNS zone). Its data buckets are kept.`;
      const ok = await withReporterSuspended(session.reporter, () => confirmByTyping(what, opts.name));
      if (!ok) throw new FailureError('destroy cancelled: nothing was changed');
    }
    await updateInstanceRecord(opts.name, { status: 'destroying' });
    const paths = instancePaths(opts.name);
    await runSteps({
      instance: opts.name,
      command: 'destroy',
      // Tenants, then the load balancer (and the cloud really deleting it: what it holds can
      // block deleting the network), then the platform, then the infrastructure.
      steps: [
        ...cloudTeardown.before(record),
        ...['system', ...record.config.tenants.map((t) => t.name)].map((t) => teardown.tenantDestroyStep(c, t)),
        teardown.gatewayLoadBalancerDestroyStep(c),
        ...cloudTeardown.afterGateway(c),
        teardown.platformDestroyStep(c),
        ...cloudTeardown.after(c, { deleteData: Boolean(opts.deleteData), record }),
      ],
      journalPath: paths.journal,
      lockPath: paths.lock,
      reporter: session.reporter,
      signal: session.signal,
      resume: 'unfinished',
    });
    const { rm } = await import('node:fs/promises');
    await rm(paths.kubeconfig, { force: true });
    await updateInstanceRecord(opts.name, { status: 'destroyed' });
    session.close();
    const kept = opts.deleteData ? [] : cloudTeardown.dataBuckets(record);
    printResult(opts, { type: 'result', instance: opts.name, status: 'destroyed', keptBuckets: kept }, () =>
      [
        '',
        `Instance ${opts.name} is destroyed.`,
        ...(kept.length
          ? [`  kept data buckets: ${kept.join(', ')}`, `  delete them with: lookout destroy ${opts.name} --delete-data`]
          : ['  its data buckets were emptied and deleted.']),
        '',
      ].join('\n'),
    );
  } finally {
    session.close();
  }
}
