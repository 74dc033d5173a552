/** `lookout create <provider> <name> -c file`: preflight, infrastructure, kubeconfig. Resumable. */
import { loadConfig, type ResolvedConfig } from '../config/load.js';
import { configLocation } from '../config/provider-blocks.js';
import { UsageError } from '../errors.js';
import { instancePaths } from '../paths.js';
import type { CloudProvider, RecordedInfra } from '../providers/types.js';
import { resolveBackend } from '../pulumi/backend.js';
import type { InstanceRecord } from '../state/instance-record.js';
import { locateInstance } from '../state/instance-state.js';
import { loadBundle } from '../bundle/manifest.js';
import type { InstanceContext } from '../steps/context.js';
import type { Step } from '../engine/index.js';
import { checkBeforeCloud } from '../config/checks.js';
import { requireProvider } from './provider.js';
import { allTenantEndpoints } from '../plan/endpoints.js';
import { printResult } from './output.js';
import { parseParallel } from './parallel-option.js';

export interface CreateOptions {
  provider: string;
  name: string;
  config: string;
  yes?: boolean;
  json?: boolean;
  state?: string;
  debug?: boolean;
  /** `--parallel`: tenant stacks installed at the same time. */
  parallel?: string;
}

/** A re-run of `create` must describe the same instance the record knows, in the same state. */
export function checkCreateAgainstRecord(record: InstanceRecord | undefined, config: ResolvedConfig, stateUrl: string | undefined): void {
  if (!record || record.status === 'destroyed') return;
  if (record.provider !== config.provider) {
    throw new UsageError(`instance "${record.name}" already exists on ${record.provider}, not ${config.provider}`);
  }
  const location = configLocation(config);
  if (location && record.region !== location.value) {
    throw new UsageError(
      `instance "${record.name}" lives in ${record.region}; ${location.field} in the config says ${location.value}`,
      { hint: 'The region of an instance cannot change. Create a new instance with another name for another region.' },
    );
  }
  if (resolveBackend(record.name, record.stateUrl).url !== resolveBackend(record.name, stateUrl).url) {
    throw new UsageError(
      `instance "${record.name}" keeps its state in ${record.stateUrl ?? 'the default local backend'}, not ${stateUrl ?? 'the default local backend'}`,
      { hint: record.stateUrl ? `Pass --state ${record.stateUrl}.` : 'Run without --state.' },
    );
  }
}

/**
 * The steps of `create` on any provider, in the order of the critical path: the provider's
 * (preflight, infrastructure, kube access), the certificate (DNS delegation when the provider
 * makes the zone, then TLS), then the cluster's contents (platform, tenants, alerting, verify).
 */
export async function createSteps(c: InstanceContext, previousTenants: readonly { name: string }[] | undefined): Promise<Step[]> {
  const [tls, cluster] = await Promise.all([import('../steps/tls-steps.js'), import('../steps/cluster-steps.js')]);
  return [...(await c.provider.infraSteps(c)), ...tls.certificateSteps(c), ...cluster.clusterSteps(c, previousTenants)];
}

export async function createCommand(opts: CreateOptions): Promise<void> {
  const providerId = requireProvider(opts.provider);
  const parallel = parseParallel(opts.parallel);
  const tenantParallelism = parallel.limit;
  const config = await loadConfig(opts.config, { provider: providerId, name: opts.name });
  // Refuses a --state that is not where this machine knows the instance to be.
  const state = await locateInstance(opts.name, opts.state);
  const warnings = await checkBeforeCloud(config, { file: opts.config, purpose: 'apply' });
  const bundle = loadBundle(config.bundle);
  const previous = await state.readRecord();
  checkCreateAgainstRecord(previous, config, opts.state);
  const record = previous?.status === 'destroyed' ? undefined : previous;

  const [{ openSession }, { runSteps }, { loadProvider }, { expectedResourceCounts }] = await Promise.all([
    import('./session.js'),
    import('../engine/index.js'),
    import('../providers/registry.js'),
    import('../plan/count-worker.js'),
  ]);
  const provider = await loadProvider(providerId);
  // The offline run of the same programs starts now, in a worker: it proves they evaluate
  // for this config before anything changes, and gives progress its totals.
  const expectedCounts = expectedResourceCounts(config);
  expectedCounts.catch(() => {});
  const session = await openSession({
    instance: opts.name,
    json: opts.json,
    isNewInstance: record === undefined,
    resumeHint: `Run \`lookout create ${opts.provider} ${opts.name} -c ${opts.config}${opts.state ? ` --state ${opts.state}` : ''}\` again to resume.`,
  });
  try {
    for (const w of warnings) session.log('warn', w);
    if (parallel.lowered) session.log('info', parallel.lowered);
    await expectedCounts;
    const c: InstanceContext = {
      name: opts.name,
      config,
      configFile: opts.config,
      ...(opts.state ? { stateUrl: opts.state } : {}),
      session,
      provider,
      ...(record ? { record } : {}),
      ...(previous?.status === 'destroyed' ? { destroyedBefore: true } : {}),
      expectedCounts,
      bundle,
      yes: Boolean(opts.yes),
      tenantParallelism,
    };
    const result = await runSteps({
      instance: opts.name,
      command: 'create',
      steps: await createSteps(c, record?.config.tenants),
      store: state,
      reporter: session.reporter,
      signal: session.signal,
      // After a destroy, the old create's done steps describe what is gone: start afresh.
      resume: previous?.status === 'destroyed' ? 'new' : 'always',
    });
    await state.updateRecord({ status: 'ready', config, bundle: config.bundle });
    session.close();
    printResult(
      opts,
      { type: 'result', instance: opts.name, status: 'ready', outputs: result.outputs },
      () => renderCreateSummary(opts.name, config, provider, result.outputs),
    );
  } finally {
    session.close();
  }
}

function renderCreateSummary(name: string, config: ResolvedConfig, provider: CloudProvider, outputs: Record<string, unknown>): string {
  const infra = outputs.infra as RecordedInfra;
  const kubeconfig = instancePaths(name).kubeconfig;
  const tls = outputs.tls as import('../steps/tls-steps.js').TlsOutputs;
  const platform = outputs.platform as import('../steps/cluster-steps.js').PlatformStepOutputs;
  const lines = [
    '',
    `Instance ${name} is ready in ${provider.describeLocation(infra)}, bundle ${platform.bundle}; every tenant verified.`,
    '',
    'Tenants (one host each; APIs by path: /api/v1/push, /prometheus, /loki, Grafana at /):',
    ...allTenantEndpoints(config.tenants, config.dns.domain).map((e) => `  ${e.tenant.padEnd(16)} https://${e.host}/`),
    `  tokens: lookout status ${name} --show-tokens`,
    '',
    `  certificate ${tls.names.join(', ')}, valid until ${tls.notAfter.slice(0, 10)} (${tls.issuer})`,
    `  gateway     ${platform.loadBalancerHostname}`,
    ...provider.describeInfra(infra, { domain: config.dns.domain, kubeconfigPath: kubeconfig, view: 'created' }),
  ];
  return lines.join('\n') + '\n';
}
