import { defineConfig } from 'vitest/config';

// Runs bench/dataplane.bench.ts alone, with the tests' module resolution (workspace packages from
// their sources): `npm run bench -- dataplane` starts it.
export default defineConfig({
  resolve: { conditions: ['lookout-source'] },
  ssr: { resolve: { conditions: ['lookout-source'] } },
  test: {
    include: ['bench/dataplane.bench.ts'],
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 900_000,
    hookTimeout: 600_000,
    reporters: ['dot'],
  },
});
