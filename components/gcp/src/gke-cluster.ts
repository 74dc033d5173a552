/**
 * A private GKE cluster from plain `@pulumi/gcp` resources: nodes without public addresses,
 * a control plane reachable only from the authorized networks, Workload Identity, Dataplane V2
 * (so NetworkPolicies are enforced), shielded nodes, Kubernetes secrets encrypted with a Cloud
 * KMS key (application-layer encryption), a maintenance window, and deletion protection that
 * the owner turns off (and applies) before a destroy. The default node pool is removed: nodes
 * come from {@link GkeNodePool}, run as the dedicated service account made here.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { checkLabels, type Labels } from './labels.js';

/** GKE release channels; `UNSPECIFIED` is "no channel", for a pinned version. */
export const RELEASE_CHANNELS = ['RAPID', 'REGULAR', 'STABLE', 'EXTENDED'] as const;
export type ReleaseChannel = (typeof RELEASE_CHANNELS)[number];

/** Project roles of the nodes' account: write their logs and metrics, nothing else (not the default compute account's Editor). */
export const NODE_SERVICE_ACCOUNT_ROLES = ['roles/logging.logWriter', 'roles/monitoring.metricWriter'] as const;

/** The CIDR of the control plane's private endpoint peering (a /28 outside the network's ranges). */
export const DEFAULT_MASTER_CIDR = '172.16.0.0/28';

/** Saturday and Sunday 02:00–08:00 UTC: GKE wants at least 48 hours of windows in any 32 days. */
export const DEFAULT_MAINTENANCE_WINDOW = {
  startTime: '2026-01-03T02:00:00Z',
  endTime: '2026-01-03T08:00:00Z',
  recurrence: 'FREQ=WEEKLY;BYDAY=SA,SU',
} as const;

/** Rotate the secrets key every 90 days; old versions stay to decrypt what they encrypted. */
export const SECRETS_KEY_ROTATION = '7776000s';

export interface GkeClusterArgs {
  clusterName: string;
  project: string;
  /** A region (regional cluster: control plane and nodes in three zones) or a zone (zonal, cheaper). */
  location: string;
  /** Either a pinned minor version (no release channel) or a release channel GKE upgrades along. */
  version: { kubernetesVersion: string } | { releaseChannel: ReleaseChannel };
  network: pulumi.Input<string>;
  subnetwork: pulumi.Input<string>;
  podRangeName: string;
  serviceRangeName: string;
  /** IPv4 CIDRs allowed to reach the control plane's public endpoint; must not be empty. */
  authorizedNetworks: string[];
  masterIpv4CidrBlock?: string;
  /**
   * The KMS key ring and key that encrypt Kubernetes secrets, in the cluster's region: created
   * here, or adopted (imported) where `existing` says they exist already. GCP never deletes key
   * rings and keys, so a cluster made again under the same names finds its predecessor's.
   */
  secretsKey: { keyRingName: string; keyName: string; existing?: { keyRing: boolean; key: boolean } };
  /** Account id (6–30 characters) of the nodes' dedicated service account. */
  nodeServiceAccountId: string;
  /** Default {@link DEFAULT_MAINTENANCE_WINDOW}. */
  maintenanceWindow?: { startTime: string; endTime: string; recurrence: string };
  /** Default true. Set false, and apply, before deleting the cluster: GKE refuses otherwise. */
  deletionProtection?: boolean;
  labels?: Labels;
}

/** The region of a location: `europe-west1-b` → `europe-west1`; a region is its own. */
export function regionOf(location: string): string {
  return /^[a-z]+-[a-z]+\d+-[a-z]$/.test(location) ? location.slice(0, -2) : location;
}

export class GkeCluster extends pulumi.ComponentResource {
  readonly cluster: gcp.container.Cluster;
  readonly clusterName: pulumi.Output<string>;
  readonly location: string;
  /** `https://<address>` of the public endpoint. */
  readonly endpoint: pulumi.Output<string>;
  /** Base64 PEM of the cluster CA. */
  readonly certificateAuthorityData: pulumi.Output<string>;
  /** `<project>.svc.id.goog`: the identity namespace Kubernetes service accounts are members of. */
  readonly workloadPool: string;
  readonly keyRing: gcp.kms.KeyRing;
  readonly secretsKey: gcp.kms.CryptoKey;
  readonly secretsKeyId: pulumi.Output<string>;
  readonly nodeServiceAccount: gcp.serviceaccount.Account;
  readonly nodeServiceAccountEmail: pulumi.Output<string>;
  readonly deletionProtection: boolean;
  /** The Services' CIDR the cluster uses (its secondary range). */
  readonly servicesCidr: pulumi.Output<string>;
  /** The pods' CIDR the cluster uses. */
  readonly podsCidr: pulumi.Output<string>;

  constructor(name: string, args: GkeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.authorizedNetworks.length === 0) {
      throw new Error(`GkeCluster ${name}: authorizedNetworks is empty; list the networks that may reach the control plane`);
    }
    if (!/^[a-z]([-a-z0-9]{4,28})[a-z0-9]$/.test(args.nodeServiceAccountId)) {
      throw new Error(`GkeCluster ${name}: nodeServiceAccountId must be 6–30 lowercase letters, digits or -, not "${args.nodeServiceAccountId}"`);
    }
    const labels = checkLabels(`GkeCluster ${name}`, args.labels);
    super('lookout:gcp:GkeCluster', name, {}, opts);
    const parent = { parent: this };
    this.location = args.location;
    this.workloadPool = `${args.project}.svc.id.goog`;
    this.deletionProtection = args.deletionProtection ?? true;
    const region = regionOf(args.location);

