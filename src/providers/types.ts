/**
 * The seam between Lookout and the places it installs into. Everything that differs per cloud
 * (or per existing cluster) is behind these interfaces, implemented once per folder under
 * src/providers/ and registered in registry.ts. The config, the steps, the commands, the plan,
 * the platform and tenant stacks and the Kubernetes components see only these types.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { GatewayServiceOptions } from '@lookout/gateway';
import type { LogStoreStorage } from '@lookout/log-store';
import type { EgressRule } from '@lookout/kube';
import type { MetricsStoreArgs, MetricsStoreStorage } from '@lookout/metrics-store';
import type { z } from 'zod';
import type { ResolvedConfig } from '../config/load.js';
import type { Step, StepContext } from '../engine/index.js';
import type { CostEstimate } from '../plan/cost.js';
import type { CreateDurationTable } from '../plan/critical-path.js';
import type { MockBehaviour, MockedResource } from '../plan/mock-runtime.js';
import type { ImportIdRules } from '../pulumi/recovery.js';
import type { InstanceRecord } from '../state/instance-record.js';
import type { InstanceContext } from '../steps/context.js';
import type { Dns01Solver } from '../tls/solvers/solver.js';
import type { ProviderId } from './registry.js';
import type { PrefixObjects } from '../tenants/delete-data.js';

/** A physical name derived from the instance name, and the cloud's limit for it. */
export interface DerivedName {
  what: string;
  name: string;
  limit: number;
}

/**
 * A provider's block of lookout.yaml (under its id) and the checks around it. Loaded by the
 * config schema itself, so it holds zod and plain functions only: no Pulumi, no SDK.
 */
export interface ProviderConfigBlock<Schema extends z.ZodObject = z.ZodObject> {
  id: ProviderId;
  schema: Schema;
  /** The block's description in the schema and the README's reference. */
  description: string;
  /** When the block is missing for this provider: "it needs at least region and apiAllowedCidrs". */
  requiredFields: string;
  /** Every name the provider derives from an instance name, so validation proves each fits. */
  derivedNames(instance: string): DerivedName[];
  /** The field that says where the instance lives, which can never change: `aws.region`. */
  location(block: z.output<Schema>): { field: string; value: string };
  /** What `config validate` shows of the block, as label and value. */
  summary(block: z.output<Schema>): Array<[string, string]>;
  /** Settings that are allowed but risky, which every command warns about (checkBeforeCloud). */
  warnings?(block: z.output<Schema>): string[];
  /** Environment variables the block names for secrets, with the field that names each (checkBeforeCloud). */
  secretVariables?(block: z.output<Schema>): Array<{ field: string; variable: string }>;
}

/**
 * What the platform stack needs from the provider. The stack composes the Kubernetes
 * components with these and knows no cloud.
 */
export interface PlatformCloud {
  /** The cluster's name, as the collector labels the platform's own telemetry. */
  clusterName: string;
  /**
   * The StorageClass of every volume (stores and Grafana). With `create`, the platform stack
   * makes it (`resourceName` is its logical name there, which must never change); without,
   * it must exist in the cluster.
   */
  storageClass: { name: string; create?: { resourceName: string; provisioner: string; parameters: Record<string, string> } };
  metricsStore: {
    storage: MetricsStoreStorage;
    /** How a workload identity binds to each of its ServiceAccounts: blocks, ruler, Alertmanager. */
    serviceAccountAnnotations?: MetricsStoreArgs['serviceAccountAnnotations'];
  };
  logStore: { storage: LogStoreStorage; serviceAccountAnnotations?: Record<string, string> };
  /**
   * Static S3 keys for stores no workload identity reaches. The platform keeps them in a
   * Secret (as Pulumi secrets) and hands that to both stores; never set with an identity.
   */
  storageKeys?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
  /**
   * The cluster's network, as the NetworkPolicies and Cortex's receivers firewall need it: its
   * own CIDRs beyond the private ranges (pods, Services, nodes: where the API server and the
   * kubelets are too), and how pods with a bucket reach the object store and their credentials
   * (default: HTTPS to any public address).
   */
  network: { clusterCidrs: string[]; objectStorageEgress?: EgressRule[] };
  /** How clients reach the gateway. */
  gateway: {
    service: GatewayServiceOptions;
    /** The public address, when it is not the Service's load balancer (the user's own one). */
    address?: string;
  };
  /**
   * Registers, in the platform stack, the DNS record that sends every tenant host to the
   * gateway. Absent when no record is written by the stack (printed for the user instead).
   */
  tenantHostsRecord?(args: { domain: string; target: pulumi.Output<string> }): void;
  /**
   * Labels every Kubernetes object of the platform and tenant stacks carries, saying which
   * instance owns it: in a cluster Lookout does not own (kubernetes), so preflight can tell
   * its namespaces from others' and destroy can be proven complete.
   */
  ownerLabels?: Record<string, string>;
}

/** What the cluster layers (platform, tenants) get from a provider, from the infra outputs. */
export interface ClusterLayers {
  /** The kubeconfig of Lookout's own Kubernetes stacks; it holds no token (they come per call). */
  kubeconfig: string;
  platform: PlatformCloud;
}

/** The offline plan's view of the provider's layer. */
export interface InfraPlan {
  /** The infra stack's resources under mocks; empty when the provider creates no infrastructure. */
  resources: MockedResource[];
  /** The cluster layers, on the mocked infra outputs. */
  cluster: ClusterLayers;
  /** Mocks for the cluster layers: Kubernetes, and whatever the provider registers there. */
  clusterMocks: MockBehaviour;
  /** Where the instance would live, e.g. `eu-west-1`. */
  region: string;
  summary: { name: string; kubernetesVersion: string; apiAllowedCidrs: string[]; nodes: string };
  /** How the instance's DNS zone gets delegated, in one sentence. */
  delegation: string;
}

