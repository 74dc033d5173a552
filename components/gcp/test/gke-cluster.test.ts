import { describe, expect, it } from 'vitest';
import { DEFAULT_MAINTENANCE_WINDOW, GkeCluster, NODE_SERVICE_ACCOUNT_ROLES, regionOf, type GkeClusterArgs } from '../src/gke-cluster.js';
import { GkeNodePool } from '../src/node-pool.js';
import { PROJECT, PROJECT_NUMBER, keyOf, ofType, oneOf, runWithGcpMocks } from './support.js';

function clusterArgs(overrides: Partial<GkeClusterArgs> = {}): GkeClusterArgs {
  return {
    clusterName: 'acme',
    project: PROJECT,
    location: 'europe-west1',
    version: { releaseChannel: 'REGULAR' },
    network: 'projects/acme-obs/global/networks/acme',
    subnetwork: 'projects/acme-obs/regions/europe-west1/subnetworks/acme-nodes',
    podRangeName: 'pods',
    serviceRangeName: 'services',
    authorizedNetworks: ['203.0.113.0/24', '198.51.100.7/32'],
    secretsKey: { keyRingName: 'acme', keyName: 'gke-secrets' },
    nodeServiceAccountId: 'acme-nodes',
    labels: { owner: 'obs' },
    ...overrides,
  };
}

async function cluster(overrides: Partial<GkeClusterArgs> = {}) {
  return runWithGcpMocks(async () => {
    const c = new GkeCluster('gke', clusterArgs(overrides));
    new GkeNodePool('pool', {
      project: PROJECT,
      cluster: c.clusterName,
      location: c.location,
      nodePoolName: 'acme-nodes',
      machineType: 'e2-standard-4',
      diskSizeGb: 80,
      minNodes: 3,
      maxNodes: 6,
      serviceAccountEmail: c.nodeServiceAccountEmail,
      labels: { owner: 'obs' },
    });
    return { endpoint: c.endpoint, ca: c.certificateAuthorityData, pool: c.workloadPool };
  });
}

