/**
 * The steps inside the cluster: the platform stack, one stack per tenant, the system
 * tenant's alerting, and the verify probe that proves every tenant works. Each records only
 * non-secret outputs; tokens live in the instance's encrypted secret store and are read into
 * memory only.
 */
import type { Step, StepContext } from '../engine/index.js';
import { FailureError } from '../errors.js';
import { RESERVED_TENANTS, stackNames, tenantHost } from '../naming.js';
import type { TenantConfig } from '../config/schema.js';
import type { RecordedInfra } from '../providers/types.js';
import { openClusterStack, secretStore, type InstanceContext } from './context.js';
import type { TlsOutputs } from './tls-steps.js';
import type { StackHandle } from '../pulumi/workspace.js';
import type { StateResource } from '../pulumi/deployment.js';
import type { AdoptableCredentials, TenantCredentials } from '../tenants/credentials.js';
import { DEFAULT_TENANT_PARALLELISM } from './tenant-parallelism.js';

const SYSTEM = RESERVED_TENANTS[0];


export interface PlatformStepOutputs {
  loadBalancerHostname: string;
  gatewayInternalUrl: string;
  tenantsSecretName: string;
  bundle: string;
  components: Record<string, string>;
}

export async function platformProgramFor(c: InstanceContext, infra: RecordedInfra, deployed?: () => readonly StateResource[]) {
  const { platformProgram } = await import('../../stacks/platform.js');
  const { readStoredCertificate } = await import('../tls/ensure.js');
  const stored = await readStoredCertificate(await secretStore(c));
  if (!stored) throw new FailureError('no certificate is stored for this instance yet', { hint: 'Run `lookout create` again: its tls step issues one.' });
  const layers = await c.provider.clusterLayers(c, infra);
  // Ids are allocated here, before any tenant stack runs: the stores' limits are keyed by them.
  const { ensureTenantIds } = await import('../tenants/tenant-ids.js');
  const tenantIds = await ensureTenantIds(await secretStore(c), c.config.tenants.map((t) => t.name));
  return platformProgram({
    instance: c.name,
    tenantIds,
    config: c.config,
    bundle: c.bundle,
    kubeconfig: layers.kubeconfig,
    cloud: layers.platform,
    tls: { certificatePem: stored.certificate.certificatePem, privateKeyPem: stored.certificate.privateKeyPem },
    ...(deployed ? { deployed } : {}),
  });
}

/**
 * The platform stack, with a program that sees the stack's state as exported before each
 * operation: a StatefulSet whose immutable fields change is then previewed as the replacement
 * it is (see @lookout/kube's immutable-fields), by `upgrade`'s preview and by `up` alike.
 */
export async function openPlatformStack(c: InstanceContext, infra: RecordedInfra, step: string): Promise<StackHandle> {
  let stack: StackHandle | undefined;
  const program = await platformProgramFor(c, infra, () => stack?.resources() ?? []);
  stack = await openClusterStack(c, 'platform', program, { step });
  return stack;
}

export function platformStep(c: InstanceContext): Step<PlatformStepOutputs> {
  return {
    name: 'platform',
    title: 'Install the platform: metrics and log stores, gateway, self-monitoring',
    inputs: (ctx) => ({
      bundle: c.bundle.version,
      domain: c.config.dns.domain,
      system: c.config.system,
      limits: c.config.tenants.map((t) => ({ name: t.name, retention: t.retention, limits: t.limits })),
      infra: c.provider.clusterFingerprint(ctx.outputsOf<RecordedInfra>('infra')).platform,
      certificate: ctx.outputsOf<TlsOutputs>('tls').fingerprintSha256,
    }),
    async run(ctx) {
      const infra = ctx.outputsOf<RecordedInfra>('infra');
      const stack = await openPlatformStack(c, infra, 'platform');
      const totalHint = (await c.expectedCounts)[stackNames(c.name).platform];
      const out = (await stack.up({ signal: ctx.signal, ...(totalHint ? { totalHint } : {}) })) as unknown as PlatformStepOutputs;
      return {
        loadBalancerHostname: out.loadBalancerHostname,
        gatewayInternalUrl: out.gatewayInternalUrl,
        tenantsSecretName: out.tenantsSecretName,
        bundle: out.bundle,
        components: out.components,
      };
    },
  };
}

