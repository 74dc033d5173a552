/**
 * `lookout kube-token --cluster <name> --region <region>`: an ExecCredential for kubectl-style
 * clients, which the kubeconfig of Lookout's own stacks runs on every API call.
 */
import { parseArgs } from 'node:util';
import { STSClient } from '@aws-sdk/client-sts';
import { UsageError } from '../../errors.js';
import { explainAwsError } from './errors.js';
import { eksToken, execCredential } from './eks-token.js';

/** The command's own flags; a mistake is a usage error, as from the command line parser. */
function parseKubeTokenArgs(argv: readonly string[]): { cluster: string; region: string } {
  let values: { cluster?: string | undefined; region?: string | undefined };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { cluster: { type: 'string' }, region: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`kube-token: ${(err as Error).message}`, { hint: 'It takes --cluster <EKS cluster name> --region <AWS region>.' });
  }
  const missing = (['cluster', 'region'] as const).filter((k) => !values[k]);
  if (missing.length > 0) {
    throw new UsageError(`kube-token: required option${missing.length > 1 ? 's' : ''} ${missing.map((k) => `--${k}`).join(' and ')} not given`, {
      hint: 'It takes --cluster <EKS cluster name> --region <AWS region>.',
    });
  }
  return { cluster: values.cluster!, region: values.region! };
}

export async function awsKubeToken(argv: readonly string[]): Promise<void> {
  const opts = parseKubeTokenArgs(argv);
  let credentials;
  try {
    credentials = await new STSClient({ region: opts.region }).config.credentials();
  } catch (err) {
    throw explainAwsError(err, 'loading AWS credentials');
  }
  const { token, expiresAt } = await eksToken({ clusterName: opts.cluster, region: opts.region, credentials });
  process.stdout.write(execCredential(token, expiresAt) + '\n');
}
