/**
 * Google's official auth client against nock: a service account key made for the test, Google's
 * token endpoint answering with `test-token`, and each API host recording the calls it gets.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GoogleAuth } from 'google-auth-library';
import nock from 'nock';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loadConfig, type ResolvedConfig } from '../../src/config/load.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A service account key of `project`, with a key made for the test. */
export function testServiceAccountKey(project: string) {
  return {
    type: 'service_account',
    client_email: `lookout@${project}.iam.gserviceaccount.com`,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function testGoogleAuth(project: string): GoogleAuth {
  return new GoogleAuth({ credentials: testServiceAccountKey(project), scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
}

/** nock for an API host that wants the test token; each request is pushed to `seen` as `GET <host><path>`. */
export function googleApi(host: string, seen: string[], label: (host: string) => string = (h) => h) {
  nock('https://oauth2.googleapis.com').post('/token').reply(200, { access_token: 'test-token', expires_in: 3600, token_type: 'Bearer' }).persist();
  const scope = nock(host, { reqheaders: { authorization: 'Bearer test-token' } });
  scope.on('request', (req: { method: string; path: string }) => seen.push(`${req.method} ${label(host)}${decodeURIComponent(req.path)}`));
  return scope;
}

/**
 * The setup every suite against Google's APIs shares: no real network, nock emptied and the
 * recorded calls forgotten after each test, and the gcp-small example loaded once as instance
 * `demo`. Call it at the top of a test file.
 */
export function useGoogleApiSuite(): { seen: string[]; config: () => ResolvedConfig } {
  const seen: string[] = [];
  let config: ResolvedConfig | undefined;
  beforeAll(async () => {
    nock.disableNetConnect();
    config = await loadConfig(new URL('../../examples/gcp-small.yaml', import.meta.url).pathname, { provider: 'gcp', name: 'demo' });
  });
  afterAll(() => nock.enableNetConnect());
  afterEach(() => {
    nock.cleanAll();
    seen.length = 0;
  });
  return { seen, config: () => config! };
}
