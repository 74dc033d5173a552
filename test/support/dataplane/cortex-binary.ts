/**
 * Which built Cortex stands for a bundle's Cortex image: the test/binaries.json entry whose
 * `imageTag` is the bundle's tag (the proxy refuses some releases, so an entry may build the
 * previous patch release and say so in its `why`).
 */
import { loadBundle } from '../../../src/bundle/manifest.js';
// Plain JS shared with the builder.
import { loadPinned } from '../../../scripts/test-binaries-lib.mjs';
import { testBinaries, type Binaries } from '../test-binaries.js';

export interface CortexForBundle {
  bundle: string;
  /** The tag the bundle deploys, e.g. `v1.19.1`. */
  imageTag: string;
  /** The module version built for it, e.g. `v1.19.0`. */
  version: string;
  /** Set when LOOKOUT_TEST_CORTEX chose another pinned version than the bundle's. */
  override?: string;
  binaries: Binaries;
}

/**
 * Cortex for the bundle; with `withStore`, also the S3 server the data plane runs on. With
 * `allowOverride`, LOOKOUT_TEST_CORTEX may pick another pinned version.
 */
export function cortexForBundle(bundle: string, options: { withStore?: boolean; allowOverride?: boolean } = {}): CortexForBundle {
  const imageTag = loadBundle(bundle).components.cortex.image.tag;
  const entry = (loadPinned() as Array<{ name: string; version: string; imageTag?: string }>).find((e) => e.name === 'cortex' && (e.imageTag ?? e.version) === imageTag);
  if (!entry) throw new Error(`test/binaries.json has no cortex entry for bundle ${bundle}'s image tag ${imageTag}`);
  // For trying a data plane on another pinned Cortex (the next bundle's) before a bundle ships it.
  const override = options.allowOverride ? process.env.LOOKOUT_TEST_CORTEX : undefined;
  if (override && !pinnedCortexVersions().includes(override)) throw new Error(`LOOKOUT_TEST_CORTEX=${override}: test/binaries.json pins ${pinnedCortexVersions().join(', ')}`);
  const version = override ?? entry.version;
  return {
    bundle,
    imageTag,
    version,
    ...(override && override !== entry.version ? { override } : {}),
    binaries: testBinaries([{ name: 'cortex', version }, ...(options.withStore ? ['versitygw'] : [])]),
  };
}

/** Every Cortex the list pins, by module version. */
export function pinnedCortexVersions(): string[] {
  return (loadPinned() as Array<{ name: string; version: string }>).filter((e) => e.name === 'cortex').map((e) => e.version);
}
