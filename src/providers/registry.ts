/**
 * Every provider Lookout knows, in one place: a new cloud is one folder under src/providers/
 * and one entry here. The registry is read by the command line (`lookout --help` lists the
 * `<provider>` choices), so it must stay light: each provider's config block and
 * implementation are imported only when asked for, and neither Pulumi nor a cloud SDK is
 * loaded by importing this module.
 */
import type { awsConfigBlock } from './aws/config.js';
import type { gcpConfigBlock } from './gcp/config.js';
import type { kubernetesConfigBlock } from './kubernetes/config.js';
import { UsageError } from '../errors.js';
import type { CloudProvider, ProviderConfigBlock } from './types.js';

export const PROVIDER_IDS = ['aws', 'gcp', 'kubernetes'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** The config blocks of the providers that have one, by id, as the config schema composes them. */
export interface ProviderConfigBlocks {
  aws: typeof awsConfigBlock;
  gcp: typeof gcpConfigBlock;
  kubernetes: typeof kubernetesConfigBlock;
}

interface Named {
  /** What users call it, as in "AWS instances". */
  title: string;
  /** One instance on it, as in "for an AWS instance". */
  anInstance: string;
}

interface AvailableProvider<Id extends ProviderId> extends Named {
  /** Its block of lookout.yaml (zod only: loaded for config validation, never for --help). */
  configBlock(): Promise<Id extends keyof ProviderConfigBlocks ? ProviderConfigBlocks[Id] : ProviderConfigBlock>;
  /** The implementation; its own modules load Pulumi and the cloud SDKs lazily in turn. */
  load(): Promise<CloudProvider>;
  /**
   * For a provider still being built: the commands that work so far. The others refuse with
   * exit 2 and `notYet`, as a reserved provider's do, so a partial provider breaks nothing.
   */
  partial?: { commands: readonly string[]; notYet: string };
}

/** Part of the command-line contract, not built yet: commands that need it refuse with exit 2. */
interface ReservedProvider extends Named {
  /** Why it cannot be used yet, after "`<command> <id>` is not supported yet: ". */
  notYet: string;
}

type Entry<Id extends ProviderId> = AvailableProvider<Id> | ReservedProvider;

const REGISTRY: { [Id in ProviderId]: Entry<Id> } = {
  aws: {
    title: 'AWS',
    anInstance: 'an AWS instance',
    configBlock: async () => (await import('./aws/config.js')).awsConfigBlock,
    load: async () => (await import('./aws/index.js')).awsProvider,
  },
  gcp: {
    title: 'GCP',
    anInstance: 'a GCP instance',
    configBlock: async () => (await import('./gcp/config.js')).gcpConfigBlock,
    load: async () => (await import('./gcp/index.js')).gcpProvider,
  },
  kubernetes: {
    title: 'Kubernetes',
    anInstance: 'an instance in an existing Kubernetes cluster',
    configBlock: async () => (await import('./kubernetes/config.js')).kubernetesConfigBlock,
    load: async () => (await import('./kubernetes/index.js')).kubernetesProvider,
  },
};

/**
 * The provider named in kubeconfigs written before the seam existed: they run
 * `lookout kube-token --cluster … --region …` with no provider, and live on in users' state.
 */
export const KUBE_TOKEN_DEFAULT_PROVIDER: ProviderId = 'aws';

export function isProviderId(value: string): value is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(value);
}

export function providerTitle(id: ProviderId): string {
  return REGISTRY[id].title;
}

function available(id: ProviderId): AvailableProvider<ProviderId> | undefined {
  const entry = REGISTRY[id] as Entry<ProviderId>;
  return 'load' in entry ? entry : undefined;
}

/** The providers that can be used today (for `command`, when given: a partial provider may lack it). */
export function availableProviderIds(command?: string): ProviderId[] {
  return PROVIDER_IDS.filter((id) => {
    const entry = available(id);
    return entry !== undefined && (command === undefined || entry.partial === undefined || entry.partial.commands.includes(command));
  });
}

/**
 * Refuses a provider that is registered but not built yet, naming the command, with exit 2
 * and the command that works instead.
 */
export function assertProviderAvailable(id: ProviderId, command: string): void {
  const entry = REGISTRY[id] as Entry<ProviderId>;
  const notYet = 'notYet' in entry ? entry.notYet : entry.partial?.commands.includes(command) === false ? entry.partial.notYet : undefined;
  if (notYet !== undefined) {
    const alternatives = availableProviderIds(command).map((a) => `\`lookout ${command} ${a} <name> -c <file>\` for ${REGISTRY[a].anInstance}`);
    throw new UsageError(`\`${command} ${id}\` is not supported yet: ${notYet}`, {
      hint: `Use ${alternatives.join(', or ')}.`,
    });
  }
}

/** Loads a provider's implementation (once; later calls share it). */
export async function loadProvider(id: ProviderId): Promise<CloudProvider> {
  const entry = REGISTRY[id] as Entry<ProviderId>;
  if ('notYet' in entry) throw new UsageError(`provider "${id}" is not supported yet: ${entry.notYet}`);
  return entry.load();
}

/** The config blocks of every available provider, in registry order. */
export async function loadConfigBlocks(): Promise<ProviderConfigBlock[]> {
  const blocks: Array<ProviderConfigBlock | undefined> = await Promise.all(
    PROVIDER_IDS.map(async (id): Promise<ProviderConfigBlock | undefined> => (await available(id)?.configBlock()) as ProviderConfigBlock | undefined),
  );
  return blocks.filter((b): b is ProviderConfigBlock => b !== undefined);
}
