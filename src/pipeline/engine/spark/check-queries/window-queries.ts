import type {CountMismatchFigures, MissingWindowFigures, SilenceFigures, SilenceRequest, TimeframeSpan} from '../../check-queries.js'
import type {SparkResult} from '../spark-engine.js'

import {tradesCounted} from '../../../schema.js'
import {TIMEFRAME_SPECS} from '../../../timeframes.js'
import {sqlBigint, sqlInstant} from '../sql-text.js'
import {SparkTables} from '../tables.js'
import {isoMicros, markRow, num, numOrNull, pendingSql, records, text} from './spark-check-sql.js'

const MINUTE = 60_000_000
const TS = '`timestamp`'

/** The trades whose `size`-window starts in [from, to), pruned by exchange_date. */
function tradesWhere(from: number, to: number, size: number): string {
  const start = `${TS} - ${TS} % ${size}L`
  return `${start} >= ${sqlBigint(from)} AND ${start} < ${sqlBigint(to)}
    AND exchange_date >= to_date(${sqlInstant(from)}) AND exchange_date <= to_date(${sqlInstant(Math.max(from, to - 1))})`
}

/** Per (symbol, exchange, window start `w`) of a span: the trades' count, volume and newest ingestion. */
function tradeWindows(tables: SparkTables, span: TimeframeSpan): string {
  const size = TIMEFRAME_SPECS[span.timeframe].micros
  return `SELECT symbol, exchange, ${TS} - ${TS} % ${size}L AS w, CAST(sum(${tradesCounted('')}) AS BIGINT) AS trades, sum(quantity) AS volume, max(ingestion_timestamp) AS newest
    FROM ${tables.trades} WHERE ${tradesWhere(span.fromMicros, span.toMicros, size)} GROUP BY symbol, exchange, ${TS} - ${TS} % ${size}L`
}

function spanCandles(tables: SparkTables, span: TimeframeSpan, extra = ''): string {
  return `SELECT symbol, exchange, unix_micros(window_start) AS w, trade_count, volume FROM ${tables.candles(span.timeframe)}
    WHERE window_start >= ${sqlInstant(span.fromMicros)} AND window_start < ${sqlInstant(span.toMicros)}${extra}`
}

const limitOf = (limit: number) => Math.max(1, Math.floor(limit))

/** One statement per span: windows with trades and no candle (pending or not), with the windows and quiet windows of the span. */
export function missingWindowsSql(tables: SparkTables, span: TimeframeSpan, limit: number): string {
  const size = TIMEFRAME_SPECS[span.timeframe].micros
  return `WITH tw AS (${tradeWindows(tables, span)}),
    missing AS (
      SELECT tw.*, ${pendingSql('tw.w', 'tw.newest')} AS pending
      FROM tw LEFT ANTI JOIN (${spanCandles(tables, span)}) c ON c.symbol = tw.symbol AND c.exchange = tw.exchange AND c.w = tw.w
      CROSS JOIN ${markRow(tables, span.timeframe)} mk
    ), shown AS (
      SELECT symbol, exchange, w, trades, pending FROM missing ORDER BY pending, w, symbol, exchange LIMIT ${limitOf(limit)}
    )
    SELECT (SELECT count(*) FROM tw) AS windows,
           -- Windows between a market's first and last window with trades that have none: a quiet market.
           (SELECT coalesce(sum((hi - lo) div ${size}L + 1 - n), 0) FROM (SELECT min(w) AS lo, max(w) AS hi, count(*) AS n FROM tw GROUP BY symbol, exchange)) AS quiet,
           (SELECT count(*) FROM missing) AS total, (SELECT count_if(NOT pending) FROM missing) AS broken,
           (SELECT min(IF(pending, NULL, w)) FROM missing) AS first_start, (SELECT max(IF(pending, NULL, w)) FROM missing) AS last_start,
           s.symbol, s.exchange, ${isoMicros('s.w')} AS window_start, s.trades, s.pending
    FROM (SELECT 1 AS one) o LEFT JOIN shown s ON true ORDER BY s.pending, s.w, s.symbol, s.exchange`
}

/** The totals row of a one-row-at-least result, and its shown rows. */
function totalsAndShown(result: SparkResult): {totals: Record<string, unknown>; shown: Array<Record<string, unknown>>} {
  const rows = records(result)
  return {totals: rows[0], shown: rows.filter((row) => row.symbol !== null)}
}

/** The counts every pending-aware figure has, from its totals row. */
function pendingAwareTotals(span: TimeframeSpan, totals: Record<string, unknown>) {
  return {timeframe: span.timeframe, total: num(totals.total), broken: num(totals.broken), firstMicros: numOrNull(totals.first_start), lastMicros: numOrNull(totals.last_start)}
}

export function readMissingWindows(span: TimeframeSpan, result: SparkResult): MissingWindowFigures {
  const {totals, shown} = totalsAndShown(result)
  return {
    ...pendingAwareTotals(span, totals),
    windows: num(totals.windows),
    quiet: num(totals.quiet),
    rows: shown.map((row) => ({symbol: text(row.symbol), exchange: text(row.exchange), window_start: text(row.window_start), trades: num(row.trades), pending: row.pending === true})),
  }
}

