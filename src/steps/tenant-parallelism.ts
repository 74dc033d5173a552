/**
 * Tenant stacks installed at the same time by default. Each is its own Pulumi stack, engine and
 * Kubernetes provider, independent of the others (they share only the instance's secret store,
 * whose changes are serialized). Most of a stack's time is spent waiting on the engine and the
 * API server: on 2 cores and kwok, `create` with 50 tenants took 196 s with 4 and 124 s with 8
 * at once (`bench/tenants-kwok.mjs`; 1,303 s one at a time before the plugin fix), the goal being
 * 5 minutes. Each engine with its provider takes about 270 MB, so 8 at once take about 2.7 GB;
 * `--parallel` lowers it. Kept apart (no imports) so that the CLI can show it in `--help` without loading
 * the steps.
 */
export const DEFAULT_TENANT_PARALLELISM = 8;
