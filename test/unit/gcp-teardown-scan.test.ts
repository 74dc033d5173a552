/**
 * Destroy's questions to GCP, against nock standing in for the Compute, GKE, Storage, Cloud DNS
 * and IAM REST APIs: the wait until the gateway's forwarding rule and NEGs are gone (and what
 * it says when they are not), and the leftover report, with the exact calls made.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { googleApi, testGoogleAuth } from '../support/google-api.js';
import { leftoverScan, loadBalancerParts, waitUntilLoadBalancerGone, type GatewayLoadBalancer } from '../../src/providers/gcp/teardown-scan.js';

const PROJECT = 'acme-obs';
const COMPUTE = '/compute/v1/projects/acme-obs';
const auth = () => testGoogleAuth(PROJECT);
const seen: string[] = [];
const google = (host: string) => googleApi(host, seen, (h) => h.replace('https://', ''));
beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  nock.cleanAll();
  seen.length = 0;
});

const LB: GatewayLoadBalancer = { project: PROJECT, region: 'europe-west1', address: '34.1.2.3', networkName: 'lookout-prod', service: 'lookout/gateway' };
const neg = (name: string, network: string, service: string) => ({
  name,
  network: `https://www.googleapis.com/compute/v1/projects/acme-obs/global/networks/${network}`,
  description: `{"kubernetes.io/service-name":"${service}","kubernetes.io/service-port":""}`,
});

function answerLb(rules: object[], negs: object[]) {
  const compute = google('https://compute.googleapis.com');
  compute.get(`${COMPUTE}/regions/europe-west1/forwardingRules`).reply(200, { items: rules });
  compute.get(`${COMPUTE}/aggregated/networkEndpointGroups`).reply(200, { items: { 'zones/europe-west1-b': { networkEndpointGroups: negs } } });
}

describe('the gateway load balancer wait', () => {
  it('finds the forwarding rule by the recorded address and the NEGs by network and Service, nobody else’s', async () => {
    answerLb(
      [
        { name: 'a1b2', IPAddress: '34.1.2.3' },
        { name: 'other', IPAddress: '34.9.9.9' },
      ],
      [neg('k8s2-x-lookout-gateway', 'lookout-prod', 'lookout/gateway'), neg('k8s2-y-lookout-gateway', 'lookout-staging', 'lookout/gateway'), neg('k8s2-z-web', 'lookout-prod', 'web/front')],
    );
    expect(await loadBalancerParts(auth(), LB)).toEqual({ forwardingRules: ['a1b2'], networkEndpointGroups: ['k8s2-x-lookout-gateway'] });
    expect(seen).toEqual([
      'GET compute.googleapis.com/compute/v1/projects/acme-obs/regions/europe-west1/forwardingRules',
      'GET compute.googleapis.com/compute/v1/projects/acme-obs/aggregated/networkEndpointGroups',
    ]);
  });

  it('polls until both are gone', async () => {
    answerLb([{ name: 'a1b2', IPAddress: '34.1.2.3' }], [neg('k8s2-x', 'lookout-prod', 'lookout/gateway')]);
    answerLb([], [neg('k8s2-x', 'lookout-prod', 'lookout/gateway')]);
    answerLb([], []);
    await waitUntilLoadBalancerGone(auth(), LB, { timeoutMs: 5_000, intervalMs: 1 });
    expect(seen).toHaveLength(6);
  });

  it('names what is left when the deadline passes', async () => {
    const compute = google('https://compute.googleapis.com');
    compute.get(`${COMPUTE}/regions/europe-west1/forwardingRules`).reply(200, { items: [{ name: 'a1b2', IPAddress: '34.1.2.3' }] }).persist();
    compute.get(`${COMPUTE}/aggregated/networkEndpointGroups`).reply(200, { items: {} }).persist();
    const err = await waitUntilLoadBalancerGone(auth(), LB, { timeoutMs: 50, intervalMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe("the gateway's load balancer was not deleted in time: forwarding rule a1b2 still exists");
  });
});

describe('the leftover scan', () => {
  it('lists what still carries the instance label or names, asking each API once', async () => {
    google('https://container.googleapis.com')
      .get(`/v1/projects/${PROJECT}/locations/-/clusters`)
      .reply(200, { clusters: [{ name: 'lookout-prod' }, { name: 'lookout-prod-2', resourceLabels: { 'lookout-instance': 'prod-2' } }] });
    const compute = google('https://compute.googleapis.com');
    compute.get(`${COMPUTE}/aggregated/instances`).query({ filter: 'labels.lookout-instance="prod"' }).reply(200, { items: { 'zones/europe-west1-b': { instances: [{ name: 'gke-lookout-prod-node-1' }] } } });
    compute.get(`${COMPUTE}/aggregated/disks`).query({ filter: 'labels.lookout-instance="prod"' }).reply(200, { items: { 'zones/europe-west1-b': {} } });
    google('https://storage.googleapis.com')
      .get('/storage/v1/b')
      .query({ project: PROJECT, prefix: 'lookout-prod-' })
      .reply(200, { items: [{ name: 'lookout-prod-metrics-1234abcd', labels: { 'lookout-instance': 'prod' } }, { name: 'lookout-prod-2-logs-1', labels: { 'lookout-instance': 'prod-2' } }] });
    google('https://dns.googleapis.com').get(`/dns/v1/projects/${PROJECT}/managedZones`).reply(200, { managedZones: [{ name: 'example-com' }] });
    google('https://iam.googleapis.com')
      .get(`/v1/projects/${PROJECT}/serviceAccounts`)
      .query({ pageSize: '100' })
      .reply(200, { accounts: [{ email: `lk-prod-cortex@${PROJECT}.iam.gserviceaccount.com` }, { email: `lk-prod-2-cortex@${PROJECT}.iam.gserviceaccount.com` }] });

    expect(await leftoverScan(auth(), { project: PROJECT, instance: 'prod' })).toEqual([
      { kind: 'GKE cluster', name: 'lookout-prod' },
      { kind: 'VM instance', name: 'gke-lookout-prod-node-1' },
      { kind: 'bucket', name: 'lookout-prod-metrics-1234abcd' },
      { kind: 'service account', name: `lk-prod-cortex@${PROJECT}.iam.gserviceaccount.com` },
    ]);
    expect(seen).toEqual([
      `GET container.googleapis.com/v1/projects/${PROJECT}/locations/-/clusters`,
      `GET compute.googleapis.com${COMPUTE}/aggregated/instances?filter=labels.lookout-instance="prod"`,
      `GET compute.googleapis.com${COMPUTE}/aggregated/disks?filter=labels.lookout-instance="prod"`,
      `GET storage.googleapis.com/storage/v1/b?project=${PROJECT}&prefix=lookout-prod-`,
      `GET dns.googleapis.com/dns/v1/projects/${PROJECT}/managedZones`,
      `GET iam.googleapis.com/v1/projects/${PROJECT}/serviceAccounts?pageSize=100`,
    ]);
  });
});
