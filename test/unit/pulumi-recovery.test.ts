import type { RefreshOptions } from '@pulumi/pulumi/automation/index.js';
import { describe, expect, it, vi } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { collectingReporter } from '../../src/progress/events.js';
import { countProgramResources, parseDeployment, parseUrn } from '../../src/pulumi/deployment.js';
import { AWS_IMPORT_IDS } from '../../src/providers/aws/import-ids.js';
import { executeRecovery, importRefreshArgs, planRecovery, type RecoveryStack } from '../../src/pulumi/recovery.js';

// Fixtures in the shape `pulumi stack export --show-secrets` prints (apitype.UntypedDeployment
// wrapping a DeploymentV3), trimmed to a few resources of an infra stack.
const STACK = 'prod-infra';
const PROJECT = 'lookout-prod';
const urn = (qualifiedType: string, name: string) => `urn:pulumi:${STACK}::${PROJECT}::${qualifiedType}::${name}`;
const STACK_URN = urn('pulumi:pulumi:Stack', `${PROJECT}-${STACK}`);
const PROVIDER_URN = urn('pulumi:providers:aws', 'default_7_48_0');
const PROVIDER_REF = `${PROVIDER_URN}::1c5a5ffb-3a4a-4a7f-8e37-2b2f8c2c5d0e`;
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const SECRET_VALUE = '1b47061264138c4ac30d75fd1eb44270';

const URNS = {
  vpc: urn('lookout:aws:Network$aws:ec2/vpc:Vpc', 'lookout-prod'),
  network: urn('lookout:aws:Network', 'network'),
  metricsBucket: urn('lookout:aws:ObservabilityBuckets$aws:s3/bucket:Bucket', 'metrics'),
  cluster: urn('lookout:aws:EksCluster$aws:eks/cluster:Cluster', 'cluster'),
  nodeGroup: urn('lookout:aws:EksCluster$aws:eks/nodeGroup:NodeGroup', 'nodes'),
  clusterRole: urn('lookout:aws:EksCluster$aws:iam/role:Role', 'cluster'),
  secretRole: urn('aws:iam/role:Role', 'secret-named'),
  nat: urn('lookout:aws:Network$aws:ec2/natGateway:NatGateway', 'nat-a'),
  password: urn('random:index/randomPassword:RandomPassword', 'grafana-admin'),
  securityGroup: urn('lookout:aws:Network$aws:ec2/securityGroup:SecurityGroup', 'nodes'),
  logGroup: urn('lookout:aws:EksCluster$aws:cloudwatch/logGroup:LogGroup', 'cluster-logs'),
  kmsAlias: urn('lookout:aws:EksCluster$aws:kms/alias:Alias', 'eks-secrets'),
};

const TAGS = { 'lookout:instance': 'prod', 'lookout:managed-by': 'lookout' };

function resource(u: string, extra: Record<string, unknown> = {}) {
  const { type } = parseUrn(u);
  return {
    urn: u,
    custom: !type.startsWith('lookout:'),
    type,
    parent: STACK_URN,
    ...(type.startsWith('lookout:') ? {} : { provider: PROVIDER_REF }),
    propertyDependencies: {},
    created: '2026-03-02T10:14:58.447190541Z',
    modified: '2026-03-02T10:14:58.447190541Z',
    ...extra,
  };
}

function pending(type: string, u: string, inputs: Record<string, unknown>) {
  return { resource: resource(u, { inputs: { __defaults: [], ...inputs } }), type };
}

