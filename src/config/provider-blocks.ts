/**
 * The providers' blocks of lookout.yaml, and the name limits that follow from every name the
 * providers derive. They are loaded once, when the config schema is first imported: the
 * registry keeps them out of `lookout --help`, and the schema needs them before it is built,
 * hence the top-level await. Nothing here may import the schema (it would wait on itself).
 */
import type { z } from 'zod';
import { derivedInstanceNames, longestInstanceName, longestTenantName } from '../naming.js';
import { loadConfigBlocks, type ProviderConfigBlocks, type ProviderId } from '../providers/registry.js';
import type { ProviderConfigBlock } from '../providers/types.js';

export const CONFIG_BLOCKS: readonly ProviderConfigBlock[] = await loadConfigBlocks();

/** The block of a provider, when it has one. */
export function configBlockOf(id: ProviderId): ProviderConfigBlock | undefined {
  return CONFIG_BLOCKS.find((b) => b.id === id);
}

/** The chosen provider's block and its settings in a validated config (none for a provider without a block). */
export function providerSettings(config: { provider: ProviderId }): { block: ProviderConfigBlock; settings: unknown } | undefined {
  const block = configBlockOf(config.provider);
  const settings = block ? (config as unknown as Record<string, unknown>)[block.id] : undefined;
  return block && settings !== undefined ? { block, settings } : undefined;
}

/** Where a validated config says the instance lives (`aws.region`), when its provider says. */
export function configLocation(config: { provider: ProviderId }): { field: string; value: string } | undefined {
  const chosen = providerSettings(config);
  return chosen ? chosen.block.location(chosen.settings as never) : undefined;
}

export type ConfigBlockShape = { [Id in keyof ProviderConfigBlocks]: z.ZodOptional<ProviderConfigBlocks[Id]['schema']> };

/** Each provider's block as an optional field of the config, under the provider's id. */
export function configBlockShape(): ConfigBlockShape {
  return Object.fromEntries(CONFIG_BLOCKS.map((b) => [b.id, b.schema.optional().meta({ description: b.description })])) as unknown as ConfigBlockShape;
}

/**
 * The longest instance name whose derived names all fit on `provider`. Without a provider
 * (commands that find the instance by name), the longest any provider allows: every name
 * `create` accepted must be found again.
 */
export function instanceNameLimit(provider?: ProviderId): number {
  const limitOn = (block: ProviderConfigBlock | undefined) =>
    longestInstanceName((instance) => [...derivedInstanceNames(instance), ...(block?.derivedNames(instance) ?? [])]);
  if (provider !== undefined) return limitOn(configBlockOf(provider));
  return CONFIG_BLOCKS.length > 0 ? Math.max(...CONFIG_BLOCKS.map(limitOn)) : limitOn(undefined);
}

/** The longest instance name any provider accepts: the schema's bound for the file's `name:`. */
export const MAX_INSTANCE_NAME_LENGTH = instanceNameLimit();

/** The longest tenant name: its namespace and its stack name (under the longest instance name) fit. */
export const MAX_TENANT_NAME_LENGTH = longestTenantName(MAX_INSTANCE_NAME_LENGTH);
