import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources in tests, so a test never runs
    // against a stale build of a component.
    conditions: ['lookout-source'],
  },
  // Test files run as server-side modules, which resolve with their own conditions.
  ssr: { resolve: { conditions: ['lookout-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'components/*/test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-warnings.ts'],
    exclude: ['test/e2e/**', '**/node_modules/**'],
    // Pulumi's runtime and signal handling are process-global: isolate test files in processes.
    pool: 'forks',
    // Keeps the AWS SDK's Node-version notice out of test output (see src/cli.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
