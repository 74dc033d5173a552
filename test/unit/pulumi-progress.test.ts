import type { EngineEvent, OpType } from '@pulumi/pulumi/automation/index.js';
import { describe, expect, it } from 'vitest';
import {
  initialProgress,
  progressView,
  reduceEngineEvent,
  shortType,
  totalFromChangeSummary,
  type EngineProgress,
} from '../../src/pulumi/progress.js';

const u = (qualifiedType: string, name: string) => `urn:pulumi:prod-infra::lookout-prod::${qualifiedType}::${name}`;
const STACK = u('pulumi:pulumi:Stack', 'lookout-prod-prod-infra');
const DEFAULT_PROVIDER = u('pulumi:providers:aws', 'default_7_48_0');
const EXPLICIT_PROVIDER = u('pulumi:providers:aws', 'us-east-1');
const NETWORK = u('lookout:aws:Network', 'network');
const VPC = u('lookout:aws:Network$aws:ec2/vpc:Vpc', 'lookout-prod');
const SUBNET = u('lookout:aws:Network$aws:ec2/subnet:Subnet', 'private-a');
const BUCKET = u('aws:s3/bucket:Bucket', 'metrics');
const ROLE = u('aws:iam/role:Role', 'cluster');

let seq = 0;
function ev(body: Omit<EngineEvent, 'sequence' | 'timestamp'>): EngineEvent {
  seq += 1;
  return { sequence: seq, timestamp: 1_772_446_507 + seq, ...body };
}
function meta(urn: string, op: OpType) {
  const type = urn.split('::')[2]!.split('$').pop()!;
  return { op, urn, type, provider: DEFAULT_PROVIDER };
}
const pre = (urn: string, op: OpType) => ev({ resourcePreEvent: { metadata: meta(urn, op) } });
const out = (urn: string, op: OpType) => ev({ resOutputsEvent: { metadata: meta(urn, op) } });
const failed = (urn: string, op: OpType) => ev({ resOpFailedEvent: { metadata: meta(urn, op), status: 1, steps: 0 } });
const diag = (severity: 'error' | 'warning' | 'info', message: string, urn?: string) =>
  ev({ diagnosticEvent: { severity, message, color: 'never', prefix: `${severity}: `, ...(urn ? { urn } : {}) } });

function run(events: EngineEvent[], state: EngineProgress = initialProgress(6)): { final: EngineProgress; views: ReturnType<typeof progressView>[] } {
  const views: ReturnType<typeof progressView>[] = [];
  let s = state;
  for (const e of events) {
    s = reduceEngineEvent(s, e);
    views.push(progressView(s));
  }
  return { final: s, views };
}

/** An update of a stack with a component, two custom children, an explicit provider, a bucket and a role. */
const updateEvents = (): EngineEvent[] => [
  ev({ preludeEvent: { config: { 'aws:region': 'eu-west-1' } } }),
  pre(STACK, 'same'),
  pre(DEFAULT_PROVIDER, 'same'),
  out(DEFAULT_PROVIDER, 'same'),
  pre(EXPLICIT_PROVIDER, 'same'),
  out(EXPLICIT_PROVIDER, 'same'),
  pre(NETWORK, 'same'),
  pre(VPC, 'same'),
  out(VPC, 'same'),
  pre(SUBNET, 'create'),
  pre(BUCKET, 'create'),
  out(SUBNET, 'create'),
  out(NETWORK, 'same'),
  pre(ROLE, 'update'),
  diag('warning', 'aws:iam/role:Role is deprecated in this provider version', ROLE),
  out(ROLE, 'update'),
  diag('error', 'creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists: The requested bucket name is not available.\n', BUCKET),
  failed(BUCKET, 'create'),
  diag('error', 'update failed', STACK),
  ev({ summaryEvent: { maybeCorrupt: false, durationSeconds: 41, resourceChanges: { same: 4, create: 1, update: 1 }, policyPacks: {} } }),
];

