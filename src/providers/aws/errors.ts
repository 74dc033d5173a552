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

/** Node's codes for "the connection could not be made or was lost". */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** The AWS endpoint could not be reached at all (as opposed to answering with an error). */
function unreachable(err: unknown): { detail: string } | undefined {
  const e = (err ?? {}) as AwsErrorShape & { code?: string; hostname?: string; address?: string; port?: number };
  const timedOut = isAwsErrorNamed(err, 'TimeoutError', 'RequestTimeout');
  if (!timedOut && !(e.code && NETWORK_CODES.has(e.code))) return undefined;
  const where = e.hostname ?? (e.address ? `${e.address}${e.port ? `:${e.port}` : ''}` : undefined);
  return { detail: `${e.code ?? e.name}${where ? ` (${where})` : ''}` };
}

const ENDPOINT_HINT =
  "Check this machine's network connection and DNS, any proxy it needs (HTTPS_PROXY), and, if you set them, " +
  'AWS_ENDPOINT_URL* variables or endpoint_url in the AWS profile; the region must be one AWS serves.';

/** Maps an SDK error raised while calling `api` into a LookoutError. */
export function explainAwsError(err: unknown, api: string, signal?: AbortSignal): LookoutError {
  if (err instanceof LookoutError) return err;
  if (signal?.aborted || isAwsErrorNamed(err, 'AbortError')) return new InterruptedError(`Interrupted during ${api}.`);
  const e = (err ?? {}) as AwsErrorShape;
  const network = unreachable(err);
  if (network) {
    return new FailureError(`cannot reach the AWS endpoint for ${api}: ${network.detail}`, { hint: ENDPOINT_HINT, cause: err });
  }
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

/**
 * Like explainAwsError, and when no credentials were found while a profile is selected, says
 * whether that profile exists at all: the SDK only says "Could not load credentials from any
 * providers". The profiles are read with the SDK's own parser of ~/.aws/config and
 * ~/.aws/credentials (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE move them).
 */
export async function explainAwsErrorWithProfile(
  err: unknown,
  api: string,
  signal?: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LookoutError> {
  const profile = env.AWS_PROFILE?.trim();
  if (!profile || !isAwsErrorNamed(err, 'CredentialsProviderError') || signal?.aborted) return explainAwsError(err, api, signal);
  const { loadSharedConfigFiles } = await import('@smithy/core/config');
  let known: string[] = [];
  try {
    const files = await loadSharedConfigFiles({ ignoreCache: true });
    known = [...new Set([...Object.keys(files.configFile ?? {}), ...Object.keys(files.credentialsFile ?? {})])].sort();
  } catch {
    // Unreadable files: the plain explanation below still applies.
  }
  if (known.includes(profile)) return explainAwsError(err, api, signal);
  const files = `${env.AWS_CONFIG_FILE ?? '~/.aws/config'} or ${env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'}`;
  return new FailureError(`the AWS profile "${profile}" (from AWS_PROFILE) does not exist in ${files}`, {
    hint:
      `Create it (\`aws configure --profile ${profile}\` or \`aws configure sso --profile ${profile}\`), ` +
      (known.length > 0 ? `or set AWS_PROFILE to one of: ${known.join(', ')}.` : 'or unset AWS_PROFILE and use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.'),
    cause: err,
  });
}
