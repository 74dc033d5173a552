/**
 * Tenant stacks installed at the same time by default. Each is its own Pulumi stack, engine and
 * Kubernetes provider, independent of the others (they share only the instance's secret store,
 * whose changes are serialized); most of a stack's time is spent waiting on the engine and the
 * API server, so a few at once cut `create` with many tenants several times over. Kept apart
 * (no imports) so that the CLI can show it in `--help` without loading the steps.
 */
export const DEFAULT_TENANT_PARALLELISM = 4;
