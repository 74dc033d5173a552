/**
 * The GCP preflight with Google's official auth client against nock standing in for the
 * Resource Manager, Cloud Billing, Service Usage, Compute, GKE and Storage REST APIs (and
 * Google's token endpoint): the exact calls, in order, and each refusal with what to do.
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { ExitCode, LookoutError } from '../../src/errors.js';
import { REQUIRED_SERVICES, gcpPreflight, vcpusOf } from '../../src/providers/gcp/preflight.js';
import { instanceBucketNames } from '../../src/providers/gcp/naming.js';
import { googleApi, testGoogleAuth, useGoogleApiSuite } from '../support/google-api.js';

const PROJECT = 'acme-observability';
const auth = () => testGoogleAuth(PROJECT);

const { seen, config: suiteConfig } = useGoogleApiSuite();

const google = (host: string) => googleApi(host, seen);

const servicesQuery = REQUIRED_SERVICES.map((s) => `names=projects/${PROJECT}/services/${s}`).join('&');
const EXPECTED_CALLS = [
  `GET https://cloudresourcemanager.googleapis.com/v3/projects/${PROJECT}`,
  `GET https://cloudbilling.googleapis.com/v1/projects/${PROJECT}/billingInfo`,
  `GET https://serviceusage.googleapis.com/v1/projects/${PROJECT}/services:batchGet?${servicesQuery}`,
  `GET https://compute.googleapis.com/compute/v1/projects/${PROJECT}/regions/europe-west1`,
  `GET https://compute.googleapis.com/compute/v1/projects/${PROJECT}/zones/europe-west1-b`,
  `GET https://container.googleapis.com/v1/projects/${PROJECT}/locations/-/clusters`,
  `GET https://storage.googleapis.com/storage/v1/b?project=${PROJECT}&prefix=lookout-demo-`,
  `GET https://cloudkms.googleapis.com/v1/projects/${PROJECT}/locations/europe-west1/keyRings/lookout-demo`,
  `GET https://dns.googleapis.com/dns/v1/projects/${PROJECT}/managedZones`,
];
const KEY_RING = `/v1/projects/${PROJECT}/locations/europe-west1/keyRings/lookout-demo`;

interface Answers {
  project?: [number, object];
  billing?: boolean;
  enabled?: readonly string[];
  cpus?: { limit: number; usage: number };
  clusters?: object[];
  buckets?: object[];
  /** The key ring and key left by an earlier instance (GCP never deletes them); absent by default. */
  keyRing?: boolean;
  key?: { primary?: { state: string } };
  /** The project's Cloud DNS zones. */
  zones?: object[];
}

function answer(a: Answers = {}) {
  google('https://cloudresourcemanager.googleapis.com')
    .get(`/v3/projects/${PROJECT}`)
    .reply(...(a.project ?? [200, { name: 'projects/555000111222', projectId: PROJECT, state: 'ACTIVE' }]));
  google('https://cloudbilling.googleapis.com').get(`/v1/projects/${PROJECT}/billingInfo`).reply(200, { billingEnabled: a.billing ?? true });
  google('https://serviceusage.googleapis.com')
    .get(`/v1/projects/${PROJECT}/services:batchGet`)
    .query(true)
    .reply(200, {
      services: REQUIRED_SERVICES.map((s) => ({
        name: `projects/555000111222/services/${s}`,
        config: { name: s },
        state: (a.enabled ?? REQUIRED_SERVICES).includes(s) ? 'ENABLED' : 'DISABLED',
      })),
    });
  const compute = google('https://compute.googleapis.com');
  compute.get(`/compute/v1/projects/${PROJECT}/regions/europe-west1`).reply(200, {
    name: 'europe-west1',
    status: 'UP',
    quotas: [
      { metric: 'CPUS', ...(a.cpus ?? { limit: 24, usage: 4 }) },
      { metric: 'IN_USE_ADDRESSES', limit: 8, usage: 1 },
    ],
  });
  compute.get(`/compute/v1/projects/${PROJECT}/zones/europe-west1-b`).reply(200, { name: 'europe-west1-b', status: 'UP' });
  google('https://container.googleapis.com').get(`/v1/projects/${PROJECT}/locations/-/clusters`).reply(200, { clusters: a.clusters ?? [] });
  google('https://storage.googleapis.com').get('/storage/v1/b').query(true).reply(200, { items: a.buckets ?? [] });
  const kms = google('https://cloudkms.googleapis.com');
  if (!a.keyRing) kms.get(KEY_RING).reply(404, { error: { code: 404, message: 'KeyRing projects/…/keyRings/lookout-demo not found.' } });
  else {
    kms.get(KEY_RING).reply(200, { name: `projects/${PROJECT}/locations/europe-west1/keyRings/lookout-demo` });
    if (a.key) kms.get(`${KEY_RING}/cryptoKeys/gke-secrets`).reply(200, { name: 'gke-secrets', ...a.key });
    else kms.get(`${KEY_RING}/cryptoKeys/gke-secrets`).reply(404, { error: { code: 404, message: 'not found' } });
  }
  google('https://dns.googleapis.com').get(`/dns/v1/projects/${PROJECT}/managedZones`).reply(200, { managedZones: a.zones ?? [] });
}

