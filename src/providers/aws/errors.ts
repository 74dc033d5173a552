/**
 * Turns AWS SDK errors into errors a user can act on. Credential problems get the exact
 * environment to set; access denials name the API that was refused.
 */
import { FailureError, InterruptedError, LookoutError } from '../../errors.js';

const CREDENTIAL_HINT =
  'Set credentials the AWS SDK can find: AWS_PROFILE (after `aws sso login` or `aws configure`), or ' +
  'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials).';

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function isAwsErrorNamed(err: unknown, ...names: string[]): boolean {
  return typeof err === 'object' && err !== null && names.includes((err as AwsErrorShape).name ?? '');
}

export function httpStatusOf(err: unknown): number | undefined {
  return (err as AwsErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/** Maps an SDK error raised while calling `api` into a LookoutError. */
export function explainAwsError(err: unknown, api: string, signal?: AbortSignal): LookoutError {
  if (err instanceof LookoutError) return err;
  if (signal?.aborted || isAwsErrorNamed(err, 'AbortError')) return new InterruptedError(`Interrupted during ${api}.`);
  const e = (err ?? {}) as AwsErrorShape;
  if (isAwsErrorNamed(err, 'CredentialsProviderError')) {
    return new FailureError('no AWS credentials were found', { hint: CREDENTIAL_HINT, cause: err });
  }
  if (isAwsErrorNamed(err, 'ExpiredToken', 'ExpiredTokenException', 'TokenRefreshRequired')) {
    return new FailureError('the AWS credentials have expired', {
      hint: 'Refresh them (for example `aws sso login`) and run the command again.',
      cause: err,
    });
  }
  if (isAwsErrorNamed(err, 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException')) {
    return new FailureError(`AWS rejected the credentials: ${e.message ?? e.name}`, { hint: CREDENTIAL_HINT, cause: err });
  }
  if (isAwsErrorNamed(err, 'AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation') || httpStatusOf(err) === 403) {
    return new FailureError(`AWS denied ${api}: ${e.message ?? e.name}`, {
      hint: 'The credentials need the permissions listed in the README ("AWS permissions").',
      cause: err,
    });
  }
  return new FailureError(`${api} failed: ${e.message ?? e.name ?? String(err)}`, { cause: err });
}
