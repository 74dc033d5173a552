/**
 * The Cloud DNS DNS-01 solver with the official client, against nock standing in for the
 * Cloud DNS REST API (and Google's token endpoint): the exact calls and bodies, the wait
 * for the change to be done, and the removal of the record when the issuance fails.
 */
import { generateKeyPairSync } from 'node:crypto';
import { DNS } from '@google-cloud/dns';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FailureError } from '../../src/errors.js';
import { withChallengeRecords } from '../../src/tls/challenge-records.js';
import { CloudDnsSolver } from '../../src/tls/solvers/cloud-dns.js';
import { freePort } from '../support/processes.js';

const PROJECT = 'lookout-test';
const ZONE = 'obs-example-com';
const NAME = '_acme-challenge.obs.example.com';
const API = 'https://dns.googleapis.com';
const BASE = `/dns/v1/projects/${PROJECT}/managedZones/${ZONE}`;
const FAST = { changeDeadlineMs: 2_000, changePollMs: 5 };

function solver(timing = FAST): CloudDnsSolver {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dns = new DNS({
    projectId: PROJECT,
    credentials: {
      client_email: 'lookout@lookout-test.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
  });
  return new CloudDnsSolver({
    dns,
    managedZone: ZONE,
    timing,
    lookup: {
      resolver: {
        resolve4: async (host: string) => ({ 'ns-cloud-a1.googledomains.com': ['216.239.32.106'] })[host] ?? [],
        resolve6: async () => [],
        resolveNs: async () => [],
      },
    },
  });
}

/** Every request the solver made, in order, as `METHOD path`. */
const seen: string[] = [];

beforeAll(() => {
  nock.disableNetConnect();
});

afterAll(() => {
  nock.enableNetConnect();
});

afterEach(() => {
  nock.cleanAll();
  seen.length = 0;
});

function api() {
  nock('https://oauth2.googleapis.com').post('/token').reply(200, { access_token: 'test-token', expires_in: 3600, token_type: 'Bearer' }).persist();
  const scope = nock(API, { reqheaders: { authorization: 'Bearer test-token' } });
  scope.on('request', (req: { method: string; path: string }) => seen.push(`${req.method} ${decodeURIComponent(req.path)}`));
  return scope;
}

const existing = { kind: 'dns#resourceRecordSet', name: `${NAME}.`, type: 'TXT', ttl: 60, rrdatas: ['"stale"'] };

describe('CloudDnsSolver', () => {
  it('replaces the TXT record set in one change, then waits until the change is done', async () => {
    let body: unknown;
    api()
      .get(`${BASE}/rrsets`)
      .query({ name: `${NAME}.`, type: 'TXT' })
      .reply(200, { rrsets: [existing] })
      .post(`${BASE}/changes`, (b) => ((body = b), true))
      .reply(200, { id: '17', status: 'pending' })
      .get(`${BASE}/changes/17`)
      .reply(200, { id: '17', status: 'pending' })
      .get(`${BASE}/changes/17`)
      .reply(200, { id: '17', status: 'done' });

    await solver().setTxt(NAME, ['value-one', 'value-two']);

    expect(body).toEqual({
      additions: [{ name: `${NAME}.`, type: 'TXT', ttl: 60, rrdatas: ['"value-one"', '"value-two"'] }],
      deletions: [existing],
    });
    expect(seen).toEqual([
      `GET ${BASE}/rrsets?name=${NAME}.&type=TXT`,
      `POST ${BASE}/changes`,
      `GET ${BASE}/changes/17`,
      `GET ${BASE}/changes/17`,
    ]);
  });

  it('adds without a deletion when there is no record set yet', async () => {
    let body: unknown;
    api()
      .get(`${BASE}/rrsets`)
      .query(true)
      .reply(200, { rrsets: [] })
      .post(`${BASE}/changes`, (b) => ((body = b), true))
      .reply(200, { id: '18', status: 'done' })
      .get(`${BASE}/changes/18`)
      .reply(200, { id: '18', status: 'done' });
    await solver().setTxt(NAME, ['v']);
    expect(body).toEqual({ additions: [{ name: `${NAME}.`, type: 'TXT', ttl: 60, rrdatas: ['"v"'] }], deletions: [] });
  });

  it('fails when the change is not done by the deadline', async () => {
    api()
      .get(`${BASE}/rrsets`)
      .query(true)
      .reply(200, { rrsets: [] })
      .post(`${BASE}/changes`)
      .reply(200, { id: '19', status: 'pending' })
      .get(`${BASE}/changes/19`)
      .reply(200, { id: '19', status: 'pending' })
      .persist();
    const err = await solver({ changeDeadlineMs: 200, changePollMs: 10 })
      .setTxt(NAME, ['v'])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe(`Cloud DNS change 19 in Cloud DNS managed zone ${ZONE} was still pending after 200 ms`);
  });

  it('removes exactly the record set that is there, and nothing when there is none', async () => {
    let body: unknown;
    api()
      .get(`${BASE}/rrsets`)
      .query({ name: `${NAME}.`, type: 'TXT' })
      .reply(200, { rrsets: [existing] })
      .post(`${BASE}/changes`, (b) => ((body = b), true))
      .reply(200, { id: '20', status: 'pending' });
    await solver().removeTxt(NAME);
    expect(body).toEqual({ additions: [], deletions: [existing] });
    expect(seen).toEqual([`GET ${BASE}/rrsets?name=${NAME}.&type=TXT`, `POST ${BASE}/changes`]);

    nock.cleanAll();
    seen.length = 0;
    api().get(`${BASE}/rrsets`).query(true).reply(200, {});
    await solver().removeTxt(NAME);
    expect(seen).toEqual([`GET ${BASE}/rrsets?name=${NAME}.&type=TXT`]);
  });

  it('cleans up when the record never shows at the zone’s servers', async () => {
    const bodies: unknown[] = [];
    api()
      .get(`${BASE}/rrsets`)
      .query(true)
      .reply(200, { rrsets: [] })
      .post(`${BASE}/changes`, (b) => (bodies.push(b), true))
      .reply(200, { id: '21', status: 'done' })
      .get(`${BASE}/changes/21`)
      .reply(200, { id: '21', status: 'done' })
      .get(`${BASE}/rrsets`)
      .query(true)
      .reply(200, { rrsets: [{ ...existing, rrdatas: ['"v"'] }] })
      .post(`${BASE}/changes`, (b) => (bodies.push(b), true))
      .reply(200, { id: '22', status: 'pending' });

    const err = await withChallengeRecords(
      {
        solver: solver(),
        records: new Map([[NAME, ['v']]]),
        servers: [{ address: '127.0.0.1', port: await freePort() }],
        visibility: { deadlineMs: 150, intervalMs: 10 },
        queryTimeoutMs: 50,
        cleanupTimeoutMs: 2_000,
      },
      async () => 'unreached',
    ).catch((e: unknown) => e);

    expect((err as FailureError).message).toContain(`the TXT record ${NAME} did not appear`);
    expect(bodies).toEqual([
      { additions: [{ name: `${NAME}.`, type: 'TXT', ttl: 60, rrdatas: ['"v"'] }], deletions: [] },
      { additions: [], deletions: [{ ...existing, rrdatas: ['"v"'] }] },
    ]);
  });

  it('finds the zone’s name servers from the managed zone', async () => {
    api().get(BASE).reply(200, { name: ZONE, dnsName: 'obs.example.com.', nameServers: ['ns-cloud-a1.googledomains.com.'] });
    expect(await solver().authoritativeServers()).toEqual([{ address: '216.239.32.106', port: 53, name: 'ns-cloud-a1.googledomains.com' }]);
  });

  it('explains a permission error', async () => {
    api()
      .get(`${BASE}/rrsets`)
      .query(true)
      .reply(403, { error: { code: 403, message: 'Forbidden', errors: [{ message: 'Forbidden', reason: 'forbidden' }] } });
    const err = await solver().setTxt(NAME, ['v']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailureError);
    expect((err as FailureError).message).toBe('Google Cloud denied dns.resourceRecordSets.list: Forbidden');
    expect((err as FailureError).hint).toContain('roles/dns.admin');
  });
});