type TenantRef = TenantConfig | 'system';
const tenantName = (t: TenantRef) => (t === 'system' ? SYSTEM : t.name);

export async function tenantProgramFor(
  c: InstanceContext,
  tenant: TenantRef,
  infra: RecordedInfra,
  platform: PlatformStepOutputs,
  credentials: TenantCredentials,
) {
  const { tenantProgram } = await import('../../stacks/tenant.js');
  const { ensureTenantIds } = await import('../tenants/tenant-ids.js');
  const name = tenantName(tenant);
  const [tenantId] = Object.values(await ensureTenantIds(await secretStore(c), name === SYSTEM ? [] : [name]));
  const oidc = tenant === 'system' ? undefined : tenant.grafana.oidc;
  const layers = await c.provider.clusterLayers(c, infra);
  return tenantProgram({
    instance: c.name,
    tenant,
    domain: c.config.dns.domain,
    bundle: c.bundle,
    kubeconfig: layers.kubeconfig,
    storageClassName: layers.platform.storageClass.name,
    ...(layers.platform.ownerLabels ? { ownerLabels: layers.platform.ownerLabels } : {}),
    gateway: { internalUrl: platform.gatewayInternalUrl, tenantsSecretName: platform.tenantsSecretName },
    ...(oidc ? { oidcClientSecret: process.env[oidc.clientSecretEnv]!.trim() } : {}),
    credentials,
    ...(tenantId ? { tenantId } : {}),
  });
}

/**
 * The credentials an older tenant stack holds in its outputs (tokens and Grafana's admin
 * password, from the days its stack generated them with @pulumi/random), to keep them.
 */
export async function credentialsInOutputs(stack: StackHandle): Promise<AdoptableCredentials | undefined> {
  const out = await stack.outputs();
  const tokens = out.tokens as Record<string, string> | undefined;
  const grafanaAdminPassword = out.grafanaAdminPassword as string | undefined;
  if (!tokens && !grafanaAdminPassword) return undefined;
  return { ...(tokens ? { tokens } : {}), ...(grafanaAdminPassword ? { grafanaAdminPassword } : {}) };
}

export function tenantStep(c: InstanceContext, tenant: TenantRef): Step<{ namespace: string; grafanaUrl: string }> {
  const name = tenantName(tenant);
  return {
    name: `tenant:${name}`,
    title: name === SYSTEM ? 'Install the system tenant (the platform’s own telemetry)' : `Install tenant ${name}`,
    parallel: { group: 'tenants', limit: c.tenantParallelism ?? DEFAULT_TENANT_PARALLELISM },
    inputs: (ctx) => ({
      bundle: c.bundle.version,
      domain: c.config.dns.domain,
      tenant: tenant === 'system' ? SYSTEM : { name, tokens: tenant.tokens, oidc: tenant.grafana.oidc ?? null, ...(tenant.allowedCidrs ? { allowedCidrs: tenant.allowedCidrs } : {}) },
      gateway: ctx.outputsOf<PlatformStepOutputs>('platform').gatewayInternalUrl,
      endpoint: c.provider.clusterFingerprint(ctx.outputsOf<RecordedInfra>('infra')).cluster,
    }),
    async run(ctx) {
      const [{ ensureTenantCredentials }, { forgetRandomResources }, { tenantTokenNames }] = await Promise.all([
        import('../tenants/credentials.js'),
        import('../tenants/random-migration.js'),
        import('../../stacks/tenant.js'),
      ]);
      const infra = ctx.outputsOf<RecordedInfra>('infra');
      const platform = ctx.outputsOf<PlatformStepOutputs>('platform');
      let credentials: TenantCredentials | undefined;
      // The program runs only during `up`, after the credentials are settled below.
      const program = async () => (await tenantProgramFor(c, tenant, infra, platform, credentials!))();
      const stack = await openClusterStack(c, { tenant: name }, program, { step: `tenant:${name}` });
      credentials = await ensureTenantCredentials(await secretStore(c), name, tenantTokenNames(tenant), {
        adopt: () => credentialsInOutputs(stack),
      });
      const forgotten = await forgetRandomResources(stack, ctx.signal);
      if (forgotten > 0) ctx.progress({ message: `moved ${name}'s credentials into the encrypted secret store` });
      const totalHint = (await c.expectedCounts)[stackNames(c.name).tenant(name)];
      const out = await stack.up({ signal: ctx.signal, ...(totalHint ? { totalHint } : {}) });
      return { namespace: String(out.namespace), grafanaUrl: String(out.grafanaUrl) };
    },
  };
}

