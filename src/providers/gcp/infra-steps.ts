/**
 * The steps that build and change an instance's GCP infrastructure: the preflight (which
 * records the instance before the first change), the infra stack, and the kubeconfig. `create`
 * and `upgrade` compose them; each is idempotent and records only non-secret outputs.
 */
import type { Step, StepContext } from '../../engine/index.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import { stackNames } from '../../naming.js';
import { instancePaths } from '../../paths.js';
import type { GcsHttp } from '../../pulumi/gcs-store.js';
import type { StackHandle } from '../../pulumi/workspace.js';
import { recordInstanceAtPreflight } from '../../state/instance-record.js';
import { openInfraStackOf, type InstanceContext } from '../../steps/context.js';
import { lookoutBinary } from '../../k8s/provider-kubeconfig.js';
import { gcpKubeconfig } from './cluster.js';
import type { InfraGcpOutputs } from './infra-stack.js';
import type { GcpPreflightResult, GoogleHttp } from './preflight.js';
import { gcpConfigOf } from './settings.js';

/** What the GCP steps need of a command's context. */
export type GcpStepContext = Omit<InstanceContext, 'bundle' | 'yes'>;

/** The preflight result as recorded in the journal. */
export type GcpPreflightOutputs = Pick<GcpPreflightResult, 'project' | 'projectNumber' | 'region' | 'secretsKey' | 'parentZoneName'>;

/** Infra outputs as recorded in the journal (the infra stack has no secret outputs). */
export type GcpInfraStepOutputs = InfraGcpOutputs;

export async function openGcpInfraStack(
  c: GcpStepContext,
  step: string,
  o: { deletionProtection?: boolean; preflight?: GcpPreflightOutputs } = {},
): Promise<StackHandle> {
  const { infraGcpProgram, INFRA_GCP_PROJECT } = await import('./infra-stack.js');
  // Where the delegation goes, as the preflight resolved it; without a preflight (destroy), as the config says.
  const parentZoneName = o.preflight ? o.preflight.parentZoneName : c.config.dns.parentZone;
  return openInfraStackOf(c, step, {
    project: INFRA_GCP_PROJECT,
    program: infraGcpProgram({
      instance: c.name,
      config: c.config,
      ...(parentZoneName ? { parentZoneName } : {}),
      ...(o.deletionProtection === undefined ? {} : { deletionProtection: o.deletionProtection }),
      ...(o.preflight?.secretsKey ? { existingSecretsKey: o.preflight.secretsKey } : {}),
    }),
  });
}

/** Google's official auth client with Application Default Credentials, loaded when first needed. */
export async function googleHttp(): Promise<GoogleHttp & GcsHttp> {
  const { GoogleAuth } = await import('google-auth-library');
  return new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }) as unknown as GoogleHttp & GcsHttp;
}

export function gcpPreflightStep(c: GcpStepContext, http: () => Promise<GoogleHttp> = googleHttp): Step<GcpPreflightOutputs> {
  return {
    name: 'preflight',
    title: 'Check credentials, project, APIs, quotas and names',
    // Cheap, and what it checks (credentials, APIs, quotas) changes between runs.
    alwaysRun: true,
    changesNothing: true,
    async run(ctx) {
      const { gcpPreflight } = await import('./preflight.js');
      const gcp = gcpConfigOf(c.config);
      const result = await gcpPreflight(await http(), c.config, {
        signal: ctx.signal,
        knownInstance: c.record !== undefined,
        ...(c.destroyedBefore ? { destroyedBefore: true } : {}),
      });
      for (const warning of result.warnings) ctx.log('warn', warning);
      // From here on the instance is ours; the project is its "account".
      await recordInstanceAtPreflight(c, { provider: 'gcp', region: gcp.region, accountId: gcp.project });
      return {
        project: result.project,
        projectNumber: result.projectNumber,
        region: result.region,
        secretsKey: result.secretsKey,
        ...(result.parentZoneName ? { parentZoneName: result.parentZoneName } : {}),
      };
    },
  };
}

export function gcpInfraUpStep(c: GcpStepContext): Step<GcpInfraStepOutputs> {
  return {
    name: 'infra',
    title: 'Create the network, GKE cluster, buckets and DNS zone',
    inputs: (ctx) => ({
      gcp: c.config.gcp,
      dns: { domain: c.config.dns.domain, parentZone: ctx.outputsOf<GcpPreflightOutputs>('preflight').parentZoneName ?? null },
      retention: [c.config.system.retention, ...c.config.tenants.map((t) => t.retention)],
      secretsKey: ctx.outputsOf<GcpPreflightOutputs>('preflight').secretsKey ?? null,
    }),
    async run(ctx) {
      const stack = await openGcpInfraStack(c, 'infra', { preflight: ctx.outputsOf<GcpPreflightOutputs>('preflight') });
      const totalHint = (await c.expectedCounts)[stackNames(c.name).infra];
      return (await stack.up({ signal: ctx.signal, ...(totalHint ? { totalHint } : {}) })) as unknown as GcpInfraStepOutputs;
    },
  };
}

/**
 * Writes the kubeconfig (mode 0600). It holds no token: kubectl runs `lookout kube-token
 * --provider gcp`, which takes one from the Google credentials, so no gcloud is needed.
 */
export function gcpKubeconfigStep(c: Pick<GcpStepContext, 'name'>): Step<{ path: string }> {
  return {
    name: 'kubeconfig',
    title: 'Write the kubeconfig',
    alwaysRun: true,
    inputs: (ctx) => ctx.outputsOf<GcpInfraStepOutputs>('infra').clusterEndpoint,
    async run(ctx) {
      const path = instancePaths(c.name).kubeconfig;
      await writeFileAtomic(path, gcpKubeconfig(ctx.outputsOf<GcpInfraStepOutputs>('infra'), lookoutBinary()), { mode: 0o600 });
      return { path };
    },
  };
}

/** `create` and `upgrade`: everything before the cluster layers. */
export function gcpInfraSteps(c: GcpStepContext): Step[] {
  return [gcpPreflightStep(c), gcpInfraUpStep(c), gcpKubeconfigStep(c)] as Step[];
}

/** `upgrade`: the infra stack's own preview of what applying the config changes. */
export async function previewGcpInfra(c: GcpStepContext, ctx: StepContext): Promise<{ changes: Record<string, number>; diffText?: string }> {
  const stack = await openGcpInfraStack(c, 'confirm', { preflight: ctx.outputsOf<GcpPreflightOutputs>('preflight') });
  const preview = await stack.preview({ signal: ctx.signal });
  return { changes: preview.changes, ...(preview.diffText ? { diffText: preview.diffText } : {}) };
}
