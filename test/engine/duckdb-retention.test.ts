import {expect} from 'vitest'

import {join} from 'node:path'

import {DuckdbEngine, warehouseOf} from '../../src/pipeline/engine/duckdb/duckdb-engine.js'
import {insertCandle, rowsPerDay} from '../helpers/candle-rows.js'
import {useTempDir} from '../helpers/temp-home.js'
import {insertTrades} from '../helpers/warehouse.js'
import {retentionSuite} from './retention.suite.js'

const tempDir = useTempDir('k2ops-retention-')

retentionSuite({
  name: 'DuckDB',
  kind: 'duckdb',
  newHome: async () => tempDir(),
  env: {},
  open: (home) => DuckdbEngine.open(join(home, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 10_000, create: true}),
  async insertRows(engine, rows) {
    const warehouse = warehouseOf(engine)
    for (const candle of rows.candles ?? []) await insertCandle(warehouse, candle.tf, candle)
    if (rows.trades?.length) await insertTrades(warehouse, rows.trades)
  },
  rowsPerDay: (engine) => rowsPerDay(warehouseOf(engine)),
  timeoutMs: 120_000,
  checkDryRun(json) {
    // DuckDB has no files to rewrite: every delete is a plain DELETE in one transaction.
    for (const table of json.json.plan) expect(table).toMatchObject({rewritesFiles: false, filesToRewrite: 0})
  },
})
