import type {FreshnessFigures} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../../../schema.js'
import {MICROS_PER_DAY} from '../../../time.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../../timeframes.js'

export async function freshnessFigures(warehouse: Warehouse, timeframes: Timeframe[]): Promise<FreshnessFigures> {
  const exchanges = await newestTradePerExchange(warehouse)
  const candles: FreshnessFigures['candles'] = []
  for (const tf of timeframes) {
    const row = await warehouse.one<{newest: bigint | null; candles: bigint}>(`SELECT max(epoch_us(window_end)) AS newest, count(*) AS candles FROM ${TIMEFRAME_SPECS[tf].table}`)
    candles.push({timeframe: tf, candles: Number(row.candles), newestEndMicros: row.newest === null ? null : Number(row.newest)})
  }

  return {exchanges, candles}
}

/**
 * Each exchange's newest trade. Looking only at the last day before the newest trade lets DuckDB
 * skip every older row group (trades arrive roughly in time order); an exchange silent for longer
 * than that is looked up on its own.
 */
async function newestTradePerExchange(warehouse: Warehouse): Promise<FreshnessFigures['exchanges']> {
  const recent = await warehouse.all<{exchange: string; newest: bigint}>(
    `SELECT exchange, max("timestamp") AS newest FROM ${TRADES_TABLE}
     WHERE "timestamp" >= (SELECT max("timestamp") FROM ${TRADES_TABLE}) - ${MICROS_PER_DAY}
     GROUP BY exchange`,
  )
  const all = await warehouse.all<{exchange: string}>(`SELECT DISTINCT exchange FROM ${TRADES_TABLE}`)
  const found = new Set(recent.map((row) => row.exchange))
  for (const {exchange} of all.filter((row) => !found.has(row.exchange))) {
    recent.push(await warehouse.one<{exchange: string; newest: bigint}>(`SELECT $exchange AS exchange, max("timestamp") AS newest FROM ${TRADES_TABLE} WHERE exchange = $exchange`, {exchange}))
  }

  return recent.map((row) => ({exchange: row.exchange, newestMicros: Number(row.newest)}))
}
