/**
 * An EKS cluster built from plain `@pulumi/aws` resources: access entries instead of the
 * aws-auth ConfigMap, secrets encrypted with a customer managed KMS key, control plane logs
 * with a retention, a managed node group in private subnets behind IMDSv2, and the add-ons
 * it needs to run stateful workloads with EKS Pod Identity.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { createHash } from 'node:crypto';
import { renderKubeconfig } from './kubeconfig.js';
import { awsManagedPolicyArn, podIdentityTrustPolicy, policyJson, serviceTrustPolicy } from './policies.js';
import { withName, type Tags } from './tags.js';

/** Control plane log types sent to CloudWatch: enough to audit who did what, without the noisy scheduler logs. */
export const EKS_CLUSTER_LOG_TYPES = ['api', 'audit', 'authenticator'] as const;
export const DEFAULT_CLUSTER_LOG_RETENTION_DAYS = 90;
export const DEFAULT_EBS_CSI_SERVICE_ACCOUNT = 'ebs-csi-controller-sa';

/** Add-ons whose pods must be able to run before nodes join (DaemonSets and the agent nodes depend on). */
export const PRE_NODE_ADDONS = ['vpc-cni', 'kube-proxy', 'eks-pod-identity-agent'] as const;
/** Add-ons with Deployments, which only become healthy once nodes exist. */
export const POST_NODE_ADDONS = ['coredns', 'aws-ebs-csi-driver'] as const;
export type EksAddonName = (typeof PRE_NODE_ADDONS)[number] | (typeof POST_NODE_ADDONS)[number];

export interface EksNodeGroupArgs {
  nodeGroupName: string;
  launchTemplateName: string;
  /** EC2 instance type, e.g. `m7i.xlarge`; Graviton types (`m7g…`) get the ARM AMI. */
  instanceType: string;
  minSize: number;
  desiredSize: number;
  maxSize: number;
  /** Root volume size in GiB (gp3, encrypted). */
  diskGiB: number;
  /**
   * Leave `desiredSize` to someone else after creation. Default false: Lookout runs no
   * cluster autoscaler and `desiredSize` is a setting users change, so the program owns it.
   * Set true when Cluster Autoscaler or Karpenter scales the group, or every update would
   * reset the count they chose.
   */
  ignoreDesiredSizeChanges?: boolean;
}

export interface EksClusterArgs {
  clusterName: string;
  /** Kubernetes minor version, e.g. `1.34`. */
  kubernetesVersion: string;
  /** Private subnets: they hold the control plane's network interfaces and the nodes. */
  subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /** IPv4 CIDRs allowed to reach the public API endpoint. */
  publicAccessCidrs: string[];
  /** IAM role or user ARN (not an STS session ARN) that becomes cluster admin. */
  adminPrincipalArn: pulumi.Input<string>;
  /** Further admin role/user ARNs; they must differ from `adminPrincipalArn`. */
  extraAdminPrincipalArns?: string[];
  roleNames: { cluster: string; nodes: string; ebsCsiDriver: string };
  /** Alias of the KMS key that encrypts Kubernetes secrets, `alias/…`. */
  secretsKeyAlias: string;
  /** Default `/aws/eks/<cluster>/cluster`, the group EKS writes to. */
  logGroupName?: string;
  logRetentionDays?: number;
  nodes: EksNodeGroupArgs;
  /** Service account of the EBS CSI controller, which gets its IAM role by Pod Identity. */
  ebsCsiServiceAccount?: string;
  tags?: Tags;
}

/** The EKS AMI type for an instance type: Graviton families carry a `g` after the generation digit. */
export function amiTypeFor(instanceType: string): 'AL2023_ARM_64_STANDARD' | 'AL2023_x86_64_STANDARD' {
  const family = instanceType.split('.')[0] ?? '';
  return /^[a-z]+\d+g/.test(family) ? 'AL2023_ARM_64_STANDARD' : 'AL2023_x86_64_STANDARD';
}

/** Stable logical name suffix for a principal, so adding or removing one never renames the others. */
function principalKey(arn: string): string {
  return createHash('sha256').update(arn).digest('hex').slice(0, 8);
}

