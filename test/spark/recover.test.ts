import {rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {vi} from 'vitest'

import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'

import {openEngine} from '../../src/pipeline/engine/index.js'
import {stopDriver} from '../../src/pipeline/engine/spark/session.js'
import {resolveHome} from '../../src/pipeline/home.js'
import {recoverSuite} from '../engine/recover.suite.js'
import {SPARK_START_TIMEOUT_MS, describeSpark} from '../helpers/spark.js'
import {sparkCandles} from '../helpers/spark-engine.js'

// The engine-neutral recover suite on Spark + Iceberg (DuckDB: test/e2e/recover-duckdb.test.ts):
// one demo home and its warm driver for the file, stopped at the end. (slow: minutes)

const homeOf = (dir: string) => resolveHome({home: dir, defaultDir: dir})

/** An engine on the home the CLI made (no lock: the tests change candles between the commands). */
async function withSpark<T>(dir: string, work: (engine: SparkEngine) => Promise<T>): Promise<T> {
  const engine = (await openEngine(homeOf(dir), {operation: 'test', lockTimeoutMs: 60_000, readOnly: true})) as SparkEngine
  try {
    return await work(engine)
  } finally {
    await engine.close()
  }
}

describeSpark('recover on the Spark engine', () => {
  vi.setConfig({testTimeout: SPARK_START_TIMEOUT_MS + 300_000})
  recoverSuite({
    name: 'Spark',
    kind: 'spark',
    cliTimeoutMs: SPARK_START_TIMEOUT_MS + 240_000,
    candles: (dir, tf) => withSpark(dir, (engine) => sparkCandles(engine, tf)),
    execute: (dir, statements) =>
      withSpark(dir, async (engine) => {
        await engine.session.sql(statements((tf) => engine.tables.candles(tf)))
      }),
    // One data file of the current 1m snapshot, gone: queries that read the table's manifests only (count(*)) do not notice.
    damage: (dir) =>
      withSpark(dir, async (engine) => {
        const [files] = await engine.session.sql([`SELECT file_path FROM ${engine.tables.candles('1m')}.files WHERE content = 0 ORDER BY file_path LIMIT 1`])
        const path = String(files.rows[0][0])
        rmSync(fileURLToPath(path.replace(/^file:(?!\/\/)/, 'file://')))
        return new RegExp(`^market_data\\.gold_ohlcv_1m: data file missing: ${path.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
      }),
    stop: async (dir) => {
      await stopDriver(homeOf(dir)).catch(() => {})
    },
  })
})
