/**
 * Bundle manifests: `bundles/<version>.json` pins every component of the platform to an
 * upstream release image, records default sizing, and lists the migrations from the
 * previous bundle. The instance records which bundle it runs; `upgrade --to` moves it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { FailureError, UsageError } from '../errors.js';

const imageSchema = z.strictObject({
  repository: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+$/),
  tag: z.string().min(1).refine((t) => t !== 'latest', { message: 'must be a released version, not latest' }),
  digest: z
    .string()
    .regex(/^sha256:[a-f0-9]{64}$/)
    .optional(),
});

const resourcesSchema = z.strictObject({
  requests: z.strictObject({ cpu: z.string(), memory: z.string() }),
  limits: z.strictObject({ cpu: z.string().optional(), memory: z.string() }),
});

const workloadSchema = z.strictObject({
  replicas: z.number().int().min(1),
  resources: resourcesSchema,
  storage: z.string().regex(/^\d+(Mi|Gi|Ti)$/).optional(),
});

/** DaemonSets run one pod per node: no replica count. */
const daemonSchema = z.strictObject({ resources: resourcesSchema });

/**
 * A migration that moving to this bundle needs. Its description is what `upgrade` shows
 * before asking. `skippable: false` means an instance may not cross this bundle without it:
 * an upgrade whose path to the target cannot be followed through this bundle is refused.
 */
const migrationSchema = z.strictObject({
  id: z.string().min(1),
  description: z.string().min(1),
  skippable: z.boolean().default(false),
});

/**
 * What was checked upstream for this component's version: the release tag (or commit) as
 * found in the upstream repository, and what changed there that matters to Lookout. A version
 * that could not be verified is kept from the previous bundle, and `verified` says so.
 */
const upstreamSchema = z.strictObject({
  verified: z.string().min(1),
  notes: z.array(z.string().min(1)),
});

const componentSchema = z.strictObject({ image: imageSchema, upstream: upstreamSchema.optional() });

/** Where Loki keeps its rule groups; see @lookout/log-store's `LokiRuleStorage`. */
const lokiComponentSchema = componentSchema.extend({
  ruleStorage: z.enum(['ruler.storage', 'ruler_storage']).default('ruler.storage'),
});

export const bundleManifestSchema = z.strictObject({
  version: z.string().regex(/^\d{4}\.\d{1,2}\.\d+$/),
  released: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  previous: z.string().nullable(),
  notes: z.string().optional(),
  components: z.strictObject({
    cortex: componentSchema,
    loki: lokiComponentSchema,
    grafana: componentSchema,
    gateway: componentSchema,
    alloy: componentSchema,
    kubeStateMetrics: componentSchema,
    nodeExporter: componentSchema,
  }),
  sizing: z.strictObject({
    cortex: z.strictObject({
      distributor: workloadSchema,
      ingester: workloadSchema,
      querier: workloadSchema,
      queryFrontend: workloadSchema,
      storeGateway: workloadSchema,
      compactor: workloadSchema,
      ruler: workloadSchema,
      alertmanager: workloadSchema,
      // Publishes each tenant's limits (`cortex_overrides`); one replica.
      overridesExporter: workloadSchema.extend({ replicas: z.literal(1) }),
    }),
    loki: z.strictObject({ write: workloadSchema, read: workloadSchema, backend: workloadSchema }),
    gateway: workloadSchema,
    grafana: workloadSchema,
    alloy: daemonSchema,
    kubeStateMetrics: workloadSchema,
    nodeExporter: daemonSchema,
  }),
  migrations: z.array(migrationSchema),
});

export type BundleManifest = z.infer<typeof bundleManifestSchema>;
/** A manifest as written in `bundles/<version>.json`, before defaults are filled in. */
export type BundleManifestInput = z.input<typeof bundleManifestSchema>;
export type BundleComponent = keyof BundleManifest['components'];

/** `bundles/` at the package root, from the sources (src/bundle) or the build (dist/src/bundle). */
const bundlesDir = [new URL('../../bundles/', import.meta.url), new URL('../../../bundles/', import.meta.url)].find((dir) =>
  existsSync(dir),
)!;

/** The bundle versions this lookout ships, oldest first. */
export function availableBundles(): string[] {
  return readdirSync(bundlesDir)
    .filter((f) => /^\d{4}\.\d{1,2}\.\d+\.json$/.test(f))
    .map((f) => f.slice(0, -'.json'.length))
    .sort((a, b) => {
      const pa = a.split('.').map(Number);
      const pb = b.split('.').map(Number);
      return pa[0]! - pb[0]! || pa[1]! - pb[1]! || pa[2]! - pb[2]!;
    });
}

export function loadBundle(version: string): BundleManifest {
  const available = availableBundles();
  if (!available.includes(version)) {
    throw new UsageError(`bundle ${version} is not known to this lookout (it ships ${available.join(', ')})`, {
      hint: 'Use one of those versions, or upgrade lookout to get newer bundles.',
    });
  }
  const raw = JSON.parse(readFileSync(new URL(`${version}.json`, bundlesDir), 'utf8')) as unknown;
  const parsed = bundleManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FailureError(`bundles/${version}.json is invalid at ${issue.path.join('.')}: ${issue.message}`, {
      hint: 'This lookout installation is damaged; reinstall it.',
    });
  }
  if (parsed.data.version !== version) {
    throw new FailureError(`bundles/${version}.json declares version ${parsed.data.version}`);
  }
  return parsed.data;
}

/** Component name → `repository:tag`, for `status` and `plan`. */
export function componentVersions(bundle: BundleManifest): Record<string, string> {
  return Object.fromEntries(Object.entries(bundle.components).map(([name, c]) => [name, c.image.tag]));
}