/**
 * Removes a tenant that is no longer in the config: its stack is destroyed, which also
 * removes its tokens from the gateway. Its data stays in the buckets until retention ends.
 */
export function tenantRemoveStep(c: InstanceContext, name: string): Step<{ removed: true }> {
  return {
    name: `tenant-remove:${name}`,
    title: `Remove tenant ${name}`,
    parallel: { group: 'tenant-remove', limit: c.tenantParallelism ?? DEFAULT_TENANT_PARALLELISM },
    async run(ctx) {
      const stack = await openClusterStack(c, { tenant: name }, async () => ({}), { step: `tenant-remove:${name}` });
      await stack.destroy({ signal: ctx.signal });
      // Its tokens are gone from the gateway with the stack; forgetting them means they can
      // never come back, whatever happens to the name later.
      const [{ deleteTenantCredentials }, { retireTenantIdIn }] = await Promise.all([import('../tenants/credentials.js'), import('../tenants/tenant-ids.js')]);
      await deleteTenantCredentials(await secretStore(c), name);
      // Its id is never given out again: a tenant added later under this name gets a new one.
      await retireTenantIdIn(await secretStore(c), name);
      return { removed: true };
    },
  };
}

/** A tenant's tokens, from the instance's encrypted secret store; kept in memory only. */
export async function tenantTokens(c: InstanceContext, name: string): Promise<Record<string, string>> {
  const { readTenantCredentials } = await import('../tenants/credentials.js');
  const tokens = (await readTenantCredentials(await secretStore(c), name))?.tokens;
  if (!tokens || Object.keys(tokens).length === 0) {
    throw new FailureError(`tenant ${name} has no tokens yet`, { hint: 'Run `lookout create` (or `upgrade`) again to install it.' });
  }
  return tokens;
}

function gatewayConnection(ctx: StepContext) {
  return {
    address: ctx.outputsOf<PlatformStepOutputs>('platform').loadBalancerHostname,
    pinnedCertificateSha256: ctx.outputsOf<TlsOutputs>('tls').fingerprintSha256,
  };
}

/** Waits until the gateway answers through its load balancer (a new cloud load balancer takes minutes to resolve). */
async function waitForGateway(c: InstanceContext, ctx: StepContext): Promise<void> {
  const [{ ProbeClient }, { waitFor: pWaitFor, TimeoutError }] = await Promise.all([import('../verify/client.js'), import('../wait-for.js')]);
  const client = new ProbeClient(gatewayConnection(ctx));
  const host = tenantHost(SYSTEM, c.config.dns.domain);
  let last = 'no answer yet';
  try {
    await pWaitFor(
      async () => {
        try {
          const res = await client.request({ method: 'GET', host, path: '/healthz', signal: ctx.signal, timeoutMs: 5_000 });
          last = `HTTP ${res.status}`;
          return res.status === 200;
        } catch (err) {
          if (ctx.signal.aborted) throw err;
          last = (err as Error).message;
          ctx.progress({ message: `waiting for the load balancer: ${last}` });
          return false;
        }
      },
      { interval: 5_000, timeout: { milliseconds: 15 * 60_000 } },
    );
  } catch (err) {
    if (err instanceof TimeoutError) {
      throw new FailureError(`the gateway did not answer through its load balancer within 15 minutes (last: ${last})`, {
        hint: 'Check the `gateway` Service in namespace lookout (kubectl -n lookout describe service gateway), then run the command again.',
      });
    }
    throw err;
  } finally {
    client.close();
  }
}

export interface AlertingUpload {
  client: import('../verify/client.js').ProbeClient;
  /** `system.<domain>`. */
  host: string;
  token: string;
  /** A Prometheus rules file (`groups:`), as `renderAlertRules()` gives it. */
  rules: string;
  /** An Alertmanager config, as `renderAlertmanagerConfig()` gives it. */
  alertmanagerConfig: string;
  /** Cortex rule namespace the platform's groups live in. */
  namespace?: string;
  signal?: AbortSignal;
  /** Retry timing for the first request, while Cortex's Alertmanager is still starting. */
  retry?: { retries: number; minTimeout: number; maxTimeout: number };
  /** How long to wait, and how often to look, until the Alertmanager runs the uploaded config. */
  configWait?: { deadlineMs: number; intervalMs: number };
}

