/**
 * The `infra` stack of an AWS instance: network, EKS cluster, object storage, the storage
 * identities of the platform's workloads, and the DNS zone. It composes the `@lookout/aws`
 * components; every physical name comes from `awsNames()` so preflight and resumed runs can
 * compute them without asking AWS.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BucketAccessIdentity, DnsZone, EksCluster, Network, ObservabilityBuckets } from '@lookout/aws';
import { longestRetentionDays } from '../../config/retention.js';
import type { LookoutConfig } from '../../config/schema.js';
import { UsageError } from '../../errors.js';
import { WORKLOAD_SERVICE_ACCOUNTS, type BucketPurpose } from '../../naming.js';
import { EBS_CSI_SERVICE_ACCOUNT, TAG_INSTANCE, TAG_MANAGED_BY, accountRegionSuffix, awsNames } from './naming.js';

export const INFRA_AWS_PROJECT = 'lookout-infra-aws';

export interface InfraAwsArgs {
  instance: string;
  /** Validated config; `config.aws` must be present. */
  config: LookoutConfig;
  /**
   * Who becomes cluster admin: the caller's IAM role or user ARN (an assumed-role session ARN
   * is resolved to its role). Default: the identity running the program.
   */
  adminPrincipalArn?: string;
  /** Hosted zone to add the NS delegation to, as resolved by the preflight. */
  parentZoneId?: string;
  /** Further cluster admins (default: `aws.clusterAdmins`); must not repeat the admin principal. */
  extraAdminPrincipalArns?: string[];
}

/** The stack outputs as the CLI reads them back. */
export interface InfraAwsOutputs {
  region: string;
  accountId: string;
  clusterName: string;
  clusterEndpoint: string;
  /** Secret. */
  kubeconfig: string;
  buckets: Record<BucketPurpose, string>;
  storageKeyArn: string;
  zoneId: string;
  nameServers: string[];
  delegated: boolean;
  roleArns: { metricsStore: string; ruler: string; alertmanager: string; logStore: string; nodes: string; cluster: string };
  /** The cluster's own networks: the VPC (nodes, and pods with the VPC CNI) and the Services' CIDR. */
  clusterCidrs: string[];
  vpcId: string;
  privateSubnetIds: string[];
  publicSubnetIds: string[];
}

/** What the program returns: each output, still to be resolved. */
export type InfraAwsProgramOutputs = { [K in keyof InfraAwsOutputs]: pulumi.Output<InfraAwsOutputs[K]> };

export { longestRetentionDays } from '../../config/retention.js';

export function instanceTags(instance: string): Record<string, string> {
  return { [TAG_INSTANCE]: instance, [TAG_MANAGED_BY]: 'lookout' };
}

