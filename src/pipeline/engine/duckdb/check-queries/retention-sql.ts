import type {DoomedTradesFigures, DoomedTradesRequest, DoomedWindow, Offending} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../../../schema.js'
import {isoSql} from '../sql-time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../../timeframes.js'
import {MINUTE, TradeMinutes, numberOrNull, tradeWindowsSql} from './trade-minutes.js'

const DOOMED_TABLE = 'k2_retention_doomed_minutes'

/**
 * The trades a retention would delete (exchange_date before the cutoff), and per timeframe the
 * windows of them, on days its policy keeps, that have no candle or one whose trade_count or
 * volume differs from all of the window's trades (also those dated on or after the cutoff).
 */
export async function doomedTradeFigures(warehouse: Warehouse, minutes: TradeMinutes, request: DoomedTradesRequest): Promise<DoomedTradesFigures> {
  const span = await warehouse.one<{first: bigint | null; last: bigint | null; trades: bigint}>(
    `SELECT min("timestamp") AS first, max("timestamp") AS last, count(*) AS trades FROM ${TRADES_TABLE} WHERE exchange_date < $cutoff::DATE`,
    {cutoff: request.cutoff},
  )
  const trades = Number(span.trades)
  if (trades === 0 || span.first === null || span.last === null) return {trades: 0, windows: [], unchecked: {minutes: 0, markets: 0, rows: []}}
  const first = Number(span.first)
  const last = Number(span.last)
  // Every trade of a window counts, also one dated on or after the cutoff: whole windows are compared.
  await minutes.ensure(first, last + 1)
  await warehouse.run(
    `CREATE OR REPLACE TEMP TABLE ${DOOMED_TABLE} AS
     SELECT DISTINCT symbol, exchange, "timestamp" - "timestamp" % ${MINUTE} AS w FROM ${TRADES_TABLE} WHERE exchange_date < $cutoff::DATE`,
    {cutoff: request.cutoff},
  )
  const windows: DoomedTradesFigures['windows'] = []
  for (const tf of TIMEFRAMES) windows.push({timeframe: tf, ...(await timeframeWindows(warehouse, tf, request.candlesKeptFrom[tf], first, last, request.limit))})
  const counted = await warehouse.one<{minutes: bigint; markets: bigint}>(
    `SELECT count(*) AS minutes, count(DISTINCT (symbol, exchange)) AS markets FROM ${DOOMED_TABLE} WHERE make_timestamp(w)::DATE < $kept::DATE`,
    {kept: request.uncheckedBefore},
  )
  const unchecked = {minutes: Number(counted.minutes), markets: Number(counted.markets), rows: [] as DoomedTradesFigures['unchecked']['rows']}
  if (unchecked.minutes > 0) {
    unchecked.rows = await warehouse.json<DoomedTradesFigures['unchecked']['rows'][number]>(
      `SELECT symbol, exchange, ${isoSql('make_timestamp(min(w))')} AS window_start, count(*)::DOUBLE AS minutes
       FROM ${DOOMED_TABLE} WHERE make_timestamp(w)::DATE < $kept::DATE
       GROUP BY symbol, exchange ORDER BY min(w), symbol, exchange LIMIT $limit::INTEGER`,
      {kept: request.uncheckedBefore, limit: request.limit},
    )
  }

  return {trades, windows, unchecked}
}

async function timeframeWindows(warehouse: Warehouse, tf: Timeframe, keptFrom: string, first: number, last: number, limit: number): Promise<Offending<DoomedWindow>> {
  const spec = TIMEFRAME_SPECS[tf]
  const from = first - (first % spec.micros)
  const to = last - (last % spec.micros) + spec.micros
  const rows = await warehouse.json<Record<string, string | number | null>>(
    `WITH tw AS (${tradeWindowsSql(tf)}),
     doomed AS (
       SELECT DISTINCT symbol, exchange, w - w % ${spec.micros} AS w FROM ${DOOMED_TABLE}
     ),
     candles AS (
       SELECT symbol, exchange, epoch_us(window_start) AS w, trade_count, volume FROM ${spec.table}
       WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
     ),
     bad AS (
       SELECT d.symbol, d.exchange, d.w, tw.trades, tw.volume, c.trade_count, c.volume AS candle_volume,
              CASE WHEN c.w IS NULL THEN 'no candle' ELSE 'differs' END AS kind
       FROM doomed d JOIN tw USING (symbol, exchange, w) LEFT JOIN candles c USING (symbol, exchange, w)
       WHERE make_timestamp(d.w)::DATE >= $kept::DATE
         AND (c.w IS NULL OR c.trade_count <> tw.trades OR c.volume <> tw.volume)
     ),
     totals AS (SELECT count(*) AS total, min(w) AS first, max(w) AS last FROM bad),
     shown AS (SELECT * FROM bad ORDER BY w, symbol, exchange LIMIT $limit::INTEGER)
     SELECT totals.total, totals.first, totals.last, shown.symbol, shown.exchange, ${isoSql('make_timestamp(shown.w)')} AS window_start,
            shown.trades::DOUBLE AS trades, shown.trade_count::DOUBLE AS candle_trades, shown.volume, shown.candle_volume, shown.kind
     FROM totals LEFT JOIN shown ON true ORDER BY shown.w, shown.symbol, shown.exchange`,
    {from: BigInt(from), to: BigInt(to), kept: keptFrom, limit: Math.max(0, limit)},
  )
  const totals = rows[0]
  return {
    total: Number(totals.total),
    firstMicros: numberOrNull(totals.first),
    lastMicros: numberOrNull(totals.last),
    rows: rows
      .filter((row) => row.kind !== null)
      .map((row) => ({
        symbol: row.symbol as string,
        exchange: row.exchange as string,
        window_start: row.window_start as string,
        trades: row.trades as number,
        candle_trades: numberOrNull(row.candle_trades),
        volume: row.volume as string,
        candle_volume: row.candle_volume as string | null,
        missing: row.kind === 'no candle',
      })),
  }
}
