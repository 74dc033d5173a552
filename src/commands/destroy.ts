/**
 * `lookout destroy <name> [--delete-data]`: removes what the instance created, after asking.
 * Data buckets are kept unless `--delete-data` is given. Resumable.
 */
import { validateInstanceName } from '../config/load.js';
import { FailureError } from '../errors.js';
import { instancePaths } from '../paths.js';
import { withReporterSuspended } from '../progress/events.js';
import { requireInstance } from '../state/instance-state.js';
import { printResult } from './output.js';
import { parseParallel } from './parallel-option.js';

export interface DestroyOptions {
  name: string;
  deleteData?: boolean;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
  /** `--parallel`: tenant stacks removed at the same time. */
  parallel?: string;
}

export async function destroyCommand(opts: DestroyOptions): Promise<void> {
  validateInstanceName(opts.name);
  const parallel = parseParallel(opts.parallel);
  const tenantParallelism = parallel.limit;
  const { state, record } = await requireInstance(opts.name, opts.state);
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
    if (parallel.lowered) session.log('info', parallel.lowered);
    const c = await contextFromRecord(record, session, { yes: Boolean(opts.yes), tenantParallelism });
    const cloudTeardown = c.provider.teardown;
    if (!opts.yes) {
      const buckets = cloudTeardown.dataBuckets(record).join(', ');
      const what = !cloudTeardown.ownsDataBuckets
        ? `This deletes instance ${opts.name} (its tenants and platform in the cluster). The buckets ${buckets} are yours and are kept${opts.deleteData ? ', even with --delete-data' : ''}.`
        : opts.deleteData
          ? `This deletes instance ${opts.name} AND ALL ITS DATA (buckets ${buckets}). This cannot be undone.`
          : `This deletes instance ${opts.name} (tenants, platform, cluster, network, DNS zone). Its data buckets are kept.`;
      const ok = await withReporterSuspended(session.reporter, () => confirmByTyping(what, opts.name));
      if (!ok) throw new FailureError('destroy cancelled: nothing was changed');
    }
    await state.updateRecord({ status: 'destroying' });
    const result = await runSteps({
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
      store: state,
      reporter: session.reporter,
      signal: session.signal,
      resume: 'unfinished',
    });
    const { rm } = await import('node:fs/promises');
    await rm(instancePaths(opts.name).kubeconfig, { force: true });
    await state.updateRecord({ status: 'destroyed' });
    session.close();
    const kept = opts.deleteData && cloudTeardown.ownsDataBuckets ? [] : cloudTeardown.dataBuckets(record);
    // A provider's last step may scan for what is left (anything still labelled with the instance).
    const leftovers = (result.outputs.leftovers as { leftovers?: Array<{ kind: string; name: string }> } | undefined)?.leftovers ?? [];
    printResult(opts, { type: 'result', instance: opts.name, status: 'destroyed', keptBuckets: kept, leftovers }, () =>
      [
        '',
        `Instance ${opts.name} is destroyed.`,
        ...(kept.length
          ? [
              `  kept data buckets: ${kept.join(', ')}`,
              cloudTeardown.ownsDataBuckets
                ? `  delete them with: lookout destroy ${opts.name} --delete-data`
                : '  they are yours (kubernetes.objectStorage): empty them with your store\'s tools if you no longer need the data',
            ]
          : ['  its data buckets were emptied and deleted.']),
        ...(leftovers.length ? ['  still there (delete by hand, or run destroy again):', ...leftovers.map((l) => `    ${l.kind} ${l.name}`)] : []),
        '',
      ].join('\n'),
    );
  } finally {
    session.close();
  }
}
