import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Vite would load graphql's ESM build while the CommonJS @apollo packages load the CJS one:
    // two instances and failing instanceof checks. One file for everybody.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql/index.js') }],
  },
  test: {
    include: ['gateway/**/*.test.ts', 'subgraphs/**/*.test.ts', 'adapters/**/*.test.ts', 'legacy/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 30_000,
    allowOnly: false,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
    env: { APOLLO_TELEMETRY_DISABLED: 'true' },
  },
});
