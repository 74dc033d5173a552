/** The `<provider>` argument of `plan`, `create` and `config validate`. */
import { UsageError } from '../errors.js';
import { PROVIDER_IDS, isProviderId, type ProviderId } from '../providers/registry.js';

/** A provider the registry lists (the parser already checked the choice; this guards direct callers). */
export function requireProvider(provider: string): ProviderId {
  if (!isProviderId(provider)) {
    const choices = `${PROVIDER_IDS.slice(0, -1).join(', ')} or ${PROVIDER_IDS.at(-1)}`;
    throw new UsageError(`the <provider> argument must be ${choices}, found ${JSON.stringify(provider)}`);
  }
  return provider;
}
