import type {CountMismatchFigures, MissingWindowFigures, SilenceFigures, SilenceRequest, TimeframeSpan} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {isoSql} from '../sql-time.js'
import {TIMEFRAME_SPECS} from '../../../timeframes.js'
import {MINUTE, TRADE_MINUTES_SQL, TradeMinutes, numberOrNull, pendingConditionSql, tradeWindowsSql} from './trade-minutes.js'

type Json = string | number | boolean | null

/** Windows with trades and no candle, per timeframe span. */
export async function missingWindowFigures(warehouse: Warehouse, minutes: TradeMinutes, spans: TimeframeSpan[], limit: number): Promise<MissingWindowFigures[]> {
  await minutes.ensureSpans(spans)
  const figures: MissingWindowFigures[] = []
  for (const {timeframe: tf, fromMicros, toMicros} of spans) {
    const spec = TIMEFRAME_SPECS[tf]
    const pending = await pendingConditionSql(warehouse, tf)
    const rows = await warehouse.json<Record<string, Json>>(
      `WITH tw AS (${tradeWindowsSql(tf)}),
       candles AS (
         SELECT symbol, exchange, epoch_us(window_start) AS w FROM ${spec.table}
         WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
       ),
       missing AS (
         SELECT tw.*, ${pending} AS pending FROM tw ANTI JOIN candles USING (symbol, exchange, w)
       ),
       quiet AS (
         -- Windows between a pair's first and last trade window without any trade: expected to have no candle.
         SELECT sum((max_w - min_w) // ${spec.micros} + 1 - windows) AS quiet
         FROM (SELECT symbol, exchange, min(w) AS min_w, max(w) AS max_w, count(*) AS windows FROM tw GROUP BY symbol, exchange)
       ),
       shown AS (
         SELECT symbol, exchange, ${isoSql('make_timestamp(w)')} AS window_start, trades::DOUBLE AS trades, pending AS shown_pending
         FROM missing ORDER BY pending, w, symbol, exchange LIMIT $limit::INTEGER
       ),
       totals AS (
         SELECT count(*) AS total, count_if(NOT pending) AS gaps, min(w) FILTER (NOT pending) AS first, max(w) FILTER (NOT pending) AS last,
                (SELECT count(*) FROM tw) AS windows
         FROM missing
       )
       -- One row at least: the totals, with the shown windows beside them.
       SELECT totals.*, quiet.quiet, shown.* FROM totals CROSS JOIN quiet LEFT JOIN shown ON true
       ORDER BY shown.shown_pending, shown.window_start, shown.symbol, shown.exchange`,
      {from: BigInt(fromMicros), to: BigInt(toMicros), limit},
    )
    const totals = rows[0]
    figures.push({
      timeframe: tf,
      windows: Number(totals.windows),
      quiet: Number(totals.quiet ?? 0),
      total: Number(totals.total),
      broken: Number(totals.gaps),
      firstMicros: numberOrNull(totals.first),
      lastMicros: numberOrNull(totals.last),
      rows: rows
        .filter((row) => row.shown_pending !== null)
        .map((row) => ({symbol: row.symbol as string, exchange: row.exchange as string, window_start: row.window_start as string, trades: row.trades as number, pending: row.shown_pending as boolean})),
    })
  }

  return figures
}

