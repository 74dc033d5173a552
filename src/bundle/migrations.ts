/**
 * Migrations between bundle versions. A manifest lists the ids of the migrations that
 * must run when an instance moves to it from the previous version; this registry holds the
 * step that implements each id. An id without an implementation stops the upgrade before
 * anything changes.
 */
import type { Step } from '../engine/index.js';
import { FailureError, UsageError } from '../errors.js';
import { loadBundle, type BundleManifest } from './manifest.js';

/** Migration id → the step that performs it (none yet: 2026.11.0 is the first bundle). */
export const MIGRATIONS: Record<string, () => Step> = {};

/** The manifests after `from`, up to and including `to`, following `previous` links. */
export function bundlePath(from: string, to: string, load: (v: string) => BundleManifest = loadBundle): BundleManifest[] {
  const path: BundleManifest[] = [];
  let current = load(to);
  while (current.version !== from) {
    path.unshift(current);
    if (!current.previous) {
      throw new UsageError(`bundle ${to} cannot be reached from ${from}: its chain of previous versions does not include ${from}`, {
        hint: 'Upgrade through the bundles in between, or use a lookout that ships them.',
      });
    }
    current = load(current.previous);
  }
  return path;
}

/** The migration steps to run when moving from bundle `from` to `to`, in order. */
export function migrationSteps(from: string, to: string, load?: (v: string) => BundleManifest): Step[] {
  const steps: Step[] = [];
  for (const manifest of bundlePath(from, to, load)) {
    for (const migration of manifest.migrations) {
      const make = MIGRATIONS[migration.id];
      if (!make) {
        throw new FailureError(`bundle ${manifest.version} needs migration "${migration.id}", which this lookout does not implement`, {
          hint: 'This lookout installation is inconsistent; reinstall it.',
        });
      }
      steps.push(make());
    }
  }
  return steps;
}