export class EksCluster extends pulumi.ComponentResource {
  readonly cluster: aws.eks.Cluster;
  readonly clusterName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  readonly certificateAuthorityData: pulumi.Output<string>;
  readonly oidcIssuer: pulumi.Output<string>;
  /** The security group EKS creates for the control plane and attaches to the nodes. */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** The Services' CIDR EKS chose (10.100.0.0/16 or 172.20.0.0/16, whichever the VPC does not overlap). */
  readonly serviceCidr: pulumi.Output<string>;
  readonly clusterRole: aws.iam.Role;
  readonly clusterRoleArn: pulumi.Output<string>;
  readonly nodeRole: aws.iam.Role;
  readonly nodeRoleArn: pulumi.Output<string>;
  readonly ebsCsiRole: aws.iam.Role;
  readonly secretsKey: aws.kms.Key;
  readonly secretsKeyArn: pulumi.Output<string>;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly launchTemplate: aws.ec2.LaunchTemplate;
  readonly nodeGroup: aws.eks.NodeGroup;
  readonly addons: Record<EksAddonName, aws.eks.Addon>;
  readonly ignoresDesiredSizeChanges: boolean;
  /** Kubeconfig (JSON, readable as YAML) using `aws eks get-token`. A secret. */
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before registering, so a bad argument leaves no half-registered component.
    if (args.publicAccessCidrs.length === 0) {
      throw new Error(`EksCluster ${name}: publicAccessCidrs is empty; EKS would open the public endpoint to 0.0.0.0/0`);
    }
    super('lookout:aws:EksCluster', name, {}, opts);
    const parent = { parent: this };
    const tags = args.tags ?? {};
    const partition = aws.getPartitionOutput({}, parent).partition;
    const region = aws.getRegionOutput({}, parent).region;

