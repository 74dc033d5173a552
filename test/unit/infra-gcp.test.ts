/**
 * The GCP infra stack program, run for real under the GCP mocks, for both examples: the
 * resource graph, and the security properties the issue asks of it (private nodes, the control
 * plane only from the configured networks, Workload Identity bound to exactly one Kubernetes
 * service account per Google one, no project-level storage role, bucket access on the store's
 * own buckets only, public access prevention, KMS secrets encryption, deletion protection, and
 * the instance label on every labelable resource). Then the platform stack on those outputs:
 * the stores' GCS configs and Workload Identity annotations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { countByType, labelFieldOf, ofType, oneOf, runWithGcpMocks, type MockRun } from '../../components/gcp/test/support.js';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';
import { WORKLOAD_SERVICE_ACCOUNTS } from '../../src/naming.js';
import { buildPlanWithResources } from '../../src/plan/plan.js';
import { INFRA_GCP_PROJECT, infraGcpProgram, type InfraGcpArgs, type InfraGcpProgramOutputs } from '../../src/providers/gcp/infra-stack.js';
import { LABEL_INSTANCE, instanceBucketNames } from '../../src/providers/gcp/naming.js';

const examples = new URL('../../examples/', import.meta.url).pathname;
let regional: ResolvedConfig;
let zonal: ResolvedConfig;
beforeAll(async () => {
  regional = await loadConfig(`${examples}gcp.yaml`, { provider: 'gcp', name: 'prod' });
  zonal = await loadConfig(`${examples}gcp-small.yaml`, { provider: 'gcp', name: 'demo' });
});

type Run = MockRun<InfraGcpProgramOutputs>;
async function infra(config: ResolvedConfig, extra: Partial<InfraGcpArgs> = {}): Promise<Run> {
  return runWithGcpMocks(infraGcpProgram({ instance: config.name, config, ...extra }), {
    project: config.gcp!.project,
    region: config.gcp!.region,
    stack: `${config.name}-infra`,
  });
}

const gcpResources = (run: Run) => run.resources.filter((r) => r.custom && r.type.startsWith('gcp:'));

describe('GCP infra stack', () => {
  it.each([
    ['examples/gcp.yaml (regional)', () => regional],
    ['examples/gcp-small.yaml (zonal)', () => zonal],
  ])('registers the same resources for %s: a count per type', async (_name, config) => {
    const run = await infra(config());
    expect(countByType(gcpResources(run))).toEqual({
      'gcp:compute/network:Network': 1,
      'gcp:compute/subnetwork:Subnetwork': 1,
      'gcp:compute/router:Router': 1,
      'gcp:compute/routerNat:RouterNat': 1,
      'gcp:serviceaccount/account:Account': 5,
      'gcp:projects/iAMMember:IAMMember': 2,
      'gcp:kms/keyRing:KeyRing': 1,
      'gcp:kms/cryptoKey:CryptoKey': 1,
      'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember': 1,
      'gcp:container/cluster:Cluster': 1,
      'gcp:container/nodePool:NodePool': 1,
      'gcp:storage/bucket:Bucket': 3,
      'gcp:serviceaccount/iAMBinding:IAMBinding': 4,
      'gcp:storage/bucketIAMMember:BucketIAMMember': 4,
      'gcp:dns/managedZone:ManagedZone': 1,
    });
  });

  it('puts a zonal cluster in its zone and a regional one in the region, with the configured version', async () => {
    const r = oneOf((await infra(regional)).resources, 'gcp:container/cluster:Cluster').inputs;
    const z = oneOf((await infra(zonal)).resources, 'gcp:container/cluster:Cluster').inputs;
    expect([r.location, r.releaseChannel, r.minMasterVersion]).toEqual(['europe-west1', { channel: 'REGULAR' }, undefined]);
    expect([z.location, z.releaseChannel, z.minMasterVersion]).toEqual(['europe-west1-b', { channel: 'UNSPECIFIED' }, '1.34']);
    const pool = oneOf((await infra(zonal)).resources, 'gcp:container/nodePool:NodePool').inputs;
    expect(pool).toMatchObject({ location: 'europe-west1-b', autoscaling: { totalMinNodeCount: 2, totalMaxNodeCount: 3 }, initialNodeCount: 2 });
    expect(pool.nodeConfig).toMatchObject({ machineType: 'e2-standard-2', diskSizeGb: 50 });
  });

  it('keeps the nodes private and the control plane reachable only from apiAllowedCidrs', async () => {
    const cluster = oneOf((await infra(regional)).resources, 'gcp:container/cluster:Cluster').inputs;
    expect(cluster.privateClusterConfig.enablePrivateNodes).toBe(true);
    expect(cluster.masterAuthorizedNetworksConfig.cidrBlocks.map((b: { cidrBlock: string }) => b.cidrBlock)).toEqual(regional.gcp!.apiAllowedCidrs);
    expect(cluster.masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled).toBe(false);
  });

  it('turns Workload Identity on and binds each Google service account to exactly its one Kubernetes service account', async () => {
    const run = await infra(regional);
    expect(oneOf(run.resources, 'gcp:container/cluster:Cluster').inputs.workloadIdentityConfig).toEqual({ workloadPool: 'acme-observability.svc.id.goog' });
    const accounts = ofType(run.resources, 'gcp:serviceaccount/account:Account').map((a) => a.inputs.accountId);
    const bindings = ofType(run.resources, 'gcp:serviceaccount/iAMBinding:IAMBinding').map((b) => b.inputs);
    const expected = {
      'lk-prod-cortex': WORKLOAD_SERVICE_ACCOUNTS.metricsStore,
      'lk-prod-ruler': WORKLOAD_SERVICE_ACCOUNTS.ruler,
      'lk-prod-am': WORKLOAD_SERVICE_ACCOUNTS.alertmanager,
      'lk-prod-loki': WORKLOAD_SERVICE_ACCOUNTS.logStore,
    };
    expect(accounts.sort()).toEqual([...Object.keys(expected), 'lk-prod-nodes'].sort());
    expect(bindings).toHaveLength(4);
    for (const [accountId, ksa] of Object.entries(expected)) {
      const binding = bindings.filter((b) => b.serviceAccountId.endsWith(`/${accountId}@acme-observability.iam.gserviceaccount.com`));
      expect(binding.map((b) => [b.role, b.members])).toEqual([
        ['roles/iam.workloadIdentityUser', [`serviceAccount:acme-observability.svc.id.goog[${ksa.namespace}/${ksa.name}]`]],
      ]);
    }
  });

  it('grants no project-level storage role, and each store object access to its own buckets only', async () => {
    const run = await infra(regional);
    expect(ofType(run.resources, 'gcp:projects/iAMMember:IAMMember').map((m) => m.inputs.role)).toEqual([
      'roles/logging.logWriter',
      'roles/monitoring.metricWriter',
    ]);
    const buckets = instanceBucketNames('prod', 'acme-observability', 'europe-west1');
    const grants = ofType(run.resources, 'gcp:storage/bucketIAMMember:BucketIAMMember').map((g) => [g.inputs.member.split(':')[1].split('@')[0], g.inputs.bucket, g.inputs.role]);
    expect(grants.sort()).toEqual(
      [
        ['lk-prod-am', buckets.rules, 'roles/storage.objectAdmin'],
        ['lk-prod-cortex', buckets.metrics, 'roles/storage.objectAdmin'],
        ['lk-prod-loki', buckets.logs, 'roles/storage.objectAdmin'],
        ['lk-prod-ruler', buckets.rules, 'roles/storage.objectAdmin'],
      ].sort(),
    );
    // Nothing else holds IAM: no bucket-level or project-level policy resources besides these.
    expect(run.resources.filter((r) => /IAM(Policy|Binding|Member)$/.test(r.type)).map((r) => r.type).sort()).toEqual(
      [...Array(2).fill('gcp:projects/iAMMember:IAMMember'), 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember', ...Array(4).fill('gcp:serviceaccount/iAMBinding:IAMBinding'), ...Array(4).fill('gcp:storage/bucketIAMMember:BucketIAMMember')].sort(),
    );
  });

  it('enforces public access prevention and uniform access on every bucket, and keeps them on delete', async () => {
    const run = await infra(regional);
    const buckets = ofType(run.resources, 'gcp:storage/bucket:Bucket');
    expect(buckets).toHaveLength(3);
    for (const b of buckets) {
      expect([b.inputs.publicAccessPrevention, b.inputs.uniformBucketLevelAccess, b.inputs.forceDestroy]).toEqual(['enforced', true, false]);
      expect(run.options.get(`${b.type}::${b.name}`)!.retainOnDelete).toBe(true);
    }
  });

  it('encrypts Kubernetes secrets with the instance’s KMS key', async () => {
    const run = await infra(regional);
    const key = oneOf(run.resources, 'gcp:kms/cryptoKey:CryptoKey');
    expect(oneOf(run.resources, 'gcp:container/cluster:Cluster').inputs.databaseEncryption).toEqual({
      state: 'ENCRYPTED',
      keyName: `projects/acme-observability/locations/europe-west1/keyRings/lookout-prod/cryptoKeys/${key.inputs.name}`,
    });
    expect(run.outputs.secretsKeyId).toBe('projects/acme-observability/locations/europe-west1/keyRings/lookout-prod/cryptoKeys/gke-secrets');
  });

  it('adopts (imports) the key ring and key an earlier instance of the name left, since GCP never deletes them; creates them otherwise', async () => {
    const ring = 'projects/acme-observability/locations/europe-west1/keyRings/lookout-prod';
    const importOf = (run: Run, type: string) => {
      const r = oneOf(run.resources, type);
      return run.options.get(`${r.type}::${r.name}`)!.import;
    };
    const fresh = await infra(regional);
    expect(importOf(fresh, 'gcp:kms/keyRing:KeyRing')).toBeUndefined();
    expect(importOf(fresh, 'gcp:kms/cryptoKey:CryptoKey')).toBeUndefined();
    const both = await infra(regional, { existingSecretsKey: { keyRing: true, key: true } });
    expect(importOf(both, 'gcp:kms/keyRing:KeyRing')).toBe(ring);
    expect(importOf(both, 'gcp:kms/cryptoKey:CryptoKey')).toBe(`${ring}/cryptoKeys/gke-secrets`);
    // The cluster still encrypts with that same key.
    expect(oneOf(both.resources, 'gcp:container/cluster:Cluster').inputs.databaseEncryption.keyName).toBe(`${ring}/cryptoKeys/gke-secrets`);
    const ringOnly = await infra(regional, { existingSecretsKey: { keyRing: true, key: false } });
    expect(importOf(ringOnly, 'gcp:kms/keyRing:KeyRing')).toBe(ring);
    expect(importOf(ringOnly, 'gcp:kms/cryptoKey:CryptoKey')).toBeUndefined();
  });

  it('protects the cluster from deletion while the instance lives, and lets destroy turn it off', async () => {
    const on = await infra(regional);
    expect(oneOf(on.resources, 'gcp:container/cluster:Cluster').inputs.deletionProtection).toBe(true);
    expect(on.outputs.deletionProtection).toBe(true);
    const off = await infra(regional, { deletionProtection: false });
    expect(oneOf(off.resources, 'gcp:container/cluster:Cluster').inputs.deletionProtection).toBe(false);
  });

  it('labels every labelable resource with the instance, as the @pulumi/gcp type definitions say which are', async () => {
    const run = await infra(regional);
    const labelable = gcpResources(run).filter((r) => labelFieldOf(r.type) !== undefined);
    // The check sees labelable types at all (buckets, the cluster, the key, the zone) and unlabelable ones.
    expect(new Set(labelable.map((r) => r.type))).toEqual(
      new Set(['gcp:storage/bucket:Bucket', 'gcp:container/cluster:Cluster', 'gcp:kms/cryptoKey:CryptoKey', 'gcp:dns/managedZone:ManagedZone']),
    );
    expect(labelFieldOf('gcp:serviceaccount/account:Account')).toBeUndefined();
    for (const r of labelable) expect(r.inputs[labelFieldOf(r.type)!], `${r.type} ${r.name}`).toMatchObject({ [LABEL_INSTANCE]: 'prod' });
    // The node VMs and disks, through the pool's nodeConfig, and the provider's default labels for anything else.
    expect(oneOf(run.resources, 'gcp:container/nodePool:NodePool').inputs.nodeConfig.resourceLabels).toEqual({ [LABEL_INSTANCE]: 'prod' });
    expect(oneOf(run.resources, 'pulumi:providers:gcp').inputs.defaultLabels).toBe(JSON.stringify({ [LABEL_INSTANCE]: 'prod' }));
  });

  it('delegates from a parent zone in the project only when the config names one', async () => {
    expect(ofType((await infra(regional)).resources, 'gcp:dns/recordSet:RecordSet')).toEqual([]);
    const delegated = await infra(regional, { parentZoneName: 'example-com' });
    expect(oneOf(delegated.resources, 'gcp:dns/recordSet:RecordSet').inputs).toMatchObject({ managedZone: 'example-com', name: 'obs.example.com.', type: 'NS' });
    expect(delegated.outputs.delegated).toBe(true);
  });
});

describe('the platform stack with GCP settings', () => {
  it('gives Cortex and Loki GCS backends on the instance buckets, and their service accounts the Workload Identity annotations', async () => {
    const { runs } = await buildPlanWithResources(regional);
    const platform = runs.find((r) => r.layer === 'platform')!.resources;
    const buckets = instanceBucketNames('prod', 'acme-observability', 'europe-west1');
    const configMap = (name: string) => platform.find((r) => r.type === 'kubernetes:core/v1:ConfigMap' && r.inputs.metadata?.name === name)!;
    const cortex = parse(configMap('cortex').inputs.data['cortex.yaml']);
    expect(cortex.blocks_storage).toMatchObject({ backend: 'gcs', gcs: { bucket_name: buckets.metrics } });
    expect(cortex.blocks_storage.gcs).toEqual({ bucket_name: buckets.metrics });
    expect(cortex.ruler_storage).toEqual({ backend: 'gcs', gcs: { bucket_name: buckets.rules } });
    expect(cortex.alertmanager_storage).toEqual({ backend: 'gcs', gcs: { bucket_name: buckets.rules } });
    const loki = parse(configMap('loki-config').inputs.data['config.yaml']);
    expect(loki.common.storage).toEqual({ gcs: { bucket_name: buckets.logs } });
    expect(loki.ruler.storage).toEqual({ type: 'gcs', gcs: { bucket_name: buckets.logs } });
    const annotations = Object.fromEntries(
      platform.filter((r) => r.type === 'kubernetes:core/v1:ServiceAccount').map((r) => [r.inputs.metadata.name, r.inputs.metadata.annotations?.['iam.gke.io/gcp-service-account']]),
    );
    expect(annotations).toMatchObject({
      cortex: 'lk-prod-cortex@acme-observability.iam.gserviceaccount.com',
      'cortex-ruler': 'lk-prod-ruler@acme-observability.iam.gserviceaccount.com',
      'cortex-alertmanager': 'lk-prod-am@acme-observability.iam.gserviceaccount.com',
      loki: 'lk-prod-loki@acme-observability.iam.gserviceaccount.com',
    });
    const gateway = platform.find((r) => r.type === 'kubernetes:core/v1:Service' && r.inputs.spec?.type === 'LoadBalancer')!;
    expect(gateway.inputs.metadata.annotations).toMatchObject({ 'cloud.google.com/l4-rbs': 'enabled' });
    expect(gateway.inputs.spec.externalTrafficPolicy).toBe('Local');
    expect(platform.find((r) => r.type === 'gcp:dns/recordSet:RecordSet')!.inputs).toMatchObject({ managedZone: 'lookout-prod', name: '*.obs.example.com.', type: 'A' });
  });
});
