/**
 * `destroy` of a GCP instance, its own steps: their order around the shared ones, the wait for
 * the gateway's load balancer, deletion protection applied off (a targeted `up` of the cluster
 * alone) before the infra stack is destroyed, `--delete-data` emptying and deleting the
 * buckets, and the leftover report. Google's APIs are nock; the infra stack is a fake handle
 * that records what the steps ask of it (the stack program itself is tested under Pulumi
 * mocks in infra-gcp.test.ts).
 */
import nock from 'nock';
import { describe, expect, it, vi } from 'vitest';
import { gcsPrefixObjects } from '../../src/providers/gcp/delete-bucket.js';
import { deleteTenantData, tenantDataLocations } from '../../src/tenants/delete-data.js';
import { FailureError } from '../../src/errors.js';
import { instanceBucketNames } from '../../src/providers/gcp/naming.js';
import {
  gcpDeleteDataStep,
  gcpInfraDestroyStep,
  gcpLeftoversStep,
  gcpLoadBalancerGoneStep,
  gcpTeardown,
  gcpUnprotectStep,
} from '../../src/providers/gcp/teardown.js';
import type { StateResource } from '../../src/pulumi/deployment.js';
import type { InstanceRecord } from '../../src/state/instance-record.js';
import type { InstanceContext } from '../../src/steps/context.js';
import { googleApi, testGoogleAuth, useGoogleApiSuite } from '../support/google-api.js';
import { testStepContext } from '../support/step-context.js';

const stack = vi.hoisted(() => ({
  opened: [] as Array<{ step: string; deletionProtection: boolean | undefined }>,
  resources: [] as StateResource[],
  up: [] as Array<{ target?: string[] }>,
  destroyed: 0,
}));
vi.mock('../../src/providers/gcp/infra-steps.js', () => ({
  openGcpInfraStack: async (_c: unknown, step: string, o: { deletionProtection?: boolean } = {}) => {
    stack.opened.push({ step, deletionProtection: o.deletionProtection });
    return {
      prepare: async () => ({}),
      resources: () => stack.resources,
      up: async (opts: { target?: string[] }) => (stack.up.push({ ...(opts.target ? { target: opts.target } : {}) }), {}),
      destroy: async () => void stack.destroyed++,
    };
  },
  googleHttp: () => Promise.reject(new Error('the tests pass their own client')),
}));

const PROJECT = 'acme-observability';
const { seen, config } = useGoogleApiSuite();
const http = async () => testGoogleAuth(PROJECT) as never;
const record = { name: 'demo', provider: 'gcp', region: 'europe-west1', accountId: PROJECT } as InstanceRecord;
const context = () => ({ name: 'demo', config: config() }) as InstanceContext;
const buckets = instanceBucketNames('demo', PROJECT, 'europe-west1');

const stepContext = () => testStepContext('destroy');

const names = (steps: Array<{ name: string }>) => steps.map((s) => s.name);