function exported(pendingOperations: unknown[]) {
  return {
    version: 3,
    deployment: {
      manifest: {
        time: '2026-03-02T10:15:07.123456789Z',
        magic: '3a9d2c6f2a1b8e86b4bb0e4b7f1c9f1d0a8f0c3b3f0b1a2c4d5e6f708192a3b4',
        version: 'v3.248.0',
      },
      secrets_providers: {
        type: 'passphrase',
        state: { salt: 'v1:8F0hZ0b3mHQ=:v1:3xJ4m5Yd2q0pE1aB:Zk2Yx1m0V2bZQ8d2w3c4e5f6g7h8i9j0==' },
      },
      resources: [
        resource(STACK_URN, { custom: false, parent: undefined, outputs: {} }),
        resource(PROVIDER_URN, {
          custom: true,
          id: '1c5a5ffb-3a4a-4a7f-8e37-2b2f8c2c5d0e',
          parent: undefined,
          inputs: { __internal: {}, region: 'eu-west-1', skipCredentialsValidation: 'false', version: '7.48.0' },
          outputs: { region: 'eu-west-1', version: '7.48.0' },
        }),
        resource(URNS.network, { outputs: {} }),
        resource(URNS.vpc, {
          id: 'vpc-0a1b2c3d4e5f67890',
          inputs: { __defaults: [], cidrBlock: '10.40.0.0/16', enableDnsHostnames: true, tags: TAGS },
          outputs: { id: 'vpc-0a1b2c3d4e5f67890', cidrBlock: '10.40.0.0/16', tags: TAGS },
          parent: URNS.network,
        }),
        resource(URNS.securityGroup, {
          id: 'sg-0123456789abcdef0',
          inputs: { __defaults: [], name: 'lookout-prod-nodes', vpcId: 'vpc-0a1b2c3d4e5f67890' },
          outputs: { id: 'sg-0123456789abcdef0' },
          parent: URNS.network,
        }),
      ],
      pending_operations: pendingOperations,
      metadata: {},
    },
  };
}

const bucketCreate = pending('creating', URNS.metricsBucket, {
  bucket: 'lookout-prod-metrics-1a2b3c4d',
  forceDestroy: false,
  tags: TAGS,
  tagsAll: TAGS,
});
const clusterCreate = pending('creating', URNS.cluster, {
  name: 'lookout-prod',
  roleArn: 'arn:aws:iam::123456789012:role/lookout-prod-cluster',
  version: '1.33',
  vpcConfig: { subnetIds: ['subnet-0aa', 'subnet-0bb'], endpointPublicAccess: false },
});
const nodeGroupCreate = pending('creating', URNS.nodeGroup, {
  clusterName: 'lookout-prod',
  nodeGroupName: 'lookout-prod-nodes',
  nodeRoleArn: 'arn:aws:iam::123456789012:role/lookout-prod-nodes',
  scalingConfig: { desiredSize: 3, maxSize: 6, minSize: 3 },
});
const roleCreate = pending('creating', URNS.clusterRole, { name: 'lookout-prod-cluster', assumeRolePolicy: '{"Version":"2012-10-17"}' });
const logGroupCreate = pending('creating', URNS.logGroup, { name: '/aws/eks/lookout-prod/cluster', retentionInDays: 30 });
const aliasCreate = pending('creating', URNS.kmsAlias, { name: 'alias/lookout-prod-eks-secrets', targetKeyId: 'key-1' });
const secretNamedRoleCreate = pending('creating', URNS.secretRole, {
  name: { [SECRET_SIG]: SECRET_VALUE, plaintext: '"hidden-role-name"' },
});
const natCreate = pending('creating', URNS.nat, { allocationId: 'eipalloc-0abc', subnetId: 'subnet-0aa', tags: TAGS });
const passwordCreate = pending('creating', URNS.password, { length: 32, special: false });
const securityGroupDelete = { resource: resource(URNS.securityGroup, { id: 'sg-0123456789abcdef0', inputs: {} }), type: 'deleting' };
const vpcUpdate = { resource: resource(URNS.vpc, { id: 'vpc-0a1b2c3d4e5f67890', inputs: { cidrBlock: '10.40.0.0/16' } }), type: 'updating' };

