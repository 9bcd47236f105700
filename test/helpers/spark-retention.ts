import type {Engine} from '../../src/pipeline/engine/engine.js'
import type {SparkEngine} from '../../src/pipeline/engine/spark/spark-engine.js'
import type {RetentionSeed} from './retention-fixture.js'

import {sqlBigint, sqlString} from '../../src/pipeline/engine/spark/sql-text.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../src/pipeline/timeframes.js'
import {insertSparkTrades} from './spark-engine.js'
import {micros} from './warehouse.js'

/** Candles straight into the Iceberg tables (no trades behind them), one INSERT (one commit) per timeframe, in one request. */
export async function insertSparkCandles(engine: Engine, candles: RetentionSeed['candles']): Promise<void> {
  const spark = engine as SparkEngine
  const statements = TIMEFRAMES.flatMap((tf) => {
    const own = candles.filter((candle) => candle.tf === tf)
    if (own.length === 0) return []
    const values = own.map((candle) => `(${sqlString(candle.symbol)}, ${sqlBigint(micros(candle.start))})`).join(', ')
    const at = 'timestamp_micros(s)'
    const price = (value: string) => `CAST(${value} AS DECIMAL(18,8))`
    return [
      `INSERT INTO ${spark.tables.candles(tf)}
       SELECT symbol, 'BINANCE', ${at}, timestamp_micros(s + ${sqlBigint(TIMEFRAME_SPECS[tf].micros)}), CAST(${at} AS DATE),
              ${price('100')}, ${price('101')}, ${price('99')}, ${price('100.5')}, CAST(2 AS DECIMAL(38,8)), CAST(3 AS BIGINT), ${price('100.25')}, ${at}, ${at},
              CAST(NULL AS DECIMAL(38,16)), CAST(NULL AS DECIMAL(38,8)), CAST(NULL AS DECIMAL(38,16))
       FROM VALUES ${values} AS v(symbol, s)`,
    ]
  })
  if (statements.length > 0) await spark.session.sql(statements)
}

export async function insertSparkRows(engine: Engine, rows: Partial<RetentionSeed>): Promise<void> {
  await insertSparkCandles(engine, rows.candles ?? [])
  if (rows.trades?.length) await insertSparkTrades(engine, rows.trades)
}

/** Rows per table and date, as test/helpers/candle-rows.ts rowsPerDay gives them on DuckDB, in one request. */
export async function sparkRowsPerDay(engine: Engine): Promise<Record<string, number>> {
  const spark = engine as SparkEngine
  const tables: Array<[string, string, string]> = [...TIMEFRAMES.map((tf): [string, string, string] => [tf, spark.tables.candles(tf), 'window_date']), ['trades', spark.tables.trades, 'exchange_date']]
  const results = await spark.session.sql(tables.map(([, table, column]) => `SELECT CAST(${column} AS STRING), count(*) FROM ${table} GROUP BY ${column}`))
  const counts: Record<string, number> = {}
  for (const [index, [name]] of tables.entries()) for (const [day, rows] of results[index].rows) counts[`${name} ${day}`] = Number(rows)
  return counts
}

/** How many snapshots a table keeps (its `snapshots` metadata table). */
export async function snapshotCount(engine: Engine, table: string): Promise<number> {
  const [result] = await (engine as SparkEngine).session.sql([`SELECT count(*) FROM ${table}.snapshots`])
  return Number(result.rows[0][0])
}
