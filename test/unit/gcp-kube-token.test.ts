/**
 * `lookout kube-token --provider gcp`: the ExecCredential carries an access token from the
 * Google credentials (nock stands in for Google's token endpoint) and its expiry; no gcloud.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GoogleAuth } from 'google-auth-library';
import nock from 'nock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcpExecCredential } from '../../src/providers/gcp/kube-token.js';
import { testServiceAccountKey } from '../support/google-api.js';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lookout-gcp-token-'));
const key = testServiceAccountKey('acme-obs');

beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.enableNetConnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('kube-token --provider gcp', () => {
  it('prints an ExecCredential with the access token from the Google credentials and when it expires', async () => {
    let grant = '';
    nock('https://oauth2.googleapis.com')
      .post('/token', (body) => ((grant = String(body.grant_type)), true))
      .reply(200, { access_token: 'ya29.test-token', expires_in: 3599, token_type: 'Bearer' });
    const before = Date.now();
    const credential = JSON.parse(await gcpExecCredential(new GoogleAuth({ credentials: key, scopes: ['https://www.googleapis.com/auth/cloud-platform'] })));
    expect(grant).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(credential).toMatchObject({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1beta1', status: { token: 'ya29.test-token' } });
    const expires = Date.parse(credential.status.expirationTimestamp);
    expect(expires).toBeGreaterThan(before + 3500_000);
    expect(expires).toBeLessThan(Date.now() + 3600_000);
  });

  it('says how to get credentials when there are none, and refuses options it does not take with exit 2', async () => {
    const missing = join(dir, 'missing.json');
    const env = { ...process.env, GOOGLE_APPLICATION_CREDENTIALS: missing, CLOUDSDK_CONFIG: dir, HOME: dir };
    const none = await run(process.execPath, [`${root}bin/lookout`, 'kube-token', '--provider', 'gcp'], { env }).catch((e) => e);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no usable Google Cloud credentials for loading Google credentials/);
    expect(none.stderr).toMatch(/gcloud auth application-default login/);
    expect(none.stderr).not.toMatch(/^\s+at /m);
    writeFileSync(join(dir, 'key.json'), JSON.stringify(key));
    const bogus = await run(process.execPath, [`${root}bin/lookout`, 'kube-token', '--provider', 'gcp', '--cluster', 'x'], { env }).catch((e) => e);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/kube-token: Unknown option '--cluster'/);
  });
});
