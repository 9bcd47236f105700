import {afterAll, beforeAll, vi} from 'vitest'

import {candleSemanticsSuite} from '../engine/candle-semantics.suite.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {SparkTestHome, insertSparkTrades, sparkCandles} from '../helpers/spark-engine.js'

// The candle semantics of DESIGN.md on Spark + Iceberg: the same suite as on DuckDB
// (test/engine/duckdb.test.ts), on one warm driver whose tables each test starts empty.
describeSpark('Spark engine', () => {
  // A Spark job costs about a second: a test that runs every flow a few times takes a minute.
  vi.setConfig({testTimeout: 300_000})
  const spark = new SparkTestHome()
  beforeAll(async () => (await spark.openEmpty()).close(), SPARK_START_TIMEOUT_MS)
  afterAll(() => spark.stop())
  candleSemanticsSuite({
    name: 'Spark',
    open: () => spark.openEmpty(),
    ingestRows: insertSparkTrades,
    storedCandles: sparkCandles,
    deleteTrades: async (engine) => {
      await spark.deleteTrades(engine)
    },
  })
})
