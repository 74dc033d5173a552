import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests, so a test never runs
    // against a stale build of a component.
    conditions: ['lookout-source'],
  },
  test: {
    include: ['test/**/*.test.ts', 'components/*/test/**/*.test.ts'],
    exclude: ['test/e2e/**', '**/node_modules/**'],
    // Pulumi's runtime and signal handling are process-global: isolate test files in processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
