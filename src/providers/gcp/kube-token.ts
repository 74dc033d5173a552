/**
 * `lookout kube-token --provider gcp`: an ExecCredential with an OAuth access token from the
 * Google credentials (Application Default Credentials), which GKE accepts for the identity
 * that holds them. It replaces gke-gcloud-auth-plugin: no gcloud needed.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { execCredential } from '../../k8s/exec-credential.js';
import { explainGoogleError } from './preflight.js';

/** What the command needs of google-auth-library's GoogleAuth. */
export interface GoogleTokenSource {
  getClient(): Promise<{ getAccessToken(): Promise<{ token?: string | null; res?: { data?: { expiry_date?: number } } | null }>; credentials?: { expiry_date?: number | null } }>;
}

/** Access tokens live an hour; when the library does not say, the client asks again well before. */
const FALLBACK_LIFETIME_MS = 30 * 60_000;

export async function gcpExecCredential(source: GoogleTokenSource, now: () => Date = () => new Date()): Promise<string> {
  let token: string | null | undefined;
  let expiry: number | null | undefined;
  try {
    const client = await source.getClient();
    ({ token } = await client.getAccessToken());
    expiry = client.credentials?.expiry_date;
  } catch (err) {
    throw explainGoogleError(err, 'loading Google credentials');
  }
  if (!token) throw explainGoogleError(new Error('Could not load the default credentials (no access token)'), 'loading Google credentials');
  const expiresAt = expiry ? new Date(expiry) : new Date(now().getTime() + FALLBACK_LIFETIME_MS);
  return execCredential(token, expiresAt);
}

export async function gcpKubeToken(argv: readonly string[]): Promise<void> {
  try {
    parseArgs({ args: [...argv], options: {}, strict: true });
  } catch (err) {
    throw new UsageError(`kube-token: ${(err as Error).message}`, { hint: 'With --provider gcp it takes no other options.' });
  }
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  process.stdout.write((await gcpExecCredential(auth)) + '\n');
}