/** The receiver names of an Alertmanager config; undefined when it is not one. */
function receiverNames(YAML: typeof import('yaml'), text: string): string[] | undefined {
  try {
    const parsed = YAML.parse(text) as { receivers?: Array<{ name?: unknown }> } | null;
    const names = parsed?.receivers?.map((r) => r.name).filter((n): n is string => typeof n === 'string');
    return names && names.length > 0 ? names.sort() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads the system tenant's Alertmanager config and rule groups through the gateway (Cortex
 * takes one group per request), and removes groups a newer bundle no longer has.
 * Idempotent: the same input leaves the same state.
 */
export async function uploadSystemAlerting(u: AlertingUpload): Promise<string[]> {
  const [YAML, { default: pRetry, AbortError }] = await Promise.all([import('yaml'), import('p-retry')]);
  const namespace = u.namespace ?? 'lookout';
  const send = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: string) => {
    const res = await u.client.request({
      method,
      host: u.host,
      path,
      token: u.token,
      ...(u.signal ? { signal: u.signal } : {}),
      ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/yaml' } }),
    });
    if (res.status >= 300 && !(method === 'GET' && res.status === 404)) {
      const err = new FailureError(`${method} ${path} on the system tenant returned ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`, {
        hint: 'Run the command again; if it persists, check the cortex-ruler and cortex-alertmanager logs in namespace lookout.',
      });
      // Server errors (Cortex still starting) are worth retrying; a refused request is not.
      if (res.status < 500) throw new AbortError(err);
      throw err;
    }
    return res;
  };
  const uploadConfig = () => send('POST', '/api/v1/alerts', YAML.stringify({ alertmanager_config: u.alertmanagerConfig, template_files: {} }));
  await pRetry(uploadConfig, { ...(u.retry ?? { retries: 12, minTimeout: 5_000, maxTimeout: 15_000 }), ...(u.signal ? { signal: u.signal } : {}) });
  await untilAlertmanagerRuns(u, YAML, send, uploadConfig, AbortError);
  const groups = (YAML.parse(u.rules) as { groups: Array<{ name: string }> }).groups;
  for (const group of groups) await send('POST', `/api/v1/rules/${namespace}`, YAML.stringify(group));
  const existing = await send('GET', `/api/v1/rules/${namespace}`);
  const live = existing.status === 404 ? {} : ((YAML.parse(existing.body.toString('utf8')) ?? {}) as Record<string, Array<{ name: string }>>);
  const wanted = new Set(groups.map((g) => g.name));
  for (const g of live[namespace] ?? []) {
    if (!wanted.has(g.name)) await send('DELETE', `/api/v1/rules/${namespace}/${encodeURIComponent(g.name)}`);
  }
  return [...wanted].sort();
}

/**
 * Waits until the system tenant's Alertmanager runs the config just uploaded, before any rule
 * can fire. Cortex loads a tenant's stored config only at its next poll (every 15 s by default).
 * A request for the tenant that comes first (the ruler's first alert, or this very status
 * check) starts its Alertmanager on the fallback config and stores an empty config over the
 * uploaded one (`alertmanagerFromFallbackConfig` in Cortex's multitenant.go, v1.19 to v1.21):
 * the platform's alerts would go to the fallback's blackhole, silently. So: look at what runs;
 * when the stored config is no longer ours, upload it again (the Alertmanager now exists, so the
 * next poll applies it and nothing overwrites it).
 */
