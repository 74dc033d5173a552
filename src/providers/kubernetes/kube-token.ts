/**
 * `lookout kube-token --provider kubernetes --context <name>`: the ExecCredential of the
 * stacks' kubeconfig, from the user's own kubeconfig (named by the engine's environment, so
 * the state never holds a path of this machine) as it is right now.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { KUBECONFIG_ENV, contextCredentials, execCredentialFor, readKubeContext } from './kubeconfig.js';

export async function kubernetesKubeToken(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let context: string | undefined;
  try {
    ({ values: { context } } = parseArgs({ args: [...argv], options: { context: { type: 'string' } }, strict: true }));
  } catch (err) {
    throw new UsageError(`kube-token: ${(err as Error).message}`, { hint: 'It takes --context <kubeconfig context>.' });
  }
  if (!context) throw new UsageError('kube-token: required option --context not given');
  const path = env[KUBECONFIG_ENV];
  if (!path) throw new UsageError(`kube-token: ${KUBECONFIG_ENV} is not set`, { hint: 'It is run by lookout’s own stacks, which set it.' });
  return execCredentialFor(await contextCredentials(await readKubeContext(path, context)));
}
