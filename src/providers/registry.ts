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
}

interface Entry<Id extends ProviderId> extends Named {
  /** Its block of lookout.yaml (zod only: loaded for config validation, never for --help). */
  configBlock(): Promise<Id extends keyof ProviderConfigBlocks ? ProviderConfigBlocks[Id] : ProviderConfigBlock>;
  /** The implementation; its own modules load Pulumi and the cloud SDKs lazily in turn. */
  load(): Promise<CloudProvider>;
}

const REGISTRY: { [Id in ProviderId]: Entry<Id> } = {
  aws: {
    title: 'AWS',
    configBlock: async () => (await import('./aws/config.js')).awsConfigBlock,
    load: async () => (await import('./aws/index.js')).awsProvider,
  },
  gcp: {
    title: 'GCP',
    configBlock: async () => (await import('./gcp/config.js')).gcpConfigBlock,
    load: async () => (await import('./gcp/index.js')).gcpProvider,
  },
  kubernetes: {
    title: 'Kubernetes',
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

/** Loads a provider's implementation (once; later calls share it). */
export async function loadProvider(id: ProviderId): Promise<CloudProvider> {
  return REGISTRY[id].load();
}

/** The config blocks of every provider, in registry order. */
export async function loadConfigBlocks(): Promise<ProviderConfigBlock[]> {
  return Promise.all(PROVIDER_IDS.map(async (id) => (await REGISTRY[id].configBlock()) as ProviderConfigBlock));
}
