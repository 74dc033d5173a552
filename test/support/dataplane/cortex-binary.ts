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
  binaries: Binaries;
}

/** Cortex for the bundle; with `withStore`, also the S3 server the data plane runs on. */
export function cortexForBundle(bundle: string, options: { withStore?: boolean } = {}): CortexForBundle {
  const imageTag = loadBundle(bundle).components.cortex.image.tag;
  const entry = (loadPinned() as Array<{ name: string; version: string; imageTag?: string }>).find((e) => e.name === 'cortex' && (e.imageTag ?? e.version) === imageTag);
  if (!entry) throw new Error(`test/binaries.json has no cortex entry for bundle ${bundle}'s image tag ${imageTag}`);
  return { bundle, imageTag, version: entry.version, binaries: testBinaries([{ name: 'cortex', version: entry.version }, ...(options.withStore ? ['versitygw'] : [])]) };
}

/** Every Cortex the list pins, by module version. */
export function pinnedCortexVersions(): string[] {
  return (loadPinned() as Array<{ name: string; version: string }>).filter((e) => e.name === 'cortex').map((e) => e.version);
}