    // Control plane role.
    this.clusterRole = new aws.iam.Role(
      `${name}-cluster`,
      {
        name: args.roleNames.cluster,
        description: `EKS control plane of ${args.clusterName}`,
        assumeRolePolicy: serviceTrustPolicy('eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']),
        tags,
      },
      parent,
    );
    this.clusterRoleArn = this.clusterRole.arn;
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cluster-eks`,
      { role: this.clusterRole.name, policyArn: awsManagedPolicyArn(partition, 'AmazonEKSClusterPolicy') },
      parent,
    );

    // Envelope encryption of Kubernetes secrets.
    this.secretsKey = new aws.kms.Key(
      `${name}-secrets`,
      {
        description: `Envelope encryption of Kubernetes secrets in EKS cluster ${args.clusterName}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      parent,
    );
    this.secretsKeyArn = this.secretsKey.arn;
    new aws.kms.Alias(`${name}-secrets`, { name: args.secretsKeyAlias, targetKeyId: this.secretsKey.keyId }, parent);
    // The key keeps its default key policy (the account's IAM policies decide), so the control
    // plane gets exactly the key operations envelope encryption needs, on this key only.
    const clusterKeyPolicy = new aws.iam.RolePolicy(
      `${name}-cluster-secrets-key`,
      {
        role: this.clusterRole.name,
        name: 'secrets-encryption',
        policy: policyJson({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'],
              Resource: this.secretsKey.arn,
            },
          ],
        }),
      },
      parent,
    );

    // EKS creates this group on first write, without a retention, unless it already exists.
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-control-plane`,
      {
        name: args.logGroupName ?? `/aws/eks/${args.clusterName}/cluster`,
        retentionInDays: args.logRetentionDays ?? DEFAULT_CLUSTER_LOG_RETENTION_DAYS,
        tags,
      },
      parent,
    );

    this.cluster = new aws.eks.Cluster(
      `${name}-cluster`,
      {
        name: args.clusterName,
        version: args.kubernetesVersion,
        roleArn: this.clusterRole.arn,
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: false },
        // Every add-on is an EKS managed add-on below; the unmanaged defaults would only be
        // overwritten by them.
        bootstrapSelfManagedAddons: false,
        enabledClusterLogTypes: [...EKS_CLUSTER_LOG_TYPES],
        encryptionConfig: { provider: { keyArn: this.secretsKey.arn }, resources: ['secrets'] },
        vpcConfig: {
          subnetIds: args.subnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: true,
          publicAccessCidrs: args.publicAccessCidrs,
        },
        tags,
      },
      { ...parent, dependsOn: [this.logGroup, clusterPolicy, clusterKeyPolicy] },
    );
    this.clusterName = this.cluster.name;
    this.endpoint = this.cluster.endpoint;
    this.certificateAuthorityData = this.cluster.certificateAuthority.data;
    this.oidcIssuer = this.cluster.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? '');
    this.clusterSecurityGroupId = this.cluster.vpcConfig.clusterSecurityGroupId;
    this.serviceCidr = this.cluster.kubernetesNetworkConfig.apply((c) => c.serviceIpv4Cidr);

    // Cluster admins, through access entries.
    const admins: Array<{ key: string; arn: pulumi.Input<string> }> = [
      { key: 'admin', arn: args.adminPrincipalArn },
      ...[...new Set(args.extraAdminPrincipalArns ?? [])].map((arn) => ({ key: `admin-${principalKey(arn)}`, arn })),
    ];
    const adminAssociations = admins.map(({ key, arn }) => {
      const entry = new aws.eks.AccessEntry(
        `${name}-${key}`,
        { clusterName: this.cluster.name, principalArn: arn, type: 'STANDARD', tags },
        parent,
      );
      return new aws.eks.AccessPolicyAssociation(
        `${name}-${key}`,
        {
          clusterName: this.cluster.name,
          principalArn: entry.principalArn,
          policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
          accessScope: { type: 'cluster' },
        },
        parent,
      );
    });

    // Node role. Workloads never use it: they get their own roles through Pod Identity.
    this.nodeRole = new aws.iam.Role(
      `${name}-nodes`,
      {
        name: args.roleNames.nodes,
        description: `Nodes of EKS cluster ${args.clusterName}`,
        assumeRolePolicy: serviceTrustPolicy('ec2.amazonaws.com'),
        tags,
      },
      parent,
    );
    this.nodeRoleArn = this.nodeRole.arn;
    const nodePolicies = ['AmazonEKSWorkerNodePolicy', 'AmazonEC2ContainerRegistryPullOnly', 'AmazonEKS_CNI_Policy'].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-nodes-${policy}`,
          { role: this.nodeRole.name, policyArn: awsManagedPolicyArn(partition, policy) },
          parent,
        ),
    );

    const nodeTags = withName(tags, args.nodes.nodeGroupName);
    // The instance type and disk live in the launch template, so changing them rolls the
    // nodes to a new template version instead of replacing the node group.
    this.launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-nodes`,
      {
        name: args.nodes.launchTemplateName,
        description: `Nodes of EKS cluster ${args.clusterName}`,
        instanceType: args.nodes.instanceType,
        updateDefaultVersion: true,
        metadataOptions: {
          httpEndpoint: 'enabled',
          httpTokens: 'required',
          // One hop: the node itself reaches the metadata service, pods cannot borrow the
          // node role through it (they use Pod Identity).
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: 'disabled',
        },
        blockDeviceMappings: [
          {
            deviceName: '/dev/xvda',
            ebs: {
              volumeSize: args.nodes.diskGiB,
              volumeType: 'gp3',
              encrypted: 'true',
              deleteOnTermination: 'true',
            },
          },
        ],
        tagSpecifications: ['instance', 'volume', 'network-interface'].map((resourceType) => ({ resourceType, tags: nodeTags })),
        tags,
      },
      parent,
    );

    const addonVersion = (addonName: EksAddonName) =>
      aws.eks.getAddonVersionOutput({ addonName, kubernetesVersion: args.kubernetesVersion, mostRecent: true }, parent).version;
    const addon = (addonName: EksAddonName, extra: Partial<aws.eks.AddonArgs>, dependsOn: pulumi.Resource[]) =>
      new aws.eks.Addon(
        `${name}-${addonName}`,
        {
          clusterName: this.cluster.name,
          addonName,
          addonVersion: addonVersion(addonName),
          resolveConflictsOnCreate: 'OVERWRITE',
          resolveConflictsOnUpdate: 'OVERWRITE',
          tags,
          ...extra,
        },
        { ...parent, dependsOn },
      );

    const vpcCni = addon(
      'vpc-cni',
      // Enforces Kubernetes NetworkPolicy, which the platform uses to fence tenants' namespaces.
      { configurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }) },
      [],
    );
    const kubeProxy = addon('kube-proxy', {}, []);
    const podIdentityAgent = addon('eks-pod-identity-agent', {}, []);

    this.ignoresDesiredSizeChanges = args.nodes.ignoreDesiredSizeChanges ?? false;
    this.nodeGroup = new aws.eks.NodeGroup(
      `${name}-nodes`,
      {
        clusterName: this.cluster.name,
        nodeGroupName: args.nodes.nodeGroupName,
        // Follows the control plane: after a version upgrade the nodes roll to the new version.
        version: this.cluster.version,
        nodeRoleArn: this.nodeRole.arn,
        subnetIds: args.subnetIds,
        amiType: amiTypeFor(args.nodes.instanceType),
        capacityType: 'ON_DEMAND',
        scalingConfig: { minSize: args.nodes.minSize, desiredSize: args.nodes.desiredSize, maxSize: args.nodes.maxSize },
        launchTemplate: { id: this.launchTemplate.id, version: this.launchTemplate.latestVersion.apply(String) },
        updateConfig: { maxUnavailable: 1 },
        tags,
      },
      {
        ...parent,
        dependsOn: [...nodePolicies, vpcCni, kubeProxy, podIdentityAgent],
        ignoreChanges: this.ignoresDesiredSizeChanges ? ['scalingConfig.desiredSize'] : [],
        // The name is fixed, so a replacement (AMI type or subnets changed) cannot create the
        // new group next to the old one.
        deleteBeforeReplace: true,
      },
    );

    this.ebsCsiRole = new aws.iam.Role(
      `${name}-ebs-csi-driver`,
      {
        name: args.roleNames.ebsCsiDriver,
        description: `EBS CSI controller of EKS cluster ${args.clusterName} (Pod Identity)`,
        assumeRolePolicy: podIdentityTrustPolicy(),
        tags,
      },
      parent,
    );
    const ebsCsiPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-ebs-csi-driver`,
      { role: this.ebsCsiRole.name, policyArn: awsManagedPolicyArn(partition, 'service-role/AmazonEBSCSIDriverPolicy') },
      parent,
    );
    const coredns = addon('coredns', {}, [this.nodeGroup]);
    const ebsCsi = addon(
      'aws-ebs-csi-driver',
      {
        podIdentityAssociations: [
          { roleArn: this.ebsCsiRole.arn, serviceAccount: args.ebsCsiServiceAccount ?? DEFAULT_EBS_CSI_SERVICE_ACCOUNT },
        ],
      },
      [this.nodeGroup, podIdentityAgent, ebsCsiPolicy],
    );
    this.addons = {
      'vpc-cni': vpcCni,
      'kube-proxy': kubeProxy,
      'eks-pod-identity-agent': podIdentityAgent,
      coredns,
      'aws-ebs-csi-driver': ebsCsi,
    };

    // Waits for the admin access policies: a kubeconfig handed out earlier would be refused.
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([this.cluster.name, this.endpoint, this.certificateAuthorityData, region, ...adminAssociations.map((a) => a.id)])
        .apply(([clusterName, endpoint, certificateAuthorityData, regionName]) =>
          renderKubeconfig({ clusterName, endpoint, certificateAuthorityData, region: regionName }),
        ),
    );

    this.registerOutputs({
      clusterName: this.clusterName,
      endpoint: this.endpoint,
      certificateAuthorityData: this.certificateAuthorityData,
      oidcIssuer: this.oidcIssuer,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      clusterRoleArn: this.clusterRoleArn,
      nodeRoleArn: this.nodeRoleArn,
      secretsKeyArn: this.secretsKeyArn,
      kubeconfig: this.kubeconfig,
    });
  }
}
