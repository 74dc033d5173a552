/**
 * The `aws` block of a validated config. Its own module, without zod, so the parts of the
 * provider that run on every Kubernetes API call (kube-token) and in `status` stay light.
 */
import type { AwsConfig } from './config.js';

/** The `aws` block of a config whose provider is aws (validation guarantees it is there). */
export function awsConfigOf(config: { aws?: AwsConfig | undefined }): AwsConfig {
  if (!config.aws) throw new Error('the config has no `aws` block');
  return config.aws;
}