describe('planRecovery', () => {
  it('needs nothing for a stack without pending operations', () => {
    expect(planRecovery(exported([]), AWS_IMPORT_IDS)).toEqual({ needed: false, importPendingCreates: [], clearPendingCreates: false, notes: [] });
  });

  it('needs nothing for a stack that never ran (no resources, no pending operations)', () => {
    const fresh = { version: 3, deployment: { manifest: { time: '2026-03-02T10:00:00Z', magic: '', version: 'v3.248.0' } } };
    expect(planRecovery(fresh, AWS_IMPORT_IDS).needed).toBe(false);
  });

  it('imports pending creates whose physical id Lookout names, with the provider import id formats', () => {
    const plan = planRecovery(exported([bucketCreate, clusterCreate, nodeGroupCreate, roleCreate, logGroupCreate, aliasCreate]), AWS_IMPORT_IDS);
    expect(plan.needed).toBe(true);
    expect(plan.clearPendingCreates).toBe(false);
    expect(plan.importPendingCreates).toEqual([
      { urn: URNS.metricsBucket, id: 'lookout-prod-metrics-1a2b3c4d' },
      { urn: URNS.cluster, id: 'lookout-prod' },
      { urn: URNS.nodeGroup, id: 'lookout-prod:lookout-prod-nodes' },
      { urn: URNS.clusterRole, id: 'lookout-prod-cluster' },
      { urn: URNS.logGroup, id: '/aws/eks/lookout-prod/cluster' },
      { urn: URNS.kmsAlias, id: 'alias/lookout-prod-eks-secrets' },
    ]);
    expect(plan.notes).toHaveLength(6);
    expect(plan.notes[0]).toContain('aws:s3/bucket:Bucket "metrics"');
    expect(plan.notes[0]).toContain('"lookout-prod-metrics-1a2b3c4d"');
  });

  it('clears other pending creates and names each possible leftover; refresh handles deletes and updates', () => {
    const plan = planRecovery(exported([bucketCreate, natCreate, secretNamedRoleCreate, passwordCreate, securityGroupDelete, vpcUpdate]), AWS_IMPORT_IDS);
    expect(plan.needed).toBe(true);
    expect(plan.importPendingCreates).toEqual([{ urn: URNS.metricsBucket, id: 'lookout-prod-metrics-1a2b3c4d' }]);
    expect(plan.clearPendingCreates).toBe(true);

    const noteOf = (fragment: string) => plan.notes.find((n) => n.includes(fragment)) ?? '';
    expect(noteOf('aws:ec2/natGateway:NatGateway "nat-a"')).toContain('possible leftover');
    // A name held as a secret is never used as an id, and never printed.
    expect(noteOf('aws:iam/role:Role "secret-named"')).toContain('possible leftover');
    expect(plan.notes.join('\n')).not.toContain('hidden-role-name');
    expect(noteOf('random:index/randomPassword:RandomPassword')).toContain('exists only in the state');
    expect(noteOf('random:index/randomPassword:RandomPassword')).not.toContain('leftover');
    expect(noteOf('aws:ec2/securityGroup:SecurityGroup "nodes"')).toContain('pending delete');
    expect(noteOf('aws:ec2/vpc:Vpc "lookout-prod"')).toContain('pending update');
    expect(plan.notes).toHaveLength(6);
  });

  it('needs a refresh (without clearing) when only updates and deletes are pending', () => {
    const plan = planRecovery(exported([securityGroupDelete, vpcUpdate]), AWS_IMPORT_IDS);
    expect(plan).toMatchObject({ needed: true, importPendingCreates: [], clearPendingCreates: false });
  });

  it('accepts the inner deployment object as well as the export wrapper', () => {
    expect(planRecovery(exported([bucketCreate]).deployment, AWS_IMPORT_IDS).importPendingCreates).toHaveLength(1);
  });

  it('refuses an export format it does not know, and a malformed one', () => {
    expect(() => planRecovery({ version: 4, deployment: {} }, AWS_IMPORT_IDS)).toThrow(FailureError);
    expect(() => planRecovery({ version: 3, deployment: { pending_operations: [{ type: 'creating' }] } }, AWS_IMPORT_IDS)).toThrow(
      /pending_operations\.0\.resource/,
    );
  });
});

describe('countProgramResources', () => {
  it('counts what the program registers: not the root stack or default providers', () => {
    // network component, vpc, security group
    expect(countProgramResources(parseDeployment(exported([])))).toBe(3);
  });
});

describe('importRefreshArgs', () => {
  it('repeats --import-pending-creates once per URN and once per ID, and adds the clear flag when needed', () => {
    const plan = planRecovery(exported([bucketCreate, nodeGroupCreate, natCreate]), AWS_IMPORT_IDS);
    expect(importRefreshArgs('organization/lookout-prod/prod-infra', plan)).toEqual([
      'refresh',
      '--yes',
      '--skip-preview',
      '--stack',
      'organization/lookout-prod/prod-infra',
      '--import-pending-creates',
      URNS.metricsBucket,
      '--import-pending-creates',
      'lookout-prod-metrics-1a2b3c4d',
      '--import-pending-creates',
      URNS.nodeGroup,
      '--import-pending-creates',
      'lookout-prod:lookout-prod-nodes',
      '--clear-pending-creates',
    ]);
  });
});