async function untilAlertmanagerRuns(
  u: AlertingUpload,
  YAML: typeof import('yaml'),
  send: (method: 'GET' | 'POST', path: string) => Promise<{ status: number; body: Buffer }>,
  uploadConfig: () => Promise<unknown>,
  AbortError: typeof import('p-retry').AbortError,
): Promise<void> {
  const { waitFor, TimeoutError } = await import('../wait-for.js');
  const wanted = receiverNames(YAML, u.alertmanagerConfig);
  if (!wanted) throw new Error('the system Alertmanager config names no receiver');
  const timing = u.configWait ?? { deadlineMs: 180_000, intervalMs: 5_000 };
  const wantedKey = wanted.join();
  let running: string[] | undefined;
  const lookOnce = async (): Promise<boolean> => {
    const status = await send('GET', '/alertmanager/api/v2/status');
    if (status.status === 200) {
      const original = (JSON.parse(status.body.toString('utf8')) as { config?: { original?: string } }).config?.original ?? '';
      running = receiverNames(YAML, original);
      if (running?.join() === wantedKey) return true;
    }
    const stored = await send('GET', '/api/v1/alerts');
    const storedConfig = stored.status === 200 ? (YAML.parse(stored.body.toString('utf8')) as { alertmanager_config?: string } | null)?.alertmanager_config : undefined;
    if (storedConfig === undefined || receiverNames(YAML, storedConfig)?.join() !== wantedKey) await uploadConfig();
    return false;
  };
  try {
    await waitFor(
      () =>
        lookOnce().catch((err: unknown) => {
          // A refused request ends the wait; a server error (an Alertmanager restarting) is tried again.
          if (err instanceof AbortError) throw err.originalError;
          return false;
        }),
      { interval: timing.intervalMs, timeout: timing.deadlineMs, ...(u.signal ? { signal: u.signal } : {}) },
    );
  } catch (err) {
    if (!(err instanceof TimeoutError)) throw err;
    throw new FailureError(
      `the system tenant's Alertmanager did not start running the uploaded config within ${Math.round(timing.deadlineMs / 1000)} s ` +
        `(it runs ${running ? `receivers ${running.join(', ')}` : 'no config yet'}; the upload has receivers ${wanted.join(', ')})`,
      { hint: 'Run the command again; if it persists, check the cortex-alertmanager logs in namespace lookout.' },
    );
  }
}

/** The platform's rules plus the group that warns of tenant tokens about to expire. */
async function withTokenAlerts(c: InstanceContext, rules: string): Promise<string> {
  const [{ readStoredTokens }, { expiringTokens, renderTokenAlertGroup }, YAML] = await Promise.all([
    import('../tenants/credentials.js'),
    import('../tenants/token-alerts.js'),
    import('yaml'),
  ]);
  const store = await secretStore(c);
  const created: Record<string, Record<string, string>> = {};
  for (const t of c.config.tenants) {
    const stored = await readStoredTokens(store, t.name);
    if (stored) created[t.name] = Object.fromEntries(Object.entries(stored).map(([name, v]) => [name, v.createdAt]));
  }
  const group = renderTokenAlertGroup(expiringTokens(c.config.tenants, (name) => created[name]));
  if (!group) return rules;
  const parsed = YAML.parse(rules) as { groups: unknown[] };
  return YAML.stringify({ groups: [...parsed.groups, YAML.parse(group)] }, { lineWidth: 0 });
}

export function systemAlertingStep(c: InstanceContext): Step<{ groups: string[] }> {
  return {
    name: 'system-alerting',
    title: 'Load the platform’s alert rules and Alertmanager config',
    // Idempotent and quick: loading them every run also restores rules someone deleted.
    alwaysRun: true,
    async run(ctx) {
      const [{ renderAlertRules, renderAlertmanagerConfig }, { ProbeClient }, { SYSTEM_TOKEN_NAME }] = await Promise.all([
        import('@lookout/self-monitoring'),
        import('../verify/client.js'),
        import('../../stacks/tenant.js'),
      ]);
      await waitForGateway(c, ctx);
      const token = (await tenantTokens(c, SYSTEM))[SYSTEM_TOKEN_NAME]!;
      const host = tenantHost(SYSTEM, c.config.dns.domain);
      const client = new ProbeClient(gatewayConnection(ctx));
      try {
        await waitUntilTokensAccepted({
          client,
          targets: [{ tenant: SYSTEM, host, token }],
          signal: ctx.signal,
          onWaiting: (_, status) => ctx.progress({ message: `waiting for the gateway to accept the system token (${status})` }),
        });
        const groups = await uploadSystemAlerting({
          client,
          host,
          token,
          rules: await withTokenAlerts(c, renderAlertRules()),
          alertmanagerConfig: renderAlertmanagerConfig(),
          signal: ctx.signal,
        });
        return { groups };
      } finally {
        client.close();
      }
    },
  };
}

/**
 * Waits until the gateway accepts every tenant's token. The gateway picks up tenant entries
 * when the kubelet refreshes its mounted Secret and the sidecar reloads nginx, a minute or
 * two after a tenant stack changed it; until then the token is unknown (401).
 */