export function infraAwsProgram(args: InfraAwsArgs): () => Promise<InfraAwsProgramOutputs> {
  const awsConfig = args.config.aws;
  if (!awsConfig) {
    throw new UsageError(`instance "${args.instance}" has no \`aws\` section in its config`, {
      hint: 'Add an `aws:` section with at least `region` and `apiAllowedCidrs`.',
    });
  }
  return async () => {
    const names = awsNames(args.instance);
    const tags = instanceTags(args.instance);
    const region = awsConfig.region;
    // Default tags reach resources the components do not tag themselves (for example ENIs
    // that services create on our behalf); the components also tag explicitly.
    const provider = new aws.Provider('aws', { region, defaultTags: { tags } });
    const opts = { provider };

    const identity = aws.getCallerIdentityOutput({}, opts);
    const accountId = identity.accountId;
    const adminPrincipalArn = aws.iam.getSessionContextOutput({ arn: args.adminPrincipalArn ?? identity.arn }, opts).issuerArn;

    const network = new Network(
      'network',
      {
        availabilityZoneCount: awsConfig.availabilityZones,
        natGateways: awsConfig.natGateways,
        clusterName: names.clusterName,
        namePrefix: names.clusterName,
        tags,
      },
      opts,
    );

    const cluster = new EksCluster(
      'eks',
      {
        clusterName: names.clusterName,
        kubernetesVersion: awsConfig.kubernetesVersion,
        subnetIds: network.privateSubnetIds,
        publicAccessCidrs: awsConfig.apiAllowedCidrs,
        adminPrincipalArn,
        extraAdminPrincipalArns: args.extraAdminPrincipalArns ?? awsConfig.clusterAdmins,
        roleNames: {
          cluster: names.roleName('cluster'),
          nodes: names.roleName('nodes'),
          ebsCsiDriver: names.roleName('ebs-csi-driver'),
        },
        secretsKeyAlias: names.kmsAlias,
        logGroupName: names.clusterLogGroup,
        nodes: {
          nodeGroupName: names.nodeGroupName,
          launchTemplateName: names.launchTemplateName,
          instanceType: awsConfig.nodes.instanceType,
          minSize: awsConfig.nodes.min,
          desiredSize: awsConfig.nodes.desired,
          maxSize: awsConfig.nodes.max,
          diskGiB: awsConfig.nodes.diskGiB,
          // The bundle runs no cluster autoscaler, and `nodes.desired` is a config field
          // that `upgrade` must apply.
          ignoreDesiredSizeChanges: false,
        },
        ebsCsiServiceAccount: EBS_CSI_SERVICE_ACCOUNT.name,
        tags,
      },
      opts,
    );

    const bucketName = (purpose: BucketPurpose) =>
      accountId.apply((account) => names.bucketName(purpose, accountRegionSuffix(account, region)));
    const storage = new ObservabilityBuckets(
      'storage',
      {
        bucketNames: { metrics: bucketName('metrics'), logs: bucketName('logs'), rules: bucketName('rules') },
        longestRetentionDays: longestRetentionDays(args.config),
        tags,
      },
      opts,
    );

    // IRSA for the metrics store only (see BucketAccessIdentityArgs.webIdentity): the OIDC
    // provider lets the cluster's service account tokens be exchanged for that one role.
    const oidcProvider = new aws.iam.OpenIdConnectProvider(
      'cluster-oidc',
      { url: cluster.oidcIssuer, clientIdLists: ['sts.amazonaws.com'], tags },
      opts,
    );
    // Cortex's blocks workloads get the metrics bucket; its ruler and Alertmanager (whose
    // receivers call URLs tenants choose) a role each, on the rules bucket only.
    const cortexIdentity = (name: 'metrics-store' | 'ruler' | 'alertmanager', serviceAccount: { namespace: string; name: string }, bucketArn: pulumi.Output<string>) =>
      new BucketAccessIdentity(
        name,
        {
          webIdentity: { providerArn: oidcProvider.arn, issuerUrl: cluster.oidcIssuer },
          roleName: names.roleName(name),
          clusterName: cluster.clusterName,
          serviceAccount,
          bucketArns: [bucketArn],
          kmsKeyArn: storage.keyArn,
          tags,
        },
        opts,
      );
    const metricsStore = cortexIdentity('metrics-store', WORKLOAD_SERVICE_ACCOUNTS.metricsStore, storage.bucketArns.metrics);
    const ruler = cortexIdentity('ruler', WORKLOAD_SERVICE_ACCOUNTS.ruler, storage.bucketArns.rules);
    const alertmanager = cortexIdentity('alertmanager', WORKLOAD_SERVICE_ACCOUNTS.alertmanager, storage.bucketArns.rules);
    const logStore = new BucketAccessIdentity(
      'log-store',
      {
        roleName: names.roleName('log-store'),
        clusterName: cluster.clusterName,
        serviceAccount: WORKLOAD_SERVICE_ACCOUNTS.logStore,
        bucketArns: [storage.bucketArns.logs],
        kmsKeyArn: storage.keyArn,
        tags,
      },
      opts,
    );

    const dns = new DnsZone(
      'dns',
      {
        domain: args.config.dns.domain,
        ...(args.parentZoneId === undefined ? {} : { parentZoneId: args.parentZoneId }),
        comment: `Lookout instance ${args.instance}`,
        tags,
      },
      opts,
    );

    return {
      region: pulumi.output(region),
      accountId,
      clusterName: cluster.clusterName,
      clusterEndpoint: cluster.endpoint,
      kubeconfig: cluster.kubeconfig,
      buckets: storage.bucketNames,
      storageKeyArn: storage.keyArn,
      zoneId: dns.zoneId,
      nameServers: dns.nameServers,
      delegated: pulumi.output(dns.delegated),
      roleArns: pulumi
        .all([metricsStore.roleArn, ruler.roleArn, alertmanager.roleArn, logStore.roleArn, cluster.nodeRoleArn, cluster.clusterRoleArn])
        .apply(([metricsStoreArn, rulerArn, alertmanagerArn, logStoreArn, nodes, clusterArn]) => ({
          metricsStore: metricsStoreArn,
          ruler: rulerArn,
          alertmanager: alertmanagerArn,
          logStore: logStoreArn,
          nodes,
          cluster: clusterArn,
        })),
      clusterCidrs: pulumi.all([network.vpcCidr, cluster.serviceCidr]).apply((cidrs) => cidrs),
      vpcId: network.vpcId,
      privateSubnetIds: network.privateSubnetIds,
      publicSubnetIds: network.publicSubnetIds,
    };
  };
}
