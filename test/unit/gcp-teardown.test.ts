/**
 * The parts of a GCP destroy that stand alone, against nock for Google's APIs: the credentials
 * must reach the instance's project, whether the cluster is gone, the data buckets, and what is
 * removed with the load balancer. (The steps and their order: gcp-destroy.test.ts.)
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import type { StepContext } from '../../src/engine/index.js';
import { FailureError } from '../../src/errors.js';
import { instanceBucketNames } from '../../src/providers/gcp/naming.js';
import { gcpClusterGone, gcpCredentialsStep, gcpDataBuckets, gcpTeardown } from '../../src/providers/gcp/teardown.js';
import type { InstanceRecord } from '../../src/state/instance-record.js';
import { googleApi, testGoogleAuth, useGoogleApiSuite } from '../support/google-api.js';

const PROJECT = 'acme-observability';
const { seen, config: suiteConfig } = useGoogleApiSuite();

const http = async () => testGoogleAuth(PROJECT);
const record = { name: 'demo', provider: 'gcp', region: 'europe-west1', accountId: PROJECT } as InstanceRecord;
const ctx = { signal: new AbortController().signal } as StepContext;
const CLUSTER = `/v1/projects/${PROJECT}/locations/europe-west1-b/clusters/lookout-demo`;

describe('GCP teardown', () => {
  it('checks first that the credentials reach the instance’s project, and says so when they do not', async () => {
    googleApi('https://cloudresourcemanager.googleapis.com', seen).get(`/v3/projects/${PROJECT}`).reply(200, { name: 'projects/42', projectId: PROJECT, state: 'ACTIVE' });
    expect(await gcpCredentialsStep(record, http).run(ctx)).toEqual({ project: PROJECT });
    expect(seen).toEqual([`GET https://cloudresourcemanager.googleapis.com/v3/projects/${PROJECT}`]);
    googleApi('https://cloudresourcemanager.googleapis.com', seen).get(`/v3/projects/${PROJECT}`).reply(403, { error: { code: 403, message: 'denied' } });
    const err = await gcpCredentialsStep(record, http).run(ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe(`instance "demo" lives in project ${PROJECT}, which these credentials cannot see`);
  });

  it('knows the cluster is gone when GKE answers 404 for it, and not otherwise', async () => {
    googleApi('https://container.googleapis.com', seen).get(CLUSTER).reply(200, { name: 'lookout-demo', status: 'RUNNING' });
    expect(await gcpClusterGone({ name: 'demo', config: suiteConfig() }, ctx.signal, http)).toBe(false);
    googleApi('https://container.googleapis.com', seen).get(CLUSTER).reply(404, { error: { code: 404, message: 'Not found' } });
    expect(await gcpClusterGone({ name: 'demo', config: suiteConfig() }, ctx.signal, http)).toBe(true);
    expect(seen).toEqual([`GET https://container.googleapis.com${CLUSTER}`, `GET https://container.googleapis.com${CLUSTER}`]);
  });

  it('names the data buckets as the infra stack derives them, and removes the tenant hosts’ record with the load balancer', () => {
    const names = instanceBucketNames('demo', PROJECT, 'europe-west1');
    expect(gcpDataBuckets(record)).toEqual([names.metrics, names.logs, names.rules]);
    expect(gcpTeardown.loadBalancerDependents).toEqual(['gcp:dns/recordSet:RecordSet']);
  });
});