describe('reduceEngineEvent', () => {
  it('counts finished program resources, including unchanged ones and explicit providers, but not the stack or default providers', () => {
    const { final, views } = run(updateEvents());
    // explicit provider, vpc, subnet, network, role, bucket (failed)
    expect(views[views.length - 1]).toMatchObject({ done: 6, total: 6 });
    expect(final.failed).toBe(1);
    expect(final.finished.has(STACK)).toBe(false);
    expect(final.finished.has(DEFAULT_PROVIDER)).toBe(false);
    expect(final.summary).toEqual({ same: 4, create: 1, update: 1 });
    // done never goes down
    const dones = views.map((v) => v.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
  });

  it('shows the resource being worked on, with its operation, name and type, and how many others are in flight', () => {
    const { views } = run(updateEvents());
    expect(views[1]!.message).toBe(''); // the root stack is not shown
    expect(views[7]!.message).toBe('checking lookout-prod (aws:ec2:Vpc) (+1 more)'); // network component is also in flight
    expect(views[10]!.message).toBe('creating metrics (aws:s3:Bucket) (+2 more)');
    expect(views[13]!.message).toBe('updating cluster (aws:iam:Role) (+1 more)');
    expect(views[views.length - 1]!.message).toBe('');
  });

  it('keeps the engine error diagnostics with their resource, and nothing else', () => {
    const { final } = run(updateEvents());
    expect(final.diagnostics).toEqual([
      {
        urn: BUCKET,
        message: 'creating S3 Bucket (lookout-prod-metrics-1a2b3c4d): BucketAlreadyExists: The requested bucket name is not available.',
      },
      { urn: STACK, message: 'update failed' },
    ]);
  });

  it('keeps at most 50 diagnostics', () => {
    const events = Array.from({ length: 60 }, (_, i) => diag('error', `failure ${i}`, BUCKET));
    expect(run(events).final.diagnostics).toHaveLength(50);
  });

  it('counts a replaced resource once, although it gets two steps', () => {
    const { views } = run([pre(BUCKET, 'create-replacement'), out(BUCKET, 'create-replacement'), pre(BUCKET, 'delete-replaced'), out(BUCKET, 'delete-replaced')], initialProgress(1));
    expect(views.map((v) => v.done)).toEqual([0, 1, 1, 1]);
    expect(views[2]!.message).toBe('deleting the replaced metrics (aws:s3:Bucket)');
  });

  it('has no total without a hint, and never shows more done than total', () => {
    expect(progressView(run(updateEvents(), initialProgress()).final)).not.toHaveProperty('total');
    expect(progressView(run(updateEvents(), initialProgress(2)).final)).toMatchObject({ done: 6, total: 6 });
  });

  it('returns the same state for events that change nothing', () => {
    const s = initialProgress(3);
    expect(reduceEngineEvent(s, ev({ preludeEvent: { config: {} } }))).toBe(s);
    expect(reduceEngineEvent(s, pre(STACK, 'create'))).toBe(s);
    expect(reduceEngineEvent(s, diag('info', 'hello'))).toBe(s);
  });

  it('notes a cancellation', () => {
    expect(reduceEngineEvent(initialProgress(), ev({ cancelEvent: {} })).cancelled).toBe(true);
  });
});

describe('totalFromChangeSummary', () => {
  it('counts every resource of a preview except the root stack', () => {
    expect(totalFromChangeSummary({ create: 7, same: 3 })).toBe(9);
    expect(totalFromChangeSummary({})).toBeUndefined();
  });
});

describe('shortType', () => {
  it('drops the module path', () => {
    expect(shortType('aws:s3/bucket:Bucket')).toBe('aws:s3:Bucket');
    expect(shortType('kubernetes:apps/v1:Deployment')).toBe('kubernetes:apps:Deployment');
    expect(shortType('lookout:aws:Network')).toBe('lookout:aws:Network');
  });
});