describe('GkeCluster and GkeNodePool', () => {
  it('make a private cluster whose control plane only the authorized networks reach', async () => {
    const run = await cluster();
    const gke = oneOf(run.resources, 'gcp:container/cluster:Cluster').inputs;
    expect(gke.privateClusterConfig).toEqual({ enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: '172.16.0.0/28' });
    expect(gke.masterAuthorizedNetworksConfig).toEqual({
      cidrBlocks: [
        { cidrBlock: '203.0.113.0/24', displayName: 'lookout 203.0.113.0/24' },
        { cidrBlock: '198.51.100.7/32', displayName: 'lookout 198.51.100.7/32' },
      ],
      gcpPublicCidrsAccessEnabled: false,
    });
    expect(gke.masterAuth).toEqual({ clientCertificateConfig: { issueClientCertificate: false } });
    expect(gke.enableLegacyAbac).toBe(false);
    expect(run.outputs.endpoint).toMatch(/^https:\/\/34\.\d+\.\d+\.\d+$/);
    expect(Buffer.from(run.outputs.ca, 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('turn on Workload Identity, Dataplane V2, shielded nodes and a maintenance window, and follow the release channel', async () => {
    const run = await cluster();
    const gke = oneOf(run.resources, 'gcp:container/cluster:Cluster').inputs;
    expect(gke.workloadIdentityConfig).toEqual({ workloadPool: 'acme-obs.svc.id.goog' });
    expect(run.outputs.pool).toBe('acme-obs.svc.id.goog');
    expect(gke.datapathProvider).toBe('ADVANCED_DATAPATH');
    // Dataplane V2 enforces NetworkPolicies itself; the Calico addon must stay off.
    expect(gke.networkPolicy).toBeUndefined();
    expect(gke.enableShieldedNodes).toBe(true);
    expect(gke.maintenancePolicy).toEqual({ recurringWindow: DEFAULT_MAINTENANCE_WINDOW });
    expect(gke.releaseChannel).toEqual({ channel: 'REGULAR' });
    expect(gke.minMasterVersion).toBeUndefined();
    expect(gke.removeDefaultNodePool).toBe(true);
    expect(gke.networkingMode).toBe('VPC_NATIVE');
    expect(gke.ipAllocationPolicy).toEqual({ clusterSecondaryRangeName: 'pods', servicesSecondaryRangeName: 'services' });
  });

  it('pin a version with no release channel when asked', async () => {
    const gke = oneOf((await cluster({ version: { kubernetesVersion: '1.34' } })).resources, 'gcp:container/cluster:Cluster').inputs;
    expect(gke.minMasterVersion).toBe('1.34');
    expect(gke.releaseChannel).toEqual({ channel: 'UNSPECIFIED' });
  });

  it('encrypt Kubernetes secrets with their own KMS key, which only GKE’s service agent may use', async () => {
    const run = await cluster();
    const gke = oneOf(run.resources, 'gcp:container/cluster:Cluster');
    const key = oneOf(run.resources, 'gcp:kms/cryptoKey:CryptoKey');
    const keyId = 'projects/acme-obs/locations/europe-west1/keyRings/acme/cryptoKeys/gke-secrets';
    expect(gke.inputs.databaseEncryption).toEqual({ state: 'ENCRYPTED', keyName: keyId });
    expect(key.inputs).toMatchObject({ name: 'gke-secrets', purpose: 'ENCRYPT_DECRYPT', rotationPeriod: '7776000s' });
    expect(oneOf(run.resources, 'gcp:kms/keyRing:KeyRing').inputs).toMatchObject({ name: 'acme', location: 'europe-west1' });
    const access = ofType(run.resources, 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember');
    expect(access.map((a) => a.inputs)).toEqual([
      {
        cryptoKeyId: keyId,
        role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
        member: `serviceAccount:service-${PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com`,
      },
    ]);
    // The cluster waits for that grant: GKE checks the key when it creates the cluster.
    expect(run.options.get(keyOf(gke))!.dependsOn).toContain(keyOf(access[0]!));
    // Key rings and keys cannot be deleted in GCP: the stack lets go of them instead of failing.
    expect(run.options.get(keyOf(key))!.retainOnDelete).toBe(true);
  });

  it('keep deletion protection on unless turned off, which a destroy applies first', async () => {
    expect(oneOf((await cluster()).resources, 'gcp:container/cluster:Cluster').inputs.deletionProtection).toBe(true);
    expect(oneOf((await cluster({ deletionProtection: false })).resources, 'gcp:container/cluster:Cluster').inputs.deletionProtection).toBe(false);
  });

  it('run the nodes as a dedicated account with only the logging and monitoring writer roles', async () => {
    const run = await cluster();
    const account = oneOf(run.resources, 'gcp:serviceaccount/account:Account');
    expect(account.inputs.accountId).toBe('acme-nodes');
    const email = `acme-nodes@${PROJECT}.iam.gserviceaccount.com`;
    const roles = ofType(run.resources, 'gcp:projects/iAMMember:IAMMember').map((m) => m.inputs);
    expect(roles).toEqual(NODE_SERVICE_ACCOUNT_ROLES.map((role) => ({ project: PROJECT, role, member: `serviceAccount:${email}` })));
    const pool = oneOf(run.resources, 'gcp:container/nodePool:NodePool').inputs;
    expect(pool.nodeConfig.serviceAccount).toBe(email);
    // Even the default pool GKE creates before it is removed.
    expect(oneOf(run.resources, 'gcp:container/cluster:Cluster').inputs.nodeConfig.serviceAccount).toBe(email);
  });

  it('give the pool COS with containerd, shielded nodes, the GKE metadata server, autoscaling, auto-repair and auto-upgrade', async () => {
    const run = await cluster();
    const pool = oneOf(run.resources, 'gcp:container/nodePool:NodePool');
    expect(pool.inputs).toMatchObject({
      cluster: 'acme',
      location: 'europe-west1',
      autoscaling: { totalMinNodeCount: 3, totalMaxNodeCount: 6, locationPolicy: 'BALANCED' },
      management: { autoRepair: true, autoUpgrade: true },
      upgradeSettings: { strategy: 'SURGE', maxSurge: 1, maxUnavailable: 0 },
      nodeConfig: {
        machineType: 'e2-standard-4',
        diskType: 'pd-balanced',
        diskSizeGb: 80,
        imageType: 'COS_CONTAINERD',
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        workloadMetadataConfig: { mode: 'GKE_METADATA' },
        resourceLabels: { owner: 'obs' },
      },
    });
    expect(run.options.get(keyOf(pool))!.ignoreChanges).toEqual(['initialNodeCount']);
  });

  it('refuse empty authorized networks, a bad account id, bad labels and bad counts before registering anything', () => {
    expect(() => new GkeCluster('c', clusterArgs({ authorizedNetworks: [] }))).toThrow(/authorizedNetworks is empty/);
    expect(() => new GkeCluster('c', clusterArgs({ nodeServiceAccountId: 'n' }))).toThrow(/nodeServiceAccountId must be 6–30/);
    expect(() => new GkeCluster('c', clusterArgs({ labels: { Owner: 'x' } }))).toThrow(/labels key "Owner"/);
    const pool = { project: PROJECT, cluster: 'c', location: 'europe-west1', nodePoolName: 'p', machineType: 'e2-standard-2', diskSizeGb: 50, serviceAccountEmail: 'e' };
    expect(() => new GkeNodePool('p', { ...pool, minNodes: 4, maxNodes: 3 })).toThrow(/0 ≤ minNodes ≤ maxNodes/);
  });

  it('knows the region of a zone', () => {
    expect(regionOf('europe-west1-b')).toBe('europe-west1');
    expect(regionOf('northamerica-northeast1')).toBe('northamerica-northeast1');
  });
});
