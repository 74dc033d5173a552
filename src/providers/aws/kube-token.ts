/** `lookout kube-token --cluster <name> --region <region>`: an ExecCredential for kubectl-style clients. */
import { STSClient } from '@aws-sdk/client-sts';
import { explainAwsError } from './errors.js';
import { eksToken, execCredential } from './eks-token.js';

export async function kubeTokenCommand(opts: { cluster: string; region: string }): Promise<void> {
  let credentials;
  try {
    credentials = await new STSClient({ region: opts.region }).config.credentials();
  } catch (err) {
    throw explainAwsError(err, 'loading AWS credentials');
  }
  const { token, expiresAt } = await eksToken({ clusterName: opts.cluster, region: opts.region, credentials });
  process.stdout.write(execCredential(token, expiresAt) + '\n');
}