export async function waitUntilTokensAccepted(options: {
  client: import('../verify/client.js').ProbeClient;
  targets: ReadonlyArray<{ tenant: string; host: string; token: string }>;
  signal?: AbortSignal;
  timing?: { deadlineMs: number; intervalMs: number };
  onWaiting?: (tenant: string, status: string) => void;
}): Promise<void> {
  const { waitFor: pWaitFor, TimeoutError } = await import('../wait-for.js');
  const timing = options.timing ?? { deadlineMs: 5 * 60_000, intervalMs: 5_000 };
  for (const t of options.targets) {
    let last = 'no answer';
    try {
      await pWaitFor(
        async () => {
          try {
            const res = await options.client.request({
              method: 'GET',
              host: t.host,
              path: '/prometheus/api/v1/query?query=vector(1)',
              token: t.token,
              timeoutMs: 10_000,
              ...(options.signal ? { signal: options.signal } : {}),
            });
            last = `HTTP ${res.status}`;
          } catch (err) {
            if (options.signal?.aborted) throw err;
            last = (err as Error).message;
          }
          const accepted = last !== 'HTTP 401' && last.startsWith('HTTP ');
          if (!accepted) options.onWaiting?.(t.tenant, last);
          return accepted;
        },
        { interval: timing.intervalMs, timeout: { milliseconds: timing.deadlineMs } },
      );
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new FailureError(`the gateway still refuses tenant ${t.tenant}'s token after ${Math.round(timing.deadlineMs / 1000)} s (last: ${last})`, {
          hint: 'Check the gateway-reloader container in namespace lookout (kubectl -n lookout logs deploy/gateway -c reloader), then run the command again.',
        });
      }
      throw err;
    }
  }
}

export interface VerifyStepOutputs {
  checks: number;
  tenants: string[];
}

/** The post-install proof: every tenant writes and reads its own data, and nobody else's. */
export function verifyStep(c: InstanceContext): Step<VerifyStepOutputs> {
  return {
    name: 'verify',
    title: 'Verify every tenant: write, read back, Grafana, isolation',
    alwaysRun: true,
    async run(ctx) {
      const [{ verifyAll, verifyCheckCount, describeResult }] = await Promise.all([import('../verify/index.js')]);
      await waitForGateway(c, ctx);
      const names = [SYSTEM, ...c.config.tenants.map((t) => t.name)];
      const targets = [];
      for (const name of names) {
        const tokens = await tenantTokens(c, name);
        targets.push({ tenant: name, host: tenantHost(name, c.config.dns.domain), token: Object.values(tokens)[0]! });
      }
      const { ProbeClient } = await import('../verify/client.js');
      const client = new ProbeClient(gatewayConnection(ctx));
      try {
        await waitUntilTokensAccepted({
          client,
          targets,
          signal: ctx.signal,
          onWaiting: (tenant, status) => ctx.progress({ message: `waiting for the gateway to accept ${tenant}'s token (${status})` }),
        });
      } finally {
        client.close();
      }
      const total = verifyCheckCount(targets.length);
      let done = 0;
      const results = await verifyAll(targets, {
        runId: ctx.runId,
        signal: ctx.signal,
        instance: c.name,
        connection: gatewayConnection(ctx),
        onResult: (r) => ctx.progress({ done: ++done, total, message: describeResult(r) }),
      });
      return { checks: results.length, tenants: names };
    },
  };
}

/** Tenants the instance runs that the config no longer names (never `system`). */
export function removedTenants(previous: readonly { name: string }[] | undefined, current: readonly { name: string }[]): string[] {
  const keep = new Set(current.map((t) => t.name));
  return (previous ?? []).map((t) => t.name).filter((n) => !keep.has(n));
}

/** Every step that installs and proves the cluster's contents, after the infra steps. */
export function clusterSteps(c: InstanceContext, previousTenants: readonly { name: string }[] | undefined): Step[] {
  return [
    platformStep(c),
    ...(c.provider.afterPlatform?.(c) ?? []),
    tenantStep(c, 'system'),
    ...c.config.tenants.map((t) => tenantStep(c, t)),
    ...removedTenants(previousTenants, c.config.tenants).map((name) => tenantRemoveStep(c, name)),
    systemAlertingStep(c),
    verifyStep(c),
  ] as Step[];
}
