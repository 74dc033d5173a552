/**
 * The steps that build, change and remove an instance's AWS infrastructure. `create`,
 * `upgrade` and `destroy` compose them; each is idempotent and records only non-secret
 * outputs in the journal.
 */
import type { Step, StepContext } from '../../engine/index.js';
import { FailureError } from '../../errors.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import { stackNames, type BucketPurpose } from '../../naming.js';
import { instancePaths } from '../../paths.js';
import type { StackHandle } from '../../pulumi/workspace.js';
import { recordInstanceAtPreflight } from '../../state/instance-record.js';
import { openInfraStackOf, type InstanceContext } from '../../steps/context.js';
import { awsConfigOf } from './settings.js';
import type { AwsPreflightResult } from './preflight.js';

/** What the AWS steps need of a command's context. */
export type AwsStepContext = Omit<InstanceContext, 'bundle' | 'yes'>;

/** The preflight result as recorded in the journal. */
export type PreflightOutputs = Omit<AwsPreflightResult, 'warnings' | 'elasticIps' | 'existing'> & {
  /** The cluster's first admin: the instance's creator, kept from the first run on. */
  adminPrincipalArn: string;
};

/** The IAM role (or user) behind a caller ARN: an assumed-role session is its role. */
export function principalOf(arn: string): { account: string; kind: 'role' | 'user'; name: string } | undefined {
  const session = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn);
  if (session) return { account: session[1]!, kind: 'role', name: session[2]! };
  const iam = /^arn:aws[a-z-]*:iam::(\d{12}):(role|user)\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (iam) return { account: iam[1]!, kind: iam[2] as 'role' | 'user', name: iam[3]! };
  return undefined;
}

/** Whether the caller is one of the given principals (role paths are ignored, as EKS does). */
export function isPrincipalAmong(callerArn: string, principals: readonly string[]): boolean {
  const caller = principalOf(callerArn);
  if (!caller) return false;
  return principals.some((p) => {
    const q = principalOf(p);
    return q !== undefined && q.account === caller.account && q.kind === caller.kind && q.name === caller.name;
  });
}

/** Infra outputs as recorded in the journal: everything but the (secret) kubeconfig. */
export interface InfraStepOutputs {
  region: string;
  accountId: string;
  clusterName: string;
  clusterEndpoint: string;
  clusterCertificateAuthority: string;
  buckets: Record<BucketPurpose, string>;
  storageKeyArn: string;
  zoneId: string;
  nameServers: string[];
  delegated: boolean;
  roleArns: Record<string, string>;
  /** VPC and Service CIDRs (absent from outputs recorded before they existed). */
  clusterCidrs?: string[];
  vpcId: string;
  privateSubnetIds: string[];
  publicSubnetIds: string[];
}

export async function openInfraStack(c: AwsStepContext, step: string, preflight?: PreflightOutputs): Promise<StackHandle> {
  const { infraAwsProgram, INFRA_AWS_PROJECT } = await import('./infra-stack.js');
  return openInfraStackOf(c, step, {
    project: INFRA_AWS_PROJECT,
    program: infraAwsProgram({
      instance: c.name,
      config: c.config,
      ...(preflight?.adminPrincipalArn
        ? {
            adminPrincipalArn: preflight.adminPrincipalArn,
            // EKS allows one access entry per principal: the creator is already admin.
            extraAdminPrincipalArns: awsConfigOf(c.config).clusterAdmins.filter((arn) => !isPrincipalAmong(preflight.adminPrincipalArn, [arn])),
          }
        : {}),
      ...(preflight?.parentZoneId ? { parentZoneId: preflight.parentZoneId } : {}),
    }),
  });
}

