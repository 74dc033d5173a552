/**
 * The `kubernetes` block of a validated config, and the label that marks what belongs to an
 * instance. Its own module, without zod, so `kube-token` (run on every API call) stays light.
 */
import type { KubernetesConfig } from './config.js';

/** On every object Lookout's stacks make in a cluster it does not own: which instance made it. */
export const OWNER_LABEL = 'lookout.dev/instance';

/** The `kubernetes` block of a config whose provider is kubernetes (validation guarantees it is there). */
export function kubernetesConfigOf(config: { kubernetes?: KubernetesConfig | undefined }): KubernetesConfig {
  if (!config.kubernetes) throw new Error('the config has no `kubernetes` block');
  return config.kubernetes;
}