    this.nodeServiceAccount = new gcp.serviceaccount.Account(
      `${name}-nodes`,
      { project: args.project, accountId: args.nodeServiceAccountId, displayName: `GKE nodes of ${args.clusterName}` },
      parent,
    );
    this.nodeServiceAccountEmail = this.nodeServiceAccount.email;
    const nodeRoles = NODE_SERVICE_ACCOUNT_ROLES.map(
      (role) =>
        // Project level: GKE's logging and monitoring agents write to the project, and these roles have no narrower resource.
        new gcp.projects.IAMMember(
          `${name}-nodes-${role.split('.').pop()}`,
          { project: args.project, role, member: pulumi.interpolate`serviceAccount:${this.nodeServiceAccount.email}` },
          parent,
        ),
    );

    // Key rings and keys cannot be deleted in GCP; they are kept in the project when the stack goes.
    const keyRingId = `projects/${args.project}/locations/${region}/keyRings/${args.secretsKey.keyRingName}`;
    const existing = args.secretsKey.existing;
    // `import` only acts when the resource is not in the stack's state yet; later runs manage it as usual.
    this.keyRing = new gcp.kms.KeyRing(
      `${name}-secrets`,
      { project: args.project, name: args.secretsKey.keyRingName, location: region },
      { ...parent, retainOnDelete: true, ...(existing?.keyRing ? { import: keyRingId } : {}) },
    );
    this.secretsKey = new gcp.kms.CryptoKey(
      `${name}-secrets`,
      { name: args.secretsKey.keyName, keyRing: this.keyRing.id, purpose: 'ENCRYPT_DECRYPT', rotationPeriod: SECRETS_KEY_ROTATION, labels: { ...labels } },
      { ...parent, retainOnDelete: true, ...(existing?.key ? { import: `${keyRingId}/cryptoKeys/${args.secretsKey.keyName}` } : {}) },
    );
    this.secretsKeyId = this.secretsKey.id;
    // GKE's service agent encrypts and decrypts with this one key.
    const projectNumber = gcp.organizations.getProjectOutput({ projectId: args.project }, parent).number;
    const keyAccess = new gcp.kms.CryptoKeyIAMMember(
      `${name}-secrets-gke`,
      {
        cryptoKeyId: this.secretsKey.id,
        role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
        member: pulumi.interpolate`serviceAccount:service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
      },
      parent,
    );

    const version = 'kubernetesVersion' in args.version ? args.version : undefined;
    this.cluster = new gcp.container.Cluster(
      name,
      {
        project: args.project,
        name: args.clusterName,
        location: args.location,
        network: args.network,
        subnetwork: args.subnetwork,
        networkingMode: 'VPC_NATIVE',
        ipAllocationPolicy: { clusterSecondaryRangeName: args.podRangeName, servicesSecondaryRangeName: args.serviceRangeName },
        // Nodes come from GkeNodePool; the pool GKE must create first is removed once the cluster exists.
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        // The temporary default pool runs as the dedicated account too, never as the Editor-holding default one.
        nodeConfig: {
          serviceAccount: this.nodeServiceAccount.email,
          oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'],
          shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
          workloadMetadataConfig: { mode: 'GKE_METADATA' },
        },
        ...(version
          ? { minMasterVersion: version.kubernetesVersion, releaseChannel: { channel: 'UNSPECIFIED' } }
          : { releaseChannel: { channel: (args.version as { releaseChannel: ReleaseChannel }).releaseChannel } }),
        privateClusterConfig: {
          enablePrivateNodes: true,
          // The public endpoint stays, limited to the authorized networks, so lookout can reach it from outside.
          enablePrivateEndpoint: false,
          masterIpv4CidrBlock: args.masterIpv4CidrBlock ?? DEFAULT_MASTER_CIDR,
        },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: args.authorizedNetworks.map((cidrBlock) => ({ cidrBlock, displayName: `lookout ${cidrBlock}` })),
          // Not every Google Cloud address: only the networks listed.
          gcpPublicCidrsAccessEnabled: false,
        },
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        enableLegacyAbac: false,
        workloadIdentityConfig: { workloadPool: this.workloadPool },
        datapathProvider: 'ADVANCED_DATAPATH',
        enableShieldedNodes: true,
        databaseEncryption: { state: 'ENCRYPTED', keyName: this.secretsKey.id },
        maintenancePolicy: { recurringWindow: { ...(args.maintenanceWindow ?? DEFAULT_MAINTENANCE_WINDOW) } },
        addonsConfig: { gcePersistentDiskCsiDriverConfig: { enabled: true }, httpLoadBalancing: { disabled: false } },
        deletionProtection: this.deletionProtection,
        resourceLabels: { ...labels },
      },
      { ...parent, dependsOn: [keyAccess, ...nodeRoles], ignoreChanges: ['nodeConfig', 'initialNodeCount'] },
    );
    this.clusterName = this.cluster.name;
    this.endpoint = pulumi.interpolate`https://${this.cluster.endpoint}`;
    this.certificateAuthorityData = this.cluster.masterAuth.clusterCaCertificate.apply((ca) => ca ?? '');
    this.servicesCidr = this.cluster.ipAllocationPolicy.servicesIpv4CidrBlock;
    this.podsCidr = this.cluster.clusterIpv4Cidr;
    this.registerOutputs({ clusterName: this.clusterName, endpoint: this.endpoint, nodeServiceAccountEmail: this.nodeServiceAccountEmail });
  }
}