describe('executeRecovery', () => {
  function fakeStack() {
    const run = vi.fn(async () => ({ stdout: '', stderr: '', code: 0 }));
    const refresh = vi.fn(async (_opts?: RefreshOptions) => ({}));
    const stack: RecoveryStack = {
      name: 'organization/lookout-prod/prod-infra',
      workspace: {
        workDir: '/home/u/.lookout/prod/workspaces/prod-infra',
        envVars: { PULUMI_BACKEND_URL: 'file:///home/u/.lookout/prod/state', PULUMI_CONFIG_PASSPHRASE: 'pw' },
        pulumiHome: '/home/u/.pulumi-test',
        pulumiCommand: { command: 'pulumi', run },
      },
      refresh,
    };
    return { stack, run, refresh };
  }

  it('runs the import refresh through the workspace command, with its directory, environment and the signal', async () => {
    const { stack, run, refresh } = fakeStack();
    const plan = planRecovery(exported([bucketCreate, natCreate]), AWS_IMPORT_IDS);
    const controller = new AbortController();
    const reporter = collectingReporter();

    await executeRecovery(stack, plan, { signal: controller.signal, reporter, step: 'infra' });

    expect(refresh).not.toHaveBeenCalled();
    expect(run).toHaveBeenCalledTimes(1);
    const [args, cwd, env, onOutput, onError, signal] = run.mock.calls[0] as unknown as [
      string[],
      string,
      Record<string, string>,
      unknown,
      unknown,
      AbortSignal,
    ];
    expect(args).toEqual(importRefreshArgs(stack.name, plan));
    expect(cwd).toBe(stack.workspace.workDir);
    expect(env).toEqual({
      PULUMI_DEBUG_COMMANDS: 'true',
      PULUMI_HOME: '/home/u/.pulumi-test',
      PULUMI_BACKEND_URL: 'file:///home/u/.lookout/prod/state',
      PULUMI_CONFIG_PASSPHRASE: 'pw',
    });
    expect(onOutput).toBeUndefined();
    expect(onError).toBeUndefined();
    // A signal of the call's own (see withFollowingSignal) that follows the command's.
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal).not.toBe(controller.signal);

    const warnings = reporter.events.filter((e) => e.type === 'log' && e.level === 'warn');
    expect(warnings).toHaveLength(plan.notes.length);
    expect(warnings.every((e) => e.type === 'log' && e.step === 'infra')).toBe(true);
  });

  it('clears pending creates through stack.refresh, passing the signal and onEvent', async () => {
    const { stack, run, refresh } = fakeStack();
    const plan = planRecovery(exported([natCreate, passwordCreate]), AWS_IMPORT_IDS);
    const controller = new AbortController();
    const onEvent = vi.fn();
    // Interrupted while the refresh runs: the refresh's own signal follows the command's.
    let abortedInRefresh: boolean | undefined;
    refresh.mockImplementationOnce(async (opts?: { signal?: AbortSignal }) => {
      controller.abort();
      abortedInRefresh = opts?.signal?.aborted;
      return {};
    });

    await executeRecovery(stack, plan, { signal: controller.signal, reporter: collectingReporter(), onEvent });

    expect(run).not.toHaveBeenCalled();
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(refresh.mock.calls[0]![0]).toEqual({ clearPendingCreates: true, color: 'never', signal: expect.any(AbortSignal), onEvent });
    expect(abortedInRefresh).toBe(true);
  });

  it('refreshes without clearing when only deletes and updates are pending', async () => {
    const { stack, refresh } = fakeStack();
    await executeRecovery(stack, planRecovery(exported([securityGroupDelete]), AWS_IMPORT_IDS), { reporter: collectingReporter() });
    expect(refresh.mock.calls[0]![0]).toMatchObject({ clearPendingCreates: false });
  });

  it('does nothing when no recovery is needed', async () => {
    const { stack, run, refresh } = fakeStack();
    const reporter = collectingReporter();
    await executeRecovery(stack, planRecovery(exported([]), AWS_IMPORT_IDS), { reporter });
    expect(run).not.toHaveBeenCalled();
    expect(refresh).not.toHaveBeenCalled();
    expect(reporter.events).toEqual([]);
  });
});
