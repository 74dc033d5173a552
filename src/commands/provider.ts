import { UsageError } from '../errors.js';

/** GCP is accepted by the argument parser (it is part of the contract) but not built yet. */
export function assertProviderSupported(provider: string, command: string): void {
  if (provider === 'gcp') {
    throw new UsageError(`\`${command} gcp\` is not supported yet: GCP support comes in a later release`, {
      hint: `Use \`lookout ${command} aws <name> -c <file>\` for an AWS instance.`,
    });
  }
}
