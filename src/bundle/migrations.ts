/**
 * Migrations between bundle versions. A manifest lists the migrations that must run when an
 * instance moves to it from the previous version; this registry holds the steps that
 * implement each id. A migration has steps that run before the platform changes (to record
 * what must survive) and after the cluster stacks are applied (to move or check it). An id
 * without an implementation, or a path that cannot be followed bundle by bundle, stops the
 * upgrade before anything changes.
 */
import type { Step } from '../engine/index.js';
import { FailureError, UsageError } from '../errors.js';
import type { InstanceContext } from '../steps/context.js';
import { loadBundle, type BundleManifest } from './manifest.js';
import { lokiRulerStorageMigration } from './loki-ruler-storage.js';

/** The journal steps of one migration, around the platform step. */
export interface MigrationSteps {
  before: Step[];
  after: Step[];
}

/** Migration id → its steps (the context is only read when the steps run). */
export const MIGRATIONS: Record<string, (c: InstanceContext) => MigrationSteps> = {
  'loki-ruler-storage': lokiRulerStorageMigration,
};

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
    const previous = current.previous;
    let next: BundleManifest;
    try {
      next = load(previous);
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      // The bundle in between is not shipped, so neither are its migrations: none may be skipped.
      throw new UsageError(
        `bundle ${to} cannot be reached from ${from}: bundle ${previous} in between is not shipped by this lookout, so its migrations cannot run and may not be skipped`,
        { hint: `Upgrade to ${previous} first with a lookout that ships it, then to ${to}.` },
      );
    }
    current = next;
  }
  return path;
}

/** A migration on the way to the target, with the bundle that brings it. */
export interface PlannedMigration {
  bundle: string;
  id: string;
  description: string;
  skippable: boolean;
}

/** The migrations to run when moving from bundle `from` to `to`, in order; refuses an unimplemented one. */
export function plannedMigrations(from: string, to: string, load?: (v: string) => BundleManifest): PlannedMigration[] {
  const planned: PlannedMigration[] = [];
  for (const manifest of bundlePath(from, to, load)) {
    for (const migration of manifest.migrations) {
      if (!MIGRATIONS[migration.id]) {
        throw new FailureError(`bundle ${manifest.version} needs migration "${migration.id}", which this lookout does not implement`, {
          hint: 'This lookout installation is inconsistent; reinstall it.',
        });
      }
      planned.push({ bundle: manifest.version, ...migration });
    }
  }
  return planned;
}

/** The steps of the planned migrations, split around the platform step. */
export function migrationSteps(planned: readonly PlannedMigration[], c: InstanceContext): MigrationSteps {
  const all = planned.map((m) => MIGRATIONS[m.id]!(c));
  return { before: all.flatMap((s) => s.before), after: all.flatMap((s) => s.after) };
}

/** How `upgrade` shows the migrations before asking. */
export function renderMigrations(planned: readonly PlannedMigration[]): string[] {
  if (planned.length === 0) return [];
  return ['Migrations:', ...planned.map((m) => `  ${m.id} (bundle ${m.bundle}${m.skippable ? '' : ', required'}): ${m.description}`)];
}