describe('GCP destroy', () => {
  it('puts its steps around the shared ones: credentials first, the load balancer wait after the gateway, then protection off, infra, data, leftovers', () => {
    expect(names(gcpTeardown.before(record))).toEqual(['credentials']);
    expect(names(gcpTeardown.afterGateway(context()))).toEqual(['load-balancer-gone']);
    expect(names(gcpTeardown.after(context(), { deleteData: true, record }))).toEqual(['infra-unprotect', 'infra-destroy', 'delete-data', 'leftovers']);
    expect(names(gcpTeardown.after(context(), { deleteData: false, record }))).toEqual(['infra-unprotect', 'infra-destroy', 'leftovers']);
  });

  it('waits until the forwarding rule of the gateway’s address and its NEGs are gone, asking Compute each time', async () => {
    const compute = googleApi('https://compute.googleapis.com', seen);
    const rules = `/compute/v1/projects/${PROJECT}/regions/europe-west1/forwardingRules`;
    const negs = `/compute/v1/projects/${PROJECT}/aggregated/networkEndpointGroups`;
    const neg = {
      name: 'k8s2-x-lookout-gateway',
      network: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/global/networks/lookout-demo`,
      description: '{"kubernetes.io/service-name":"lookout/gateway","kubernetes.io/service-port":"443"}',
    };
    compute.get(rules).reply(200, { items: [{ name: 'a1b2', IPAddress: '34.1.2.3' }] });
    compute.get(negs).reply(200, { items: { 'zones/europe-west1-b': { networkEndpointGroups: [neg] } } });
    compute.get(rules).reply(200, { items: [] });
    compute.get(negs).reply(200, { items: { 'zones/europe-west1-b': { networkEndpointGroups: [neg] } } });
    compute.get(rules).reply(200, {});
    compute.get(negs).reply(200, { items: { 'zones/europe-west1-b': {} } });
    const step = gcpLoadBalancerGoneStep(context(), { http, address: async () => '34.1.2.3', timing: { timeoutMs: 30_000, intervalMs: 5 } });
    const out = await step.run(stepContext());
    expect(out.address).toBe('34.1.2.3');
    expect(seen).toEqual(Array(3).fill([`GET https://compute.googleapis.com${rules}`, `GET https://compute.googleapis.com${negs}`]).flat());
  });

  it('says which load balancer parts are still there at the deadline', async () => {
    const compute = googleApi('https://compute.googleapis.com', seen);
    compute.get(`/compute/v1/projects/${PROJECT}/regions/europe-west1/forwardingRules`).reply(200, { items: [{ name: 'a1b2', IPAddress: '34.1.2.3' }] }).persist();
    compute.get(`/compute/v1/projects/${PROJECT}/aggregated/networkEndpointGroups`).reply(200, {}).persist();
    const step = gcpLoadBalancerGoneStep(context(), { http, address: async () => '34.1.2.3', timing: { timeoutMs: 50, intervalMs: 10 } });
    const err = await step.run(stepContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe("the gateway's load balancer was not deleted in time: forwarding rule a1b2 still exists");
  });

  it('asks nothing when the gateway never got an address', async () => {
    const step = gcpLoadBalancerGoneStep(context(), { http, address: async () => undefined });
    expect(await step.run(stepContext())).toEqual({ address: null, waitedMs: 0 });
    expect(seen).toEqual([]);
  });

  it('applies deletion protection off to the protected cluster alone, and skips that when it is off or gone', async () => {
    const cluster = (deletionProtection: boolean): StateResource => ({
      urn: 'urn:pulumi:demo-infra::lookout-infra-gcp::lookout:gcp:GkeCluster$gcp:container/cluster:Cluster::gke',
      type: 'gcp:container/cluster:Cluster',
      inputs: { deletionProtection },
    });
    const network: StateResource = { urn: 'urn:pulumi:demo-infra::lookout-infra-gcp::gcp:compute/network:Network::network', type: 'gcp:compute/network:Network' };
    stack.resources = [network, cluster(true)];
    expect(await gcpUnprotectStep(context()).run(stepContext())).toEqual({ unprotected: true });
    expect(stack.opened.at(-1)).toEqual({ step: 'infra-unprotect', deletionProtection: false });
    expect(stack.up).toEqual([{ target: [cluster(true).urn] }]);

    stack.resources = [network, cluster(false)];
    expect(await gcpUnprotectStep(context()).run(stepContext())).toEqual({ unprotected: false });
    stack.resources = [network];
    expect(await gcpUnprotectStep(context()).run(stepContext())).toEqual({ unprotected: false });
    expect(stack.up).toHaveLength(1);
  });

  it('destroys the infra stack with the program that has deletion protection off', async () => {
    const before = stack.destroyed;
    expect(await gcpInfraDestroyStep(context()).run(stepContext())).toEqual({ destroyed: true });
    expect(stack.destroyed).toBe(before + 1);
    expect(stack.opened.at(-1)).toEqual({ step: 'infra-destroy', deletionProtection: false });
  });

  it('--delete-data: deletes every generation of every object, then the bucket; a bucket already gone counts as deleted', async () => {
    const storage = googleApi('https://storage.googleapis.com', seen);
    const list = (bucket: string) => `/storage/v1/b/${bucket}/o`;
    storage.get(list(buckets.metrics)).query((q) => q.versions === 'true' && q.pageToken === undefined).reply(200, {
      items: [{ name: 'tenant-1/01HBLOCK/meta.json', generation: '11' }],
      nextPageToken: 'p2',
    });
    storage.get(list(buckets.metrics)).query((q) => q.pageToken === 'p2').reply(200, { items: [{ name: 'tenant-1/01HBLOCK/meta.json', generation: '10' }] });
    storage.delete(`${list(buckets.metrics)}/${encodeURIComponent('tenant-1/01HBLOCK/meta.json')}`).query({ generation: '11' }).reply(204);
    storage.delete(`${list(buckets.metrics)}/${encodeURIComponent('tenant-1/01HBLOCK/meta.json')}`).query({ generation: '10' }).reply(204);
    storage.delete(`/storage/v1/b/${buckets.metrics}`).reply(204);
    storage.get(list(buckets.logs)).query(true).reply(200, {});
    storage.delete(`/storage/v1/b/${buckets.logs}`).reply(204);
    storage.get(list(buckets.rules)).query(true).reply(404, { error: { code: 404, message: 'The specified bucket does not exist.' } });

    const out = await gcpDeleteDataStep(record, http).run(stepContext());
    expect(out).toEqual({
      deleted: [
        { bucket: buckets.metrics, objects: 2 },
        { bucket: buckets.logs, objects: 0 },
        { bucket: buckets.rules, objects: 0 },
      ],
    });
    const object = `https://storage.googleapis.com/storage/v1/b/${buckets.metrics}/o/tenant-1/01HBLOCK/meta.json`;
    expect(seen.filter((s) => s.startsWith('DELETE'))).toEqual([
      `DELETE ${object}?generation=11`,
      `DELETE ${object}?generation=10`,
      `DELETE https://storage.googleapis.com/storage/v1/b/${buckets.metrics}`,
      `DELETE https://storage.googleapis.com/storage/v1/b/${buckets.logs}`,
    ]);
  });

  it('tenant remove --delete-data: lists every generation under the tenant’s prefixes and deletes each, nothing else', async () => {
    const storage = googleApi('https://storage.googleapis.com', seen);
    const id = 'team-a';
    // One location is enough to see the calls; the locations themselves are the seam's (tenantDataLocations).
    const metrics = tenantDataLocations(id, buckets).filter((l) => l.bucket === buckets.metrics);
    storage.get(`/storage/v1/b/${buckets.metrics}/o`).query({ versions: 'true', fields: 'items(name,generation),nextPageToken', prefix: `${id}/` }).reply(200, {
      items: [
        { name: `${id}/01HBLOCK/index`, generation: '7' },
        { name: `${id}/01HBLOCK/index`, generation: '3' },
      ],
    });
    storage.delete(`/storage/v1/b/${buckets.metrics}/o/${encodeURIComponent(`${id}/01HBLOCK/index`)}`).query({ generation: '7' }).reply(204);
    storage.delete(`/storage/v1/b/${buckets.metrics}/o/${encodeURIComponent(`${id}/01HBLOCK/index`)}`).query({ generation: '3' }).reply(404, {});
    const reports = await deleteTenantData(gcsPrefixObjects(testGoogleAuth(PROJECT) as never), metrics);
    expect(reports).toEqual([{ bucket: buckets.metrics, prefix: `${id}/`, what: 'metric blocks', deletedObjects: 2 }]);
    expect(seen.filter((c) => c.startsWith('DELETE'))).toHaveLength(2);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('reports what still carries the instance’s label, but not the data buckets it kept on purpose', async () => {
    const answer = (deleteData: boolean) => {
      googleApi('https://container.googleapis.com', seen).get(`/v1/projects/${PROJECT}/locations/-/clusters`).reply(200, {});
      const compute = googleApi('https://compute.googleapis.com', seen);
      compute.get(`/compute/v1/projects/${PROJECT}/aggregated/instances`).query(true).reply(200, {});
      compute.get(`/compute/v1/projects/${PROJECT}/aggregated/disks`).query(true).reply(200, {
        items: { 'zones/europe-west1-b': { disks: [{ name: 'pvc-0a1b' }] } },
      });
      googleApi('https://storage.googleapis.com', seen)
        .get('/storage/v1/b')
        .query(true)
        .reply(200, { items: [{ name: buckets.metrics, labels: { 'lookout-instance': 'demo' } }] });
      googleApi('https://dns.googleapis.com', seen).get(`/dns/v1/projects/${PROJECT}/managedZones`).reply(200, {});
      googleApi('https://iam.googleapis.com', seen).get(`/v1/projects/${PROJECT}/serviceAccounts`).query(true).reply(200, {});
      return gcpLeftoversStep(record, { deleteData, http });
    };
    const kept = stepContext();
    expect(await answer(false).run(kept)).toEqual({ leftovers: [{ kind: 'disk', name: 'pvc-0a1b' }] });
    expect(kept.logged).toEqual([`warn still in project ${PROJECT}: disk pvc-0a1b`]);
    expect(await answer(true).run(stepContext())).toEqual({
      leftovers: [
        { kind: 'disk', name: 'pvc-0a1b' },
        { kind: 'bucket', name: buckets.metrics },
      ],
    });
  });
});
