/**
 * A small Pulumi program built from @lookout/aws: a 2-AZ VPC, an EKS cluster whose admin is
 * the identity running `pulumi up`, encrypted observability buckets, a Pod Identity role for
 * the metrics store, and a hosted zone.
 *
 *   pulumi config set aws:region eu-west-1
 *   pulumi config set apiCidr 203.0.113.0/24
 *   pulumi up
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BucketAccessIdentity, DnsZone, EksCluster, Network, ObservabilityBuckets } from '@lookout/aws';

const config = new pulumi.Config();
const name = 'demo';
const tags = { project: 'observability-demo' };
const provider = new aws.Provider('aws', { region: aws.config.requireRegion(), defaultTags: { tags } });

const identity = aws.getCallerIdentityOutput({}, { provider });
// `aws eks` access entries take the role, not the STS session the CLI runs as.
const admin = aws.iam.getSessionContextOutput({ arn: identity.arn }, { provider }).issuerArn;

const network = new Network(
  'network',
  { availabilityZoneCount: 2, natGateways: 'single', clusterName: name, namePrefix: name, tags },
  { provider },
);

const cluster = new EksCluster(
  'eks',
  {
    clusterName: name,
    kubernetesVersion: '1.34',
    subnetIds: network.privateSubnetIds,
    publicAccessCidrs: [config.require('apiCidr')],
    adminPrincipalArn: admin,
    roleNames: { cluster: `${name}-cluster`, nodes: `${name}-nodes`, ebsCsiDriver: `${name}-ebs-csi` },
    secretsKeyAlias: `alias/${name}-eks-secrets`,
    nodes: {
      nodeGroupName: `${name}-nodes`,
      launchTemplateName: `${name}-nodes`,
      instanceType: 'm7g.large',
      minSize: 2,
      desiredSize: 2,
      maxSize: 4,
      diskGiB: 50,
    },
    tags,
  },
  { provider },
);

const storage = new ObservabilityBuckets(
  'storage',
  {
    bucketNames: {
      metrics: pulumi.interpolate`${name}-metrics-${identity.accountId}`,
      logs: pulumi.interpolate`${name}-logs-${identity.accountId}`,
      rules: pulumi.interpolate`${name}-rules-${identity.accountId}`,
    },
    longestRetentionDays: { metrics: 30, logs: 14 },
    // A demo: let `pulumi destroy` remove the (emptied) buckets and their key.
    retainOnDelete: false,
    tags,
  },
  { provider },
);

const metricsStore = new BucketAccessIdentity(
  'metrics-store',
  {
    roleName: `${name}-metrics-store`,
    clusterName: cluster.clusterName,
    serviceAccount: { namespace: 'monitoring', name: 'cortex' },
    bucketArns: [storage.bucketArns.metrics, storage.bucketArns.rules],
    kmsKeyArn: storage.keyArn,
    tags,
  },
  { provider },
);

const dns = new DnsZone('dns', { domain: config.require('domain'), tags }, { provider });

export const kubeconfig = cluster.kubeconfig;
export const buckets = storage.bucketNames;
export const metricsStoreRoleArn = metricsStore.roleArn;
export const nameServers = dns.nameServers;
