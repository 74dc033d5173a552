/**
 * Errors of a shared state bucket's client, as errors a user can act on (credentials, access
 * denied), in the words of the cloud the bucket is in.
 */
import { LookoutError } from '../errors.js';
import { explainAwsError } from '../providers/aws/errors.js';
import { explainGoogleError } from '../providers/gcp/preflight.js';
import type { BackendKind } from './backend.js';

export function explainStoreError(err: unknown, kind: BackendKind, what: string): LookoutError | undefined {
  if (err instanceof LookoutError) return err;
  if (kind === 's3') return explainAwsError(err, what);
  if (kind === 'gs') return explainGoogleError(err, what);
  return undefined;
}
