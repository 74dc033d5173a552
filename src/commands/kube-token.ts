/**
 * `lookout kube-token [--provider <id>] …`: the credential plugin of the kubeconfig Lookout's
 * own stacks use. The provider prints the ExecCredential; kubeconfigs written before there
 * was a choice name no provider, and mean the registry's default.
 */
import { UsageError } from '../errors.js';
import { KUBE_TOKEN_DEFAULT_PROVIDER, isProviderId, loadProvider, type ProviderId } from '../providers/registry.js';

/** Splits `--provider <id>` (or `--provider=<id>`) off the provider's own arguments. */
export function splitProviderFlag(argv: readonly string[]): { provider: ProviderId; rest: string[] } {
  const rest: string[] = [];
  let provider: string = KUBE_TOKEN_DEFAULT_PROVIDER;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--provider') provider = argv[++i] ?? '';
    else if (arg.startsWith('--provider=')) provider = arg.slice('--provider='.length);
    else rest.push(arg);
  }
  if (!isProviderId(provider)) throw new UsageError(`kube-token: --provider must name a provider, found ${JSON.stringify(provider)}`);
  return { provider, rest };
}

export async function kubeTokenCommand(argv: readonly string[]): Promise<void> {
  const { provider, rest } = splitProviderFlag(argv);
  await (await loadProvider(provider)).kubeToken(rest);
}