export function preflightStep(c: AwsStepContext): Step<PreflightOutputs> {
  return {
    name: 'preflight',
    title: 'Check credentials, region, quotas and names',
    // Cheap, and what it checks (credentials, quotas) changes between runs.
    alwaysRun: true,
    // It only reads the account (it records the instance locally once every check passed).
    changesNothing: true,
    async run(ctx) {
      const [{ awsPreflight }, { createAwsClients }] = await Promise.all([import('./preflight.js'), import('./clients.js')]);
      const aws = awsConfigOf(c.config);
      const result = await awsPreflight(c.config, createAwsClients(aws.region), {
        signal: ctx.signal,
        configFile: c.configFile,
        knownInstance: c.record !== undefined,
        ...(c.destroyedBefore ? { destroyedBefore: true } : {}),
        ...(c.record ? { recordedAccountId: c.record.accountId } : {}),
      });
      for (const warning of result.warnings) ctx.log('warn', warning);
      // From here on the instance is ours.
      await recordInstanceAtPreflight(c, { provider: 'aws', region: aws.region, accountId: result.accountId });
      const adminPrincipalArn = c.record?.adminPrincipalArn ?? result.callerArn;
      if (c.record && !isPrincipalAmong(result.callerArn, [adminPrincipalArn, ...aws.clusterAdmins])) {
        throw new FailureError(`${result.callerArn} is not a cluster admin of instance "${c.name}"`, {
          hint: `Use the identity that created it (${adminPrincipalArn}), or have an admin add yours to aws.clusterAdmins and run \`lookout upgrade\`.`,
        });
      }
      if (!c.record?.adminPrincipalArn) {
        const { updateInstanceRecord } = await import('../../state/instance-record.js');
        await updateInstanceRecord(c.name, { adminPrincipalArn });
      }
      const { warnings: _w, elasticIps: _e, existing: _x, ...recorded } = result;
      return { ...recorded, adminPrincipalArn };
    },
  };
}

/** The inputs that decide what the infra stack looks like; a change means `pulumi up` again. */
function infraInputs(c: AwsStepContext, ctx: StepContext) {
  const preflight = ctx.outputsOf<PreflightOutputs>('preflight');
  return {
    aws: c.config.aws,
    dns: { domain: c.config.dns.domain, parentZone: c.config.dns.parentZone },
    retention: [c.config.system.retention, ...c.config.tenants.map((t) => t.retention)],
    adminPrincipalArn: preflight.adminPrincipalArn,
    parentZoneId: preflight.parentZoneId ?? null,
  };
}

function caDataOf(kubeconfig: unknown): string {
  try {
    const parsed = JSON.parse(String(kubeconfig)) as { clusters: Array<{ cluster: Record<string, string> }> };
    return parsed.clusters[0]!.cluster['certificate-authority-data']!;
  } catch (err) {
    throw new FailureError('the infra stack returned a kubeconfig lookout cannot read', {
      cause: err,
      hint: 'This is a bug in lookout; please report it.',
    });
  }
}

export function infraUpStep(c: AwsStepContext): Step<InfraStepOutputs> {
  return {
    name: 'infra',
    title: 'Create the network, EKS cluster, buckets and DNS zone',
    inputs: (ctx) => infraInputs(c, ctx),
    async run(ctx) {
      const stack = await openInfraStack(c, 'infra', ctx.outputsOf<PreflightOutputs>('preflight'));
      const totalHint = (await c.expectedCounts)[stackNames(c.name).infra];
      const outputs = (await stack.up({ signal: ctx.signal, ...(totalHint ? { totalHint } : {}) })) as Record<string, any>;
      const { kubeconfig, ...rest } = outputs;
      return { ...(rest as Omit<InfraStepOutputs, 'clusterCertificateAuthority'>), clusterCertificateAuthority: caDataOf(kubeconfig) };
    },
  };
}

/** Writes the kubeconfig (mode 0600). It authenticates through `aws eks get-token`, so it holds no token. */
export function kubeconfigStep(c: AwsStepContext): Step<{ path: string }> {
  return {
    name: 'kubeconfig',
    title: 'Write the kubeconfig',
    alwaysRun: true,
    inputs: (ctx) => ctx.outputsOf<InfraStepOutputs>('infra').clusterEndpoint,
    async run(ctx) {
      const infra = ctx.outputsOf<InfraStepOutputs>('infra');
      const { renderKubeconfig } = await import('@lookout/aws');
      const path = instancePaths(c.name).kubeconfig;
      await writeFileAtomic(
        path,
        renderKubeconfig({
          clusterName: infra.clusterName,
          endpoint: infra.clusterEndpoint,
          certificateAuthorityData: infra.clusterCertificateAuthority,
          region: infra.region,
        }),
        { mode: 0o600 },
      );
      return { path };
    },
  };
}

/** `create` and `upgrade`: everything before the cluster layers. */
export function awsInfraSteps(c: AwsStepContext): Step[] {
  return [preflightStep(c), infraUpStep(c), kubeconfigStep(c)] as Step[];
}

/** `upgrade`: the infra stack's own preview of what applying the config changes. */
export async function previewInfra(c: AwsStepContext, ctx: StepContext): Promise<{ changes: Record<string, number>; diffText?: string }> {
  const stack = await openInfraStack(c, 'confirm', ctx.outputsOf<PreflightOutputs>('preflight'));
  const preview = await stack.preview({ signal: ctx.signal });
  return { changes: preview.changes, ...(preview.diffText ? { diffText: preview.diffText } : {}) };
}
