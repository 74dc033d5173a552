/**
 * The GCS requests behind the shared state's conditional writes, through Google's auth client
 * against recorded HTTP: the exact calls, and how each answer reads. (Against a real emulator:
 * test/integration/shared-state-gcs.test.ts; the conditional DELETE is tested only here,
 * because the emulator ignores its precondition.)
 */
import nock from 'nock';
import { describe, expect, it } from 'vitest';
import { explainStoreError } from '../../src/pulumi/store-errors.js';
import { gcsEndpoint, gcsStore } from '../../src/pulumi/gcs-store.js';
import { googleApi, testGoogleAuth, useGoogleApiSuite } from '../support/google-api.js';

const { seen } = useGoogleApiSuite();
const STORAGE = 'https://storage.googleapis.com';
const store = () => gcsStore('team-state', 'lookout', async () => testGoogleAuth('acme-obs') as never);
const objects = () => store().conditional!;
const KEY = '.lookout/prod/lock.json';
const OBJECT = `/storage/v1/b/team-state/o/${encodeURIComponent(`lookout/${KEY}`)}`;
const precondition = { error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' } };

describe('conditional writes on GCS', () => {
  it('creates with ifGenerationMatch=0 (a media upload) and returns the generation', async () => {
    let body = '';
    googleApi(STORAGE, seen)
      .post('/upload/storage/v1/b/team-state/o')
      .query({ uploadType: 'media', name: `lookout/${KEY}`, ifGenerationMatch: '0' })
      .reply(200, (_uri, b) => ((body = String(b)), { generation: '1700000000000001' }));
    await expect(objects().create(KEY, 'lock')).resolves.toBe('1700000000000001');
    expect(body).toBe('lock');
    expect(seen).toEqual([`POST ${STORAGE}/upload/storage/v1/b/team-state/o?uploadType=media&name=lookout/${KEY}&ifGenerationMatch=0`]);
  });

  it('reports an existing object (412) as a create that did not happen, after reading whose bytes are there', async () => {
    googleApi(STORAGE, seen)
      .post('/upload/storage/v1/b/team-state/o')
      .query(true)
      .reply(412, precondition)
      .get(OBJECT)
      .query({ alt: 'media' })
      .reply(200, 'their lock', { 'x-goog-generation': '7' });
    await expect(objects().create(KEY, 'lock')).resolves.toBeUndefined();
  });

  it('counts a write as done when its precondition failed because an earlier attempt of it went through', async () => {
    googleApi(STORAGE, seen)
      .post('/upload/storage/v1/b/team-state/o')
      .query({ uploadType: 'media', name: `lookout/${KEY}`, ifGenerationMatch: '5' })
      .reply(412, precondition)
      .get(OBJECT)
      .query({ alt: 'media' })
      .reply(200, 'renewed', { 'x-goog-generation': '6' });
    await expect(objects().replace(KEY, 'renewed', '5')).resolves.toBe('6');
  });

  it('replaces with ifGenerationMatch=<generation read>; a changed or vanished object (412) is a replace that did not happen', async () => {
    googleApi(STORAGE, seen)
      .post('/upload/storage/v1/b/team-state/o')
      .query({ uploadType: 'media', name: `lookout/${KEY}`, ifGenerationMatch: '5' })
      .reply(200, { generation: '6' })
      .post('/upload/storage/v1/b/team-state/o')
      .query({ uploadType: 'media', name: `lookout/${KEY}`, ifGenerationMatch: '5' })
      .reply(412, precondition)
      .get(OBJECT)
      .query({ alt: 'media' })
      .reply(404, { error: { code: 404, message: 'No such object' } });
    const o = objects();
    await expect(o.replace(KEY, 'renewed', '5')).resolves.toBe('6');
    await expect(o.replace(KEY, 'renewed', '5')).resolves.toBeUndefined();
  });

  it('deletes with ifGenerationMatch: false when it changed (412), true when deleted or already gone', async () => {
    googleApi(STORAGE, seen)
      .delete(OBJECT)
      .query({ ifGenerationMatch: '6' })
      .reply(204)
      .delete(OBJECT)
      .query({ ifGenerationMatch: '6' })
      .reply(412, precondition)
      .delete(OBJECT)
      .query({ ifGenerationMatch: '6' })
      .reply(404, { error: { code: 404, message: 'No such object' } });
    const o = objects();
    await expect(o.remove(KEY, '6')).resolves.toBe(true);
    await expect(o.remove(KEY, '6')).resolves.toBe(false);
    await expect(o.remove(KEY, '6')).resolves.toBe(true);
    expect(seen).toEqual(Array(3).fill(`DELETE ${STORAGE}${decodeURIComponent(OBJECT)}?ifGenerationMatch=6`));
  });

  it('reads the content and its generation in one request, and nothing for a missing object', async () => {
    googleApi(STORAGE, seen)
      .get(OBJECT)
      .query({ alt: 'media' })
      .reply(200, '{"a":1}', { 'x-goog-generation': '42', 'content-type': 'application/octet-stream' })
      .get(OBJECT)
      .query({ alt: 'media' })
      .reply(404, { error: { code: 404, message: 'No such object' } });
    const o = objects();
    await expect(o.get(KEY)).resolves.toEqual({ text: '{"a":1}', version: '42' });
    await expect(o.get(KEY)).resolves.toBeUndefined();
  });

  it('lists every page under a prefix, as keys relative to the state root', async () => {
    googleApi(STORAGE, seen)
      .get('/storage/v1/b/team-state/o')
      .query((q) => q.prefix === 'lookout/.pulumi/locks/organization/p/s/' && q.pageToken === undefined)
      .reply(200, { items: [{ name: 'lookout/.pulumi/locks/organization/p/s/b.json' }], nextPageToken: 't2' })
      .get('/storage/v1/b/team-state/o')
      .query((q) => q.pageToken === 't2')
      .reply(200, { items: [{ name: 'lookout/.pulumi/locks/organization/p/s/a.json' }] });
    await expect(store().list('.pulumi/locks/organization/p/s')).resolves.toEqual([
      '.pulumi/locks/organization/p/s/a.json',
      '.pulumi/locks/organization/p/s/b.json',
    ]);
  });

  it('names objects as gs:// URLs with the gcloud command that removes them, without a request', () => {
    const s = gcsStore('team-state', 'lookout', () => Promise.reject(new Error('no request expected')));
    expect(s.location(KEY)).toBe(`gs://team-state/lookout/${KEY}`);
    expect(s.removeCommand(KEY)).toBe(`gcloud storage rm 'gs://team-state/lookout/${KEY}'`);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('explains a refused request in Google’s words, naming what it was doing', async () => {
    googleApi(STORAGE, seen).get(OBJECT).query({ alt: 'media' }).reply(403, { error: { code: 403, message: 'lookout@acme-obs.iam.gserviceaccount.com does not have storage.objects.get access' } });
    const err = await objects().get(KEY).catch((e: unknown) => e);
    const explained = explainStoreError(err, 'gs', `reading gs://team-state/lookout/${KEY}`)!;
    expect(explained.message).toBe(`reading gs://team-state/lookout/${KEY} was refused: lookout@acme-obs.iam.gserviceaccount.com does not have storage.objects.get access`);
  });

  it('goes to the emulator STORAGE_EMULATOR_HOST names, as Google’s clients and the Pulumi engine do', () => {
    expect(gcsEndpoint({})).toEqual({ root: 'https://storage.googleapis.com', emulator: false });
    expect(gcsEndpoint({ STORAGE_EMULATOR_HOST: '127.0.0.1:4443' })).toEqual({ root: 'http://127.0.0.1:4443', emulator: true });
    expect(gcsEndpoint({ STORAGE_EMULATOR_HOST: 'https://gcs.local/' })).toEqual({ root: 'https://gcs.local', emulator: true });
  });
});