/** The outputs the infra step recorded, in the provider's own shape. */
export type RecordedInfra = Record<string, unknown>;

/** Where the tenants' data lives: the buckets and a client that lists and deletes by prefix. */
export interface TenantDataStore {
  buckets: { metrics: string; logs: string; rules: string };
  objects: PrefixObjects;
  /** How a location is written in reports: `s3://bucket/prefix`. */
  url(bucket: string, prefix: string): string;
}

/** Tearing down what the provider made, around the steps every provider shares. */
export interface Teardown {
  /** First, before anything is removed (for example: the credentials reach the instance's account). */
  before(record: InstanceRecord): Step[];
  /** After the gateway's Service is deleted (for example: wait until the cloud released its load balancer). */
  afterGateway(c: InstanceContext): Step[];
  /** After the platform stack: the infrastructure, then the data when asked for. */
  after(c: InstanceContext, options: { deleteData: boolean; record: InstanceRecord }): Step[];
  /** True when the cluster no longer exists, so its stacks drop their objects from the state. */
  clusterGone(c: InstanceContext, signal: AbortSignal): Promise<boolean>;
  /** The buckets that hold the data, kept unless `--delete-data`. */
  dataBuckets(record: InstanceRecord): string[];
  /**
   * False when the buckets are the user's (given in the config, not created by Lookout): then
   * `--delete-data` leaves them and their data alone, and destroy must not say otherwise.
   */
  readonly ownsDataBuckets: boolean;
  /** Resource types in the platform stack that point at the gateway's load balancer, removed with it. */
  loadBalancerDependents: readonly string[];
}

export interface CloudProvider {
  readonly id: ProviderId;
  /** Pulumi provider packages its programs use besides Kubernetes (plugins are installed first). */
  readonly pulumiPackages: readonly string[];
  /** Import id formats of the resources it names itself, so a create an interrupted run left pending is imported. */
  readonly importIds: ImportIdRules;
  /** Whether it creates the instance's DNS zone, whose delegation `create` then checks. */
  readonly managesDnsZone: boolean;

  /** The offline plan of its layer. No credentials, no network. */
  plan(config: ResolvedConfig): Promise<InfraPlan>;
  /** A rough monthly cost of everything the plan registers. */
  estimateCost(resources: readonly MockedResource[], config: ResolvedConfig): CostEstimate;
  /** What the estimate's prices are, e.g. "us-east-1 on-demand list prices". */
  readonly costBasis: string;
  /** Typical create durations of its infra stack's resource types, for the plan's critical path. */
  readonly createDurations: CreateDurationTable;

  /** `create` and `upgrade`: the steps before the cluster layers (preflight, infrastructure, kubeconfig). */
  infraSteps(c: InstanceContext): Promise<Step[]>;
  /** `upgrade`: what applying the config would change in its infrastructure. */
  previewInfra(c: InstanceContext, ctx: StepContext): Promise<{ changes: Record<string, number>; diffText?: string }>;

  /** The cluster layers' arguments, from the recorded infra outputs. */
  clusterLayers(c: InstanceContext, infra: RecordedInfra): Promise<ClusterLayers>;
  /**
   * What the cluster layers depend on, for the steps' inputs: a change re-runs them. `cluster`
   * identifies the cluster (every stack in it), `platform` also the storage and DNS.
   */
  clusterFingerprint(infra: RecordedInfra): { cluster: unknown; platform: unknown };
  /** The instance's zone, when `managesDnsZone`: its name servers and whether it was delegated for us. */
  dnsZone(infra: RecordedInfra): { nameServers: string[]; delegated: boolean };
  /** The DNS-01 solver when the config names none: the instance's own zone. */
  defaultSolver(c: InstanceContext, infra: RecordedInfra): Promise<Dns01Solver>;

  readonly teardown: Teardown;
  /**
   * The object store of the instance's data and its buckets, for `tenant remove --delete-data`,
   * which deletes one tenant's objects by key prefix. Absent where that is not built yet.
   */
  tenantDataStore?(record: InstanceRecord, infra: RecordedInfra): Promise<TenantDataStore>;

  /** "eu-west-1 (account 123456789012)": where a ready instance lives. */
  describeLocation(infra: RecordedInfra): string;
  /** Lines about the infrastructure in `create`'s summary and in `status`. */
  describeInfra(infra: RecordedInfra, o: { domain: string; kubeconfigPath: string; view: 'created' | 'status' }): string[];

  /** `lookout kube-token …`: prints an ExecCredential for the kubeconfig the provider writes. */
  kubeToken(argv: readonly string[]): Promise<void>;

  /** Steps right after the platform step (which has the gateway's address), e.g. DNS records the stack does not make. */
  afterPlatform?(c: InstanceContext): Step[];
  /** Environment of the engine for the cluster stacks (what this machine's `kube-token` needs), if any. */
  stackEnv?(c: InstanceContext): Record<string, string>;
  /**
   * A certificate the user provides instead of ACME (e.g. from a private CA), when the config
   * gives one: the tls step stores it in place of ordering one.
   */
  providedCertificate?(c: InstanceContext): Promise<import('../tls/certificate.js').KeyAndCertificate | undefined>;
}
