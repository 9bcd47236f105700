import type {CandleQuery, CandleRow} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {isoSql} from './sql-time.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'

/** The newest `limit` candles of a symbol in a range, oldest first; decimals kept as exact text. */
export async function readCandles(warehouse: Warehouse, query: CandleQuery): Promise<CandleRow[]> {
  const {table} = TIMEFRAME_SPECS[query.timeframe]
  const params: Record<string, string | bigint | number> = {symbol: query.symbol, limit: query.limit}
  const where = ['symbol = $symbol']
  if (query.exchange) {
    where.push('exchange = $exchange')
    params.exchange = query.exchange
  }

  if (query.fromMicros !== undefined) {
    where.push('window_start >= make_timestamp($from::BIGINT)')
    params.from = BigInt(query.fromMicros)
  }

  if (query.toMicros !== undefined) {
    where.push('window_start < make_timestamp($to::BIGINT)')
    params.to = BigInt(query.toMicros)
  }

  return warehouse.json<CandleRow>(
    `SELECT * EXCLUDE (ws) FROM (
       SELECT symbol, exchange, ${isoSql('window_start')} AS window_start, ${isoSql('window_end')} AS window_end,
              open_price, high_price, low_price, close_price, volume, trade_count, vwap,
              quote_volume, taker_buy_volume, taker_buy_quote_volume, window_start AS ws
       FROM ${table} c WHERE ${where.join(' AND ')}
       ORDER BY c.window_start DESC, exchange LIMIT $limit::INTEGER
     ) ORDER BY ws, exchange`,
    params,
  )
}

/** Which symbols and exchanges have candles, to suggest when a query finds none. */
export async function knownMarkets(warehouse: Warehouse, timeframe: Timeframe): Promise<Array<{symbol: string; exchange: string}>> {
  return warehouse.json(`SELECT DISTINCT symbol, exchange FROM ${TIMEFRAME_SPECS[timeframe].table} ORDER BY 1, 2 LIMIT 20`)
}
