import {join} from 'node:path'

import {DuckdbEngine, warehouseOf} from '../../src/pipeline/engine/duckdb/duckdb-engine.js'
import {TRADES_TABLE} from '../../src/pipeline/schema.js'
import {candles, insertTrades} from '../helpers/warehouse.js'
import {candleSemanticsSuite} from './candle-semantics.suite.js'

candleSemanticsSuite({
  name: 'DuckDB',
  open: (dir) => DuckdbEngine.open(join(dir, 'warehouse.duckdb'), {operation: 'test', lockTimeoutMs: 2000, create: true}),
  ingestRows: (engine, trades, defaultIngestedAt) => insertTrades(warehouseOf(engine), trades, defaultIngestedAt),
  storedCandles: (engine, tf) => candles(warehouseOf(engine), tf),
  deleteTrades: (engine) => warehouseOf(engine).run(`DELETE FROM ${TRADES_TABLE}`),
})
