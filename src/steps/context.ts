/**
 * What every step of an instance command needs beyond the AWS infra steps: the instance's
 * secret store, access to its cluster, and its Pulumi stacks by layer.
 */
import type { AwsStepContext, InfraStepOutputs } from '../providers/aws/infra-steps.js';
import type { BundleManifest } from '../bundle/manifest.js';
import { UsageError } from '../errors.js';
import type { ClusterAccess } from '../k8s/provider-kubeconfig.js';
import { stackNames } from '../naming.js';
import type { StackHandle } from '../pulumi/workspace.js';
import type { SecretStore } from '../state/secret-store.js';

export interface InstanceContext extends AwsStepContext {
  bundle: BundleManifest;
  /** `--yes`: no prompts, and no waiting for a human (for example to add NS records). */
  yes: boolean;
}

export function clusterAccess(infra: InfraStepOutputs): ClusterAccess {
  return {
    clusterName: infra.clusterName,
    endpoint: infra.clusterEndpoint,
    certificateAuthorityData: infra.clusterCertificateAuthority,
    region: infra.region,
  };
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
    extraEnv: { PATH: path, ...options.extraEnv },
  });
}

/** Environment variables the config names for secrets; all must be set before anything starts. */
export function missingSecretEnv(config: InstanceContext['config'], env: NodeJS.ProcessEnv = process.env): string[] {
  const wanted: Array<[string, string]> = [];
  if (config.tls.externalAccountBinding) wanted.push(['tls.externalAccountBinding.hmacKeyEnv', config.tls.externalAccountBinding.hmacKeyEnv]);
  if (config.tls.rfc2136) wanted.push(['tls.rfc2136.keySecretEnv', config.tls.rfc2136.keySecretEnv]);
  config.tenants.forEach((t, i) => {
    if (t.grafana.oidc) wanted.push([`tenants[${i}].grafana.oidc.clientSecretEnv`, t.grafana.oidc.clientSecretEnv]);
  });
  return wanted.filter(([, name]) => !env[name]?.trim()).map(([field, name]) => `${name} (named by ${field})`);
}

export function requireSecretEnv(config: InstanceContext['config'], env: NodeJS.ProcessEnv = process.env): void {
  const missing = missingSecretEnv(config, env);
  if (missing.length > 0) {
    throw new UsageError(`these environment variables are not set: ${missing.join(', ')}`, {
      hint: 'The config names environment variables for secrets so they never sit in the file; set them and run again.',
    });
  }
}

/** The context of a command on an existing instance, from its record. */
export async function contextFromRecord(
  record: import('../state/instance-record.js').InstanceRecord,
  session: InstanceContext['session'],
  options: { yes: boolean },
): Promise<InstanceContext> {
  const { loadBundle } = await import('../bundle/manifest.js');
  return {
    name: record.name,
    config: record.config,
    configFile: 'the recorded config',
    ...(record.stateUrl ? { stateUrl: record.stateUrl } : {}),
    session,
    record,
    expectedCounts: Promise.resolve({}),
    bundle: loadBundle(record.bundle),
    yes: options.yes,
  };
}
