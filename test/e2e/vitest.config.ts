import { defineConfig } from 'vitest/config';

// The opt-in suite against a real cloud account: `npm run test:e2e`. See test/e2e/README.md.
export default defineConfig({
  resolve: { conditions: ['lookout-source'] },
  ssr: { resolve: { conditions: ['lookout-source'] } },
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // A real EKS create takes 15–20 minutes and destroy about 10.
    testTimeout: 60 * 60_000,
    hookTimeout: 60 * 60_000,
    fileParallelism: false,
  },
});
