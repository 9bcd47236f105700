import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    // test/spark/** needs a real Spark (`npm run spark:setup`) for its session tests: they skip
    // with a message where it is missing, so the default run keeps them; `npm run test:spark` runs
    // that folder alone (CI, with K2OPS_REQUIRE_SPARK=1).
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end tests spawn the CLI and share one machine with DuckDB's own threads.
    maxWorkers: 2,
  },
})