async function failure(a: Answers, o = { knownInstance: false }): Promise<LookoutError> {
  answer(a);
  const err = await gcpPreflight(auth(), suiteConfig(), o).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LookoutError);
  return err as LookoutError;
}

describe('GCP preflight', () => {
  it('reads the project, billing, APIs, region, zone, clusters, buckets, key ring and DNS zones, in that order, and reports the quotas', async () => {
    answer();
    const result = await gcpPreflight(auth(), suiteConfig(), { knownInstance: false });
    expect(seen).toEqual(EXPECTED_CALLS);
    expect(result).toEqual({
      project: PROJECT,
      projectNumber: '555000111222',
      region: 'europe-west1',
      // e2-standard-2 × (max 3 + one surge node).
      cpus: { limit: 24, usage: 4, needed: 8 },
      addresses: { limit: 8, usage: 1, needed: 2 },
      existing: false,
      secretsKey: { keyRing: false, key: false },
      warnings: [],
    });
  });

  it('names a project it cannot see as a config problem (exit 2)', async () => {
    const err = await failure({ project: [403, { error: { code: 403, message: 'Permission denied', status: 'PERMISSION_DENIED' } }] });
    expect(err.exitCode).toBe(ExitCode.usage);
    expect(err.message).toBe(`gcp.project: project "${PROJECT}" does not exist, or these credentials cannot see it`);
    expect(seen).toEqual(EXPECTED_CALLS.slice(0, 1));
  });

  it('says the credentials do not work, and how to get some, when Google refuses them', async () => {
    const err = await failure({ project: [401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } }] });
    expect(err.exitCode).toBe(ExitCode.failure);
    expect(err.message).toBe('no usable Google Cloud credentials for the project lookup: Request had invalid authentication credentials.');
    expect(err.hint).toMatch(/gcloud auth application-default login/);
  });

  it('refuses a project without billing, with the command that links one', async () => {
    const err = await failure({ billing: false });
    expect(err.message).toMatch(/^billing is not enabled on project "acme-observability"/);
    expect(err.hint).toBe(`Link a billing account: \`gcloud billing projects link ${PROJECT} --billing-account=<ACCOUNT_ID>\`.`);
  });

  it('names the APIs that are not enabled and the gcloud command that enables them', async () => {
    const err = await failure({ enabled: ['compute.googleapis.com', 'storage.googleapis.com', 'iam.googleapis.com'] });
    expect(err.message).toBe(`these APIs are not enabled in project "${PROJECT}": container.googleapis.com, dns.googleapis.com, cloudkms.googleapis.com`);
    expect(err.hint).toBe(
      `Enable them (it takes a minute or two): \`gcloud services enable container.googleapis.com dns.googleapis.com cloudkms.googleapis.com --project ${PROJECT}\`.`,
    );
    expect(seen).toEqual(EXPECTED_CALLS.slice(0, 3));
  });

  it('refuses when the region has too little CPU quota for the nodes at their maximum', async () => {
    const err = await failure({ cpus: { limit: 12, usage: 6 } });
    expect(err.message).toBe('not enough CPU quota in europe-west1: 8 vCPUs needed (3 × e2-standard-2 and one surge node), 6 of 12 free');
  });

  it('refuses a name already taken in the project, found by the instance label', async () => {
    const err = await failure({ clusters: [{ name: 'someone-elses', location: 'europe-west1-b', resourceLabels: { 'lookout-instance': 'demo' } }] });
    expect(err.exitCode).toBe(ExitCode.usage);
    expect(err.message).toBe(`an instance named "demo" already exists in project "${PROJECT}": GKE cluster someone-elses in europe-west1-b`);
  });

  it('accepts its own cluster and kept buckets on a resumed create', async () => {
    const bucket = instanceBucketNames('demo', PROJECT, 'europe-west1').metrics;
    answer({ clusters: [{ name: 'lookout-demo', location: 'europe-west1-b' }], buckets: [{ name: bucket, labels: { 'lookout-instance': 'demo' } }] });
    const result = await gcpPreflight(auth(), suiteConfig(), { knownInstance: true });
    expect(result.existing).toBe(true);
    expect(seen).toEqual(EXPECTED_CALLS);
  });

  it('refuses buckets a destroyed instance of the same name kept, unless this machine destroyed it', async () => {
    const bucket = instanceBucketNames('demo', PROJECT, 'europe-west1').logs;
    const buckets = [{ name: bucket, labels: { 'lookout-instance': 'demo' } }];
    const err = await failure({ buckets });
    expect(err.message).toBe(`buckets of an instance named "demo" exist in project "${PROJECT}": ${bucket}`);
    answer({ buckets });
    const reused = await gcpPreflight(auth(), suiteConfig(), { knownInstance: false, destroyedBefore: true });
    expect(reused.warnings).toEqual([`the kept buckets of the destroyed instance "demo" are used again: ${bucket}`]);
  });

  it('finds no key ring of the name on a first create, so the infra stack creates it', async () => {
    answer();
    const result = await gcpPreflight(auth(), suiteConfig(), { knownInstance: false });
    expect(result.secretsKey).toEqual({ keyRing: false, key: false });
    expect(result.warnings).toEqual([]);
  });

  it('finds the key ring and key an earlier instance of the name left (GCP never deletes them), to be reused', async () => {
    answer({ keyRing: true, key: { primary: { state: 'ENABLED' } } });
    const result = await gcpPreflight(auth(), suiteConfig(), { knownInstance: false });
    expect(seen.slice(-3, -1)).toEqual([`GET https://cloudkms.googleapis.com${KEY_RING}`, `GET https://cloudkms.googleapis.com${KEY_RING}/cryptoKeys/gke-secrets`]);
    expect(result.secretsKey).toEqual({ keyRing: true, key: true });
    expect(result.warnings).toEqual(['the KMS key ring lookout-demo and key gke-secrets in europe-west1 exist already (GCP never deletes them) and are reused']);
    answer({ keyRing: true });
    expect((await gcpPreflight(auth(), suiteConfig(), { knownInstance: true })).secretsKey).toEqual({ keyRing: true, key: false });
  });

  it('refuses a left key with no enabled primary version (GKE could not encrypt with it), with the command that makes one', async () => {
    const err = await failure({ keyRing: true, key: { primary: { state: 'DESTROYED' } } });
    expect(err.exitCode).toBe(ExitCode.failure);
    expect(err.message).toBe('the KMS key gke-secrets in key ring lookout-demo (europe-west1) has no enabled primary version, so GKE cannot encrypt secrets with it');
    expect(err.hint).toContain(`gcloud kms keys versions create --key gke-secrets --keyring lookout-demo --location europe-west1 --project ${PROJECT} --primary`);
  });

  it('sends the delegation to the closest public parent zone in the project, when exactly one is', async () => {
    const zones = [
      { name: 'com', dnsName: 'com.' },
      { name: 'example-com', dnsName: 'example.com.', visibility: 'public' },
      { name: 'example-com-internal', dnsName: 'example.com.', visibility: 'private' },
      { name: 'demo', dnsName: 'demo.example.com.' },
      { name: 'other', dnsName: 'example.org.' },
    ];
    answer({ zones });
    expect((await gcpPreflight(auth(), suiteConfig(), { knownInstance: false })).parentZoneName).toBe('example-com');
    answer({ zones: [...zones, { name: 'example-com-2', dnsName: 'example.com.' }] });
    const two = await gcpPreflight(auth(), suiteConfig(), { knownInstance: false });
    expect(two.parentZoneName).toBeUndefined();
    expect(two.warnings).toEqual([
      `several managed zones in project "${PROJECT}" are for example.com. (example-com, example-com-2); set dns.parentZone to choose where the delegation goes`,
    ]);
    answer({ zones: [{ name: 'other', dnsName: 'example.org.' }] });
    expect((await gcpPreflight(auth(), suiteConfig(), { knownInstance: false })).parentZoneName).toBeUndefined();
  });

  it('checks the dns.parentZone the config names: it must exist in the project and be for a parent of the domain (exit 2)', async () => {
    const withParent = (parentZone: string) => ({ ...suiteConfig(), dns: { ...suiteConfig().dns, parentZone } });
    const zones = [{ name: 'example-com', dnsName: 'example.com.' }, { name: 'other', dnsName: 'example.org.' }];
    answer({ zones });
    expect((await gcpPreflight(auth(), withParent('example-com'), { knownInstance: false })).parentZoneName).toBe('example-com');
    for (const [given, message] of [
      ['nope', `dns.parentZone: managed zone "nope" does not exist in project "${PROJECT}"`],
      ['other', 'dns.parentZone: managed zone "other" is for example.org., which is not a parent of demo.example.com'],
    ]) {
      answer({ zones });
      const err = await gcpPreflight(auth(), withParent(given!), { knownInstance: false }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LookoutError);
      expect((err as LookoutError).exitCode).toBe(ExitCode.usage);
      expect((err as LookoutError).message).toBe(message);
    }
  });

  it('knows the vCPUs of predefined machine types only', () => {
    expect([vcpusOf('e2-standard-4'), vcpusOf('n2-highmem-8'), vcpusOf('c3-standard-4-lssd'), vcpusOf('e2-medium'), vcpusOf('n2-custom-4-16384')]).toEqual([
      4,
      8,
      4,
      undefined,
      undefined,
    ]);
  });
});
