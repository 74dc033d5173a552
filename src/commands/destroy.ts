/**
 * `lookout destroy <name> [--delete-data]`: removes what the instance created, after asking.
 * Data buckets are kept unless `--delete-data` is given. Resumable.
 */
import { validateInstanceName } from '../config/load.js';
import type { Step } from '../engine/index.js';
import { FailureError, UsageError } from '../errors.js';
import { BUCKET_PURPOSES, accountRegionSuffix, awsNames } from '../naming.js';
import { instancePaths } from '../paths.js';
import { withReporterSuspended } from '../progress/events.js';
import { resolveBackend } from '../pulumi/backend.js';
import { requireInstanceRecord, updateInstanceRecord, type InstanceRecord } from '../state/instance-record.js';
import { printResult } from './output.js';

export interface DestroyOptions {
  name: string;
  deleteData?: boolean;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
}

/** The instance's bucket names, derived as the infra stack derives them. */
export function instanceBuckets(record: Pick<InstanceRecord, 'name' | 'accountId' | 'region'>): string[] {
  const names = awsNames(record.name);
  const suffix = accountRegionSuffix(record.accountId, record.region);
  return BUCKET_PURPOSES.map((p) => names.bucketName(p, suffix));
}

function credentialsStep(record: InstanceRecord): Step<{ accountId: string }> {
  return {
    name: 'credentials',
    title: 'Check credentials',
    alwaysRun: true,
    async run(ctx) {
      const [{ STSClient, GetCallerIdentityCommand }, { explainAwsError }] = await Promise.all([
        import('@aws-sdk/client-sts'),
        import('../providers/aws/errors.js'),
      ]);
      let account: string | undefined;
      try {
        const identity = await new STSClient({ region: record.region }).send(new GetCallerIdentityCommand({}), { abortSignal: ctx.signal });
        account = identity.Account;
      } catch (err) {
        throw explainAwsError(err, 'sts:GetCallerIdentity', ctx.signal);
      }
      if (account !== record.accountId) {
        throw new FailureError(`instance "${record.name}" lives in account ${record.accountId}, but the credentials are for account ${account}`, {
          hint: 'Use credentials for the instance’s account.',
        });
      }
      return { accountId: account };
    },
  };
}

function deleteDataStep(record: InstanceRecord): Step<{ deleted: Array<{ bucket: string; objects: number }> }> {
  return {
    name: 'delete-data',
    title: 'Empty and delete the data buckets',
    async run(ctx) {
      const [{ S3Client }, { emptyAndDeleteBucket }] = await Promise.all([import('@aws-sdk/client-s3'), import('../providers/aws/delete-bucket.js')]);
      const s3 = new S3Client({ region: record.region, maxAttempts: 5, retryMode: 'adaptive' });
      const deleted = [];
      for (const bucket of instanceBuckets(record)) {
        const result = await emptyAndDeleteBucket(s3, bucket, {
          signal: ctx.signal,
          onProgress: (n) => ctx.progress({ message: `${bucket}: ${n} objects deleted` }),
        });
        deleted.push({ bucket, objects: result.deletedObjects });
      }
      return { deleted };
    },
  };
}

export async function destroyCommand(opts: DestroyOptions): Promise<void> {
  validateInstanceName(opts.name);
  const record = await requireInstanceRecord(opts.name);
  if (opts.state !== undefined && opts.state !== record.stateUrl) {
    throw new UsageError(`--state: instance "${opts.name}" keeps its state in ${record.stateUrl ?? 'the default local backend'}`);
  }
  resolveBackend(opts.name, record.stateUrl);
  const { requireConfirmationPossible, confirmByTyping, openSession } = await import('./session.js');
  requireConfirmationPossible(opts, 'destroy');

  const [{ runSteps }, steps, teardown] = await Promise.all([
    import('../engine/index.js'),
    import('../providers/aws/infra-steps.js'),
    import('../steps/destroy-steps.js'),
  ]);
  const session = await openSession({
    instance: opts.name,
    json: opts.json,
    isNewInstance: false,
    resumeHint: `Run \`lookout destroy ${opts.name}${opts.deleteData ? ' --delete-data' : ''}\` again to resume.`,
  });
  try {
    if (!opts.yes) {
      const what = opts.deleteData
        ? `This deletes instance ${opts.name} AND ALL ITS DATA (buckets ${instanceBuckets(record).join(', ')}). This cannot be undone.`
        : `This deletes instance ${opts.name} (tenants, platform, cluster, network, DNS zone). Its data buckets are kept.`;
      const ok = await withReporterSuspended(session.reporter, () => confirmByTyping(what, opts.name));
      if (!ok) throw new FailureError('destroy cancelled: nothing was changed');
    }
    await updateInstanceRecord(opts.name, { status: 'destroying' });
    const { contextFromRecord } = await import('../steps/context.js');
    const c = await contextFromRecord(record, session, { yes: Boolean(opts.yes) });
    const infraDestroy: Step = {
      name: 'infra-destroy',
      title: 'Destroy the cluster, network and DNS zone',
      async run(ctx) {
        const stack = await steps.openInfraStack(c, 'infra-destroy');
        await stack.destroy({ signal: ctx.signal });
        return { destroyed: true };
      },
    };
    const paths = instancePaths(opts.name);
    await runSteps({
      instance: opts.name,
      command: 'destroy',
      // Tenants, then the load balancer (and AWS really deleting it: its network interfaces
      // would block deleting the VPC), then the platform, then the infrastructure.
      steps: [
        credentialsStep(record),
        ...['system', ...record.config.tenants.map((t) => t.name)].map((t) => teardown.tenantDestroyStep(c, t)),
        teardown.gatewayLoadBalancerDestroyStep(c),
        teardown.loadBalancerGoneStep(c),
        teardown.platformDestroyStep(c),
        infraDestroy,
        ...(opts.deleteData ? [deleteDataStep(record)] : []),
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
    const kept = opts.deleteData ? [] : instanceBuckets(record);
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
