/**
 * A Google service account for one Kubernetes service account through Workload Identity: the
 * Kubernetes account (and no other) may act as it, and it may read and write the objects of
 * the given buckets only. No project-level role, no key.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';

/** The role on each bucket: objects only, not the bucket's own settings or IAM. */
export const BUCKET_ROLE = 'roles/storage.objectAdmin';

export interface BucketAccessIdentityArgs {
  project: string;
  /** 6–30 characters: lowercase letters, digits and `-`, starting with a letter. */
  accountId: string;
  /** `<project>.svc.id.goog` ({@link GkeCluster.workloadPool}). */
  workloadPool: pulumi.Input<string>;
  serviceAccount: { namespace: string; name: string };
  bucketNames: pulumi.Input<string>[];
}

/** The Workload Identity member of one Kubernetes service account. */
export function workloadIdentityMember(workloadPool: string, serviceAccount: { namespace: string; name: string }): string {
  return `serviceAccount:${workloadPool}[${serviceAccount.namespace}/${serviceAccount.name}]`;
}

export class BucketAccessIdentity extends pulumi.ComponentResource {
  readonly account: gcp.serviceaccount.Account;
  readonly email: pulumi.Output<string>;
  /** The annotation that makes the Kubernetes service account act as this one. */
  readonly serviceAccountAnnotations: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: BucketAccessIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(args.accountId)) {
      throw new Error(`BucketAccessIdentity ${name}: accountId must be 6–30 lowercase letters, digits or -, starting with a letter, not "${args.accountId}"`);
    }
    if (args.bucketNames.length === 0) throw new Error(`BucketAccessIdentity ${name}: bucketNames is empty`);
    super('lookout:gcp:BucketAccessIdentity', name, {}, opts);
    const parent = { parent: this };
    this.account = new gcp.serviceaccount.Account(
      name,
      {
        project: args.project,
        accountId: args.accountId,
        displayName: `${args.serviceAccount.namespace}/${args.serviceAccount.name} (Workload Identity)`,
      },
      parent,
    );
    this.email = this.account.email;
    // Authoritative for the role: exactly this Kubernetes service account may act as the account.
    new gcp.serviceaccount.IAMBinding(
      `${name}-workload-identity`,
      {
        serviceAccountId: this.account.name,
        role: 'roles/iam.workloadIdentityUser',
        members: [pulumi.output(args.workloadPool).apply((pool) => workloadIdentityMember(pool, args.serviceAccount))],
      },
      parent,
    );
    args.bucketNames.forEach(
      (bucket, i) =>
        new gcp.storage.BucketIAMMember(
          `${name}-bucket-${i}`,
          { bucket, role: BUCKET_ROLE, member: pulumi.interpolate`serviceAccount:${this.account.email}` },
          parent,
        ),
    );
    this.serviceAccountAnnotations = this.email.apply((email): Record<string, string> => ({ 'iam.gke.io/gcp-service-account': email }));
    this.registerOutputs({ email: this.email });
  }
}
