import type {CandleQuery, CandleRow, TradeQuery, TradeRow} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {isoSql} from './sql-time.js'
import {loadDuckDB} from './duckdb-module.js'
import {TRADES_TABLE, tradesCounted} from '../../schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'

/** The newest `limit` candles of a symbol in a range, oldest first; decimals kept as exact text. */
export async function readCandles(warehouse: Warehouse, query: CandleQuery): Promise<CandleRow[]> {
  const {table} = TIMEFRAME_SPECS[query.timeframe]
  const {listValue} = loadDuckDB()
  const params: Record<string, string | bigint | number | ReturnType<typeof listValue>> = {limit: query.limit}
  const where = ['true']
  if (query.symbol !== undefined) {
    where.push('list_contains($symbols::VARCHAR[], symbol)')
    params.symbols = listValue(typeof query.symbol === 'string' ? [query.symbol] : query.symbol)
  }

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
       ORDER BY c.window_start DESC, exchange DESC, symbol DESC LIMIT $limit::INTEGER
     ) ORDER BY ws, exchange, symbol`,
    params,
  )
}

/** Which symbols and exchanges have candles, to suggest when a query finds none. */
export async function knownMarkets(warehouse: Warehouse, timeframe: Timeframe, limit = 20): Promise<Array<{symbol: string; exchange: string}>> {
  return warehouse.json(`SELECT DISTINCT symbol, exchange FROM ${TIMEFRAME_SPECS[timeframe].table} ORDER BY 1, 2 LIMIT ${Math.floor(limit)}`)
}

/** engine.ts readTrades: per exchange, in the candles' order (a trade without a sequence after those with one). */
export async function readTrades(warehouse: Warehouse, query: TradeQuery): Promise<TradeRow[]> {
  const params: Record<string, string | bigint | number> = {symbol: query.symbol, from: BigInt(query.fromMicros), to: BigInt(query.toMicros), limit: query.limit}
  if (query.exchange) params.exchange = query.exchange
  const rows = await warehouse.json<{exchange: string; symbol: string; ts: string; price: string; quantity: string; trades: string}>(
    `SELECT t.exchange, t.symbol, t."timestamp" AS ts, CAST(t.price AS VARCHAR) AS price, CAST(t.quantity AS VARCHAR) AS quantity, ${tradesCounted()} AS trades
     FROM ${TRADES_TABLE} t
     WHERE t.symbol = $symbol AND t."timestamp" >= $from::BIGINT AND t."timestamp" < $to::BIGINT${query.exchange ? ' AND t.exchange = $exchange' : ''}
     ORDER BY t.exchange, t."timestamp", coalesce(t.source_sequence, 9223372036854775807), t.trade_id
     LIMIT $limit::INTEGER`,
    params,
  )
  return rows.map((row) => ({exchange: row.exchange, symbol: row.symbol, timestampMicros: Number(row.ts), price: row.price, quantity: row.quantity, trades: Number(row.trades)}))
}
