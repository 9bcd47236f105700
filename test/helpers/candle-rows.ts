import type {Warehouse} from '../../src/pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../../src/pipeline/schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../src/pipeline/timeframes.js'
import {micros} from './warehouse.js'

/** Inserts one candle straight into a timeframe's table (no trades behind it), as an old warehouse would hold it (no kline fields). */
export async function insertCandle(warehouse: Warehouse, tf: Timeframe, candle: {symbol: string; exchange?: string; start: string}): Promise<void> {
  await warehouse.run(
    `INSERT INTO ${TIMEFRAME_SPECS[tf].table}
     SELECT $symbol, $exchange, make_timestamp($start::BIGINT), make_timestamp($start::BIGINT + $size::BIGINT), make_timestamp($start::BIGINT)::DATE,
            100, 101, 99, 100.5, 2, 3, 100.25, make_timestamp($start::BIGINT), make_timestamp($start::BIGINT), NULL, NULL, NULL`,
    {symbol: candle.symbol, exchange: candle.exchange ?? 'BINANCE', start: BigInt(micros(candle.start)), size: BigInt(TIMEFRAME_SPECS[tf].micros)},
  )
}

/** Rows per table and date: `{'1m 2025-11-30': 3, 'trades 2026-01-28': 40, ...}`. */
export async function rowsPerDay(warehouse: Warehouse): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  const tables: Array<[string, string, string]> = [...TIMEFRAMES.map((tf): [string, string, string] => [tf, TIMEFRAME_SPECS[tf].table, 'window_date']), ['trades', TRADES_TABLE, 'exchange_date']]
  for (const [name, table, column] of tables) {
    const rows = await warehouse.all<{day: string; rows: bigint}>(`SELECT strftime(${column}, '%Y-%m-%d') AS day, count(*) AS rows FROM ${table} GROUP BY ALL`)
    for (const row of rows) counts[`${name} ${row.day}`] = Number(row.rows)
  }

  return counts
}
