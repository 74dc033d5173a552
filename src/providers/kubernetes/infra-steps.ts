/**
 * The steps before the cluster layers in a cluster the user already has: preflight (nothing
 * is created before every check passed), then the `infra` step, which creates nothing and
 * records what the cluster layers need: the API server and its CA, the storage and the
 * cluster's CIDRs.
 */
import type { Step } from '../../engine/index.js';
import { ConfigError, FailureError } from '../../errors.js';
import { recordInstanceAtPreflight } from '../../state/instance-record.js';
import type { InstanceContext } from '../../steps/context.js';
import type { KubernetesInfra } from './cluster.js';
import type { KubernetesPreflightResult } from './preflight.js';
import { kubernetesConfigOf } from './settings.js';

/** What the Kubernetes steps need of a command's context. */
export type KubernetesStepContext = Omit<InstanceContext, 'bundle' | 'yes'>;

export type PreflightOutputs = Omit<KubernetesPreflightResult, 'warnings'> & { server: string };

/** A client for the context's API server, with its credentials as they are now. */
export async function openKubeApi(c: Pick<InstanceContext, 'config'>) {
  const [{ readKubeContext, contextCredentials }, { KubeApi }] = await Promise.all([import('./kubeconfig.js'), import('./api.js')]);
  const k = kubernetesConfigOf(c.config);
  const context = await readKubeContext(k.kubeconfig, k.context);
  return { context, api: new KubeApi(context.cluster, await contextCredentials(context)) };
}

/** The certificate comes from the user's files or ACME DNS-01 through RFC 2136: there is no zone of Lookout's. */
function checkCertificateSource(c: KubernetesStepContext): void {
  if (kubernetesConfigOf(c.config).certificate || c.config.tls.rfc2136) return;
  throw new ConfigError(c.configFile, [
    {
      path: 'tls.rfc2136',
      message: 'is required with the kubernetes provider unless kubernetes.certificate is given: ACME DNS-01 needs a DNS server that takes dynamic updates, since Lookout makes no DNS zone in your cluster',
    },
  ]);
}

export function preflightStep(c: KubernetesStepContext): Step<PreflightOutputs> {
  return {
    name: 'preflight',
    title: 'Check the cluster: version, permissions, storage class, buckets, namespaces',
    // Cheap, and what it checks (permissions, namespaces, keys) changes between runs.
    alwaysRun: true,
    changesNothing: true,
    async run(ctx) {
      const [{ kubernetesPreflight }, { s3Access, s3KeysFromEnv }] = await Promise.all([import('./preflight.js'), import('./storage.js')]);
      const k = kubernetesConfigOf(c.config);
      checkCertificateSource(c);
      (await import('./dns-records.js')).checkRecordSettings(c);
      const keys = s3KeysFromEnv(k.objectStorage);
      const { context, api } = await openKubeApi(c);
      if (c.record && c.record.accountId !== context.cluster.server) {
        api.close();
        throw new FailureError(`instance "${c.name}" lives in the cluster at ${c.record.accountId}, but context ${k.context} now names ${context.cluster.server}`, {
          hint: 'Point kubernetes.context at the instance’s cluster.',
        });
      }
      const s3 = await s3Access(k.objectStorage, keys);
      let result: KubernetesPreflightResult;
      try {
        result = await kubernetesPreflight(c.config, { api, s3, signal: ctx.signal });
      } finally {
        api.close();
        s3.close();
      }
      for (const warning of result.warnings) ctx.log('warn', warning);
      // Every check passed: record the instance before the first change, so a crash
      // mid-create leaves a record that `status`, resume and `destroy` can use.
      await recordInstanceAtPreflight(c, { provider: 'kubernetes', region: k.context, accountId: context.cluster.server });
      const { warnings: _w, ...recorded } = result;
      return { ...recorded, server: context.cluster.server };
    },
  };
}

/** Records the cluster's settings; nothing is created in the cluster by this step. */
export function infraStep(c: KubernetesStepContext): Step<KubernetesInfra> {
  return {
    name: 'infra',
    title: 'Record the cluster, its storage and its networks',
    inputs: () => {
      const k = kubernetesConfigOf(c.config);
      return { kubeconfig: k.kubeconfig, context: k.context, storageClass: k.storageClass, objectStorage: k.objectStorage, clusterCidrs: k.clusterCidrs, dnsRecords: k.dnsRecords };
    },
    // The kubeconfig's server or CA may change under the same context (a rotated CA).
    alwaysRun: true,
    async run(ctx) {
      const { readKubeContext } = await import('./kubeconfig.js');
      const k = kubernetesConfigOf(c.config);
      const context = await readKubeContext(k.kubeconfig, k.context);
      const preflight = ctx.outputsOf<PreflightOutputs>('preflight');
      const { endpoint, region, forcePathStyle, buckets } = k.objectStorage;
      return {
        context: k.context,
        server: context.cluster.server,
        ...(context.cluster.certificateAuthorityData ? { certificateAuthorityData: context.cluster.certificateAuthorityData } : {}),
        ...(context.cluster.tlsServerName ? { tlsServerName: context.cluster.tlsServerName } : {}),
        version: preflight.version,
        storageClass: k.storageClass,
        objectStorage: { endpoint, region, forcePathStyle, buckets },
        clusterCidrs: k.clusterCidrs,
        dnsRecords: k.dnsRecords,
      };
    },
  };
}

/** `create` and `upgrade`: everything before the cluster layers. */
export function kubernetesInfraSteps(c: KubernetesStepContext): Step[] {
  return [preflightStep(c), infraStep(c)] as Step[];
}