/** Silences of markets that normally trade: long enough, and where the market's own rate expects enough trades. */
export async function silenceFigures(warehouse: Warehouse, minutes: TradeMinutes, request: SilenceRequest): Promise<SilenceFigures> {
  await minutes.ensure(request.fromMicros, request.toMicros)
  const window = {from: BigInt(request.fromMicros), to: BigInt(request.toMicros)}
  const rows = await warehouse.json<{symbol: string; exchange: string; silent_from: string; silent_to: string; minutes: number; expected_trades: number; total: string}>(
    `WITH minutes AS (${TRADE_MINUTES_SQL}), exchange_end AS (
       SELECT exchange, max(w) + ${MINUTE} AS last_end FROM minutes GROUP BY exchange
     ), pairs AS (
       -- A pair's rate over its span up to its exchange's newest minute: a pair that went silent
       -- while its exchange kept trading is silent until that end.
       SELECT m.symbol, m.exchange, sum(m.trades) / ((any_value(e.last_end) - min(m.w)) / ${MINUTE}) AS per_minute
       FROM minutes m JOIN exchange_end e USING (exchange) GROUP BY m.symbol, m.exchange
     ), silences AS (
       SELECT m.symbol, m.exchange, m.w + ${MINUTE} AS silent_from,
              lead(m.w, 1, e.last_end) OVER (PARTITION BY m.symbol, m.exchange ORDER BY m.w) AS silent_to
       FROM minutes m JOIN exchange_end e USING (exchange)
     )
     SELECT s.symbol, s.exchange, ${isoSql('make_timestamp(s.silent_from)')} AS silent_from,
            ${isoSql('make_timestamp(s.silent_to)')} AS silent_to,
            ((s.silent_to - s.silent_from) // ${MINUTE})::DOUBLE AS minutes, round(p.per_minute * (s.silent_to - s.silent_from) / ${MINUTE}) AS expected_trades,
            count(*) OVER () AS total
     FROM silences s JOIN pairs p USING (symbol, exchange)
     WHERE s.silent_to - s.silent_from >= $gap::BIGINT AND p.per_minute * (s.silent_to - s.silent_from) / ${MINUTE} >= $expected
     ORDER BY s.silent_from, s.symbol, s.exchange LIMIT $limit::INTEGER`,
    {...window, gap: BigInt(request.minMicros), expected: request.minExpectedTrades, limit: request.limit},
  )
  const counted = await warehouse.one<{minutes: bigint}>(`SELECT count(*) AS minutes FROM (${TRADE_MINUTES_SQL})`, window)
  return {
    minutes: Number(counted.minutes),
    silences: {
      total: rows.length > 0 ? Number(rows[0].total) : 0,
      rows: rows.map(({total: _t, ...row}) => row),
    },
  }
}

/** Candles whose trade_count or volume differs from their trades', per timeframe span. */
export async function countMismatchFigures(warehouse: Warehouse, minutes: TradeMinutes, spans: TimeframeSpan[], limit: number): Promise<CountMismatchFigures[]> {
  await minutes.ensureSpans(spans)
  const figures: CountMismatchFigures[] = []
  for (const {timeframe: tf, fromMicros, toMicros} of spans) {
    const pending = await pendingConditionSql(warehouse, tf)
    const rows = await warehouse.json<Record<string, Json>>(
      `WITH tw AS (${tradeWindowsSql(tf)}),
       candles AS (
         SELECT symbol, exchange, epoch_us(window_start) AS w, trade_count, volume FROM ${TIMEFRAME_SPECS[tf].table}
         WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
       ),
       differing AS (
         SELECT c.symbol, c.exchange, c.w, c.trade_count, coalesce(tw.trades, 0) AS source_count, c.volume,
                coalesce(tw.volume, 0) AS source_volume, tw.newest_ingestion
         FROM candles c LEFT JOIN tw USING (symbol, exchange, w)
         WHERE c.trade_count <> coalesce(tw.trades, 0) OR c.volume <> coalesce(tw.volume, 0)
       ),
       classified AS (SELECT *, coalesce(${pending}, false) AS pending FROM differing),
       shown AS (
         SELECT symbol, exchange, ${isoSql('make_timestamp(w)')} AS window_start, trade_count::DOUBLE AS trade_count, source_count::DOUBLE AS source_count,
                (trade_count - source_count)::DOUBLE AS count_diff, volume, source_volume, pending AS shown_pending
         FROM classified ORDER BY pending, w, symbol, exchange LIMIT $limit::INTEGER
       ),
       totals AS (
         SELECT count(*) AS total, count_if(NOT pending) AS differs, min(w) FILTER (NOT pending) AS first, max(w) FILTER (NOT pending) AS last,
                (SELECT count(*) FROM candles) AS candles
         FROM classified
       )
       SELECT totals.*, shown.* FROM totals LEFT JOIN shown ON true ORDER BY shown.shown_pending, shown.window_start, shown.symbol, shown.exchange`,
      {from: BigInt(fromMicros), to: BigInt(toMicros), limit},
    )
    const totals = rows[0]
    figures.push({
      timeframe: tf,
      candles: Number(totals.candles),
      total: Number(totals.total),
      broken: Number(totals.differs),
      firstMicros: numberOrNull(totals.first),
      lastMicros: numberOrNull(totals.last),
      rows: rows
        .filter((row) => row.shown_pending !== null)
        .map((row) => ({
          symbol: row.symbol as string,
          exchange: row.exchange as string,
          window_start: row.window_start as string,
          trade_count: row.trade_count as number,
          source_count: row.source_count as number,
          count_diff: row.count_diff as number,
          volume: row.volume as string,
          source_volume: row.source_volume as string,
          pending: row.shown_pending as boolean,
        })),
    })
  }

  return figures
}