/** One statement: silences of markets that normally trade, and the minutes with trades of the span. */
export function silencesSql(tables: SparkTables, request: SilenceRequest): string {
  const M = `${MINUTE}L`
  return `WITH minutes AS (
      SELECT symbol, exchange, ${TS} - ${TS} % ${M} AS w, count(*) AS trades FROM ${tables.trades}
      WHERE ${tradesWhere(request.fromMicros, request.toMicros, MINUTE)} GROUP BY symbol, exchange, ${TS} - ${TS} % ${M}
    ), ends AS (
      SELECT exchange, max(w) + ${M} AS last_end FROM minutes GROUP BY exchange
    ), rates AS (
      -- A market's rate over its span up to its exchange's newest minute: one that went quiet while
      -- its exchange kept trading is silent until that end.
      SELECT m.symbol, m.exchange, sum(m.trades) / ((max(e.last_end) - min(m.w)) / ${M}) AS per_minute
      FROM minutes m JOIN ends e ON e.exchange = m.exchange GROUP BY m.symbol, m.exchange
    ), quiet AS (
      SELECT m.symbol, m.exchange, m.w + ${M} AS silent_from, coalesce(lead(m.w) OVER (PARTITION BY m.symbol, m.exchange ORDER BY m.w), e.last_end) AS silent_to
      FROM minutes m JOIN ends e ON e.exchange = m.exchange
    ), found AS (
      SELECT q.symbol, q.exchange, q.silent_from, q.silent_to, r.per_minute * (q.silent_to - q.silent_from) / ${M} AS expected
      FROM quiet q JOIN rates r ON r.symbol = q.symbol AND r.exchange = q.exchange
      WHERE q.silent_to - q.silent_from >= ${sqlBigint(request.minMicros)} AND r.per_minute * (q.silent_to - q.silent_from) / ${M} >= ${Number(request.minExpectedTrades)}D
    ), shown AS (
      SELECT *, count(*) OVER () AS total FROM found ORDER BY silent_from, symbol, exchange LIMIT ${limitOf(request.limit)}
    )
    SELECT (SELECT count(*) FROM minutes) AS minutes, s.symbol, s.exchange, ${isoMicros('s.silent_from')} AS silent_from, ${isoMicros('s.silent_to')} AS silent_to,
           CAST((s.silent_to - s.silent_from) div ${M} AS DOUBLE) AS quiet_minutes, round(s.expected) AS expected_trades, s.total
    FROM (SELECT 1 AS one) o LEFT JOIN shown s ON true ORDER BY s.silent_from, s.symbol, s.exchange`
}

export function readSilences(result: SparkResult): SilenceFigures {
  const {totals, shown} = totalsAndShown(result)
  return {
    minutes: num(totals.minutes),
    silences: {
      total: shown.length > 0 ? num(shown[0].total) : 0,
      rows: shown.map((row) => ({
        symbol: text(row.symbol),
        exchange: text(row.exchange),
        silent_from: text(row.silent_from),
        silent_to: text(row.silent_to),
        minutes: num(row.quiet_minutes),
        expected_trades: num(row.expected_trades),
      })),
    },
  }
}

/**
 * One statement per span: candles whose trade_count or volume differs from their trades' (pending
 * or not), with the candles of the span; `sinceOldestTrade` leaves out candles before the oldest trade's window.
 */
export function countMismatchesSql(tables: SparkTables, span: TimeframeSpan, limit: number, sinceOldestTrade: boolean): string {
  const size = TIMEFRAME_SPECS[span.timeframe].micros
  const oldest = sinceOldestTrade
    ? ` AND window_start >= timestamp_micros(coalesce((SELECT min(${TS}) - min(${TS}) % ${size}L FROM ${tables.trades}), ${sqlBigint(span.fromMicros)}))`
    : ''
  const zero = 'CAST(0 AS DECIMAL(38,8))'
  return `WITH tw AS (${tradeWindows(tables, span)}),
    candles AS (${spanCandles(tables, span, oldest)}),
    classified AS (
      SELECT c.symbol, c.exchange, c.w, c.trade_count, coalesce(tw.trades, 0L) AS source_count, c.volume, coalesce(tw.volume, ${zero}) AS source_volume,
             ${pendingSql('c.w', 'tw.newest')} AS pending
      FROM candles c LEFT JOIN tw ON tw.symbol = c.symbol AND tw.exchange = c.exchange AND tw.w = c.w
      CROSS JOIN ${markRow(tables, span.timeframe)} mk
      WHERE c.trade_count <> coalesce(tw.trades, 0L) OR c.volume <> coalesce(tw.volume, ${zero})
    ), shown AS (
      SELECT * FROM classified ORDER BY pending, w, symbol, exchange LIMIT ${limitOf(limit)}
    )
    SELECT (SELECT count(*) FROM candles) AS candles, (SELECT count(*) FROM classified) AS total, (SELECT count_if(NOT pending) FROM classified) AS broken,
           (SELECT min(IF(pending, NULL, w)) FROM classified) AS first_start, (SELECT max(IF(pending, NULL, w)) FROM classified) AS last_start,
           s.symbol, s.exchange, ${isoMicros('s.w')} AS window_start, s.trade_count, s.source_count, s.trade_count - s.source_count AS count_diff,
           CAST(s.volume AS STRING) AS volume, CAST(s.source_volume AS STRING) AS source_volume, s.pending
    FROM (SELECT 1 AS one) o LEFT JOIN shown s ON true ORDER BY s.pending, s.w, s.symbol, s.exchange`
}

export function readCountMismatches(span: TimeframeSpan, result: SparkResult): CountMismatchFigures {
  const {totals, shown} = totalsAndShown(result)
  return {
    ...pendingAwareTotals(span, totals),
    candles: num(totals.candles),
    rows: shown.map((row) => ({
      symbol: text(row.symbol),
      exchange: text(row.exchange),
      window_start: text(row.window_start),
      trade_count: num(row.trade_count),
      source_count: num(row.source_count),
      count_diff: num(row.count_diff),
      volume: text(row.volume),
      source_volume: text(row.source_volume),
      pending: row.pending === true,
    })),
  }
}
