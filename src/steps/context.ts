/**
 * What every step of an instance command needs: the instance, its validated config and
 * provider, the session, the instance's secret store, and its Pulumi stacks by layer.
 */
import type { BundleManifest } from '../bundle/manifest.js';
import type { CommandSession } from '../commands/session.js';
import type { ResolvedConfig } from '../config/load.js';
import { stackNames } from '../naming.js';
import type { CloudProvider } from '../providers/types.js';
import { KUBERNETES_PACKAGES } from '../pulumi/plugins.js';
import type { ImportIdRules } from '../pulumi/recovery.js';
import type { StackHandle } from '../pulumi/workspace.js';
import type { InstanceRecord } from '../state/instance-record.js';
import type { SecretStore } from '../state/secret-store.js';

export interface InstanceContext {
  name: string;
  config: ResolvedConfig;
  configFile: string;
  stateUrl?: string;
  session: CommandSession;
  /** Where the instance lives: everything that differs per cloud goes through it. */
  provider: CloudProvider;
  /** The instance record, when this machine already knows the instance. */
  record?: InstanceRecord;
  /** A record of an earlier instance of this name that was destroyed. */
  destroyedBefore?: boolean;
  /** Resource counts per stack from the offline mock run, for done/total progress. */
  expectedCounts: Promise<Record<string, number>>;
  bundle: BundleManifest;
  /** `--yes`: no prompts, and no waiting for a human (for example to add NS records). */
  yes: boolean;
  /** `--parallel`: tenant stacks installed at the same time (default DEFAULT_TENANT_PARALLELISM). */
  tenantParallelism?: number;
}

/**
 * What every stack of the instance needs from its provider: the Pulumi packages (the
 * provider's and Kubernetes) and the cloud's import id formats for recovery.
 */
export function stackCloud(c: Pick<InstanceContext, 'provider'>): { providerPackages: string[]; importIds: ImportIdRules } {
  return { providerPackages: [...c.provider.pulumiPackages, ...KUBERNETES_PACKAGES], importIds: c.provider.importIds };
}

const stores = new WeakMap<InstanceContext, Promise<SecretStore>>();

/** The instance's encrypted secret store, in the same backend as its Pulumi state. */
export function secretStore(c: InstanceContext): Promise<SecretStore> {
  let store = stores.get(c);
  if (!store) {
    store = (async () => {
      const [{ SecretStore }, { storeFor }, { resolveBackend, prepareBackend }] = await Promise.all([
        import('../state/secret-store.js'),
        import('../pulumi/diy-store.js'),
        import('../pulumi/backend.js'),
      ]);
      const backend = resolveBackend(c.name, c.stateUrl);
      await prepareBackend(backend);
      return new SecretStore(storeFor(backend), c.name, c.session.passphrase);
    })();
    stores.set(c, store);
  }
  return store;
}

export type Layer = 'platform' | { tenant: string };

/**
 * Opens a Kubernetes-layer stack. The program is only evaluated by `up` and `preview`;
 * `destroy` and `outputs` work from the state, so callers that only read or remove pass the
 * program they have.
 */
export async function openClusterStack(
  c: InstanceContext,
  layer: Layer,
  program: () => Promise<unknown>,
  options: { step: string; extraEnv?: Record<string, string> },
): Promise<StackHandle> {
  const [{ openStack }, { ensureLookoutShim }, { PLATFORM_PROJECT }, { TENANT_PROJECT }] = await Promise.all([
    import('../pulumi/workspace.js'),
    import('../k8s/exec-shim.js'),
    import('../../stacks/platform.js'),
    import('../../stacks/tenant.js'),
  ]);
  const names = stackNames(c.name);
  const path = await ensureLookoutShim();
  return openStack({
    instance: c.name,
    project: layer === 'platform' ? PLATFORM_PROJECT : TENANT_PROJECT,
    stackName: layer === 'platform' ? names.platform : names.tenant(layer.tenant),
    program: program as never,
    ...(c.stateUrl ? { stateUrl: c.stateUrl } : {}),
    passphrase: c.session.passphrase,
    pulumiCommand: await c.session.pulumi(),
    reporter: c.session.reporter,
    step: options.step,
    ...stackCloud(c),
    extraEnv: { PATH: path, ...c.provider.stackEnv?.(c), ...options.extraEnv },
  });
}

/** The context of a command on an existing instance, from its record. */
export async function contextFromRecord(
  record: import('../state/instance-record.js').InstanceRecord,
  session: InstanceContext['session'],
  options: { yes: boolean; tenantParallelism?: number },
): Promise<InstanceContext> {
  const [{ loadBundle }, { loadProvider }] = await Promise.all([import('../bundle/manifest.js'), import('../providers/registry.js')]);
  return {
    name: record.name,
    provider: await loadProvider(record.provider),
    config: record.config,
    configFile: 'the recorded config',
    ...(record.stateUrl ? { stateUrl: record.stateUrl } : {}),
    session,
    record,
    expectedCounts: Promise.resolve({}),
    bundle: loadBundle(record.bundle),
    yes: options.yes,
    ...(options.tenantParallelism ? { tenantParallelism: options.tenantParallelism } : {}),
  };
}

/** The instance's infra stack, running a provider's infra program (no Kubernetes: the cluster does not exist yet). */
export async function openInfraStackOf(
  c: Pick<InstanceContext, 'name' | 'stateUrl' | 'session' | 'provider'>,
  step: string,
  infra: { project: string; program: () => Promise<unknown> },
): Promise<StackHandle> {
  const { openStack } = await import('../pulumi/workspace.js');
  return openStack({
    instance: c.name,
    project: infra.project,
    stackName: stackNames(c.name).infra,
    program: infra.program as never,
    ...(c.stateUrl ? { stateUrl: c.stateUrl } : {}),
    passphrase: c.session.passphrase,
    pulumiCommand: await c.session.pulumi(),
    reporter: c.session.reporter,
    step,
    ...stackCloud(c),
  });
}
