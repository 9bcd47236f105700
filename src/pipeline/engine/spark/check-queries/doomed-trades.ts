import type {DoomedTradesFigures, DoomedTradesRequest, DoomedWindow, Offending} from '../../check-queries.js'
import type {SparkSql} from '../spark-engine.js'
import type {SparkTables} from '../tables.js'

import {tradesCounted} from '../../../schema.js'
import {formatMicros} from '../../../time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../../timeframes.js'
import {sqlBigint, sqlInstant, sqlString} from '../sql-text.js'

const MINUTE = 60_000_000
const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))

/**
 * CheckQueries.doomedTrades on Spark (the DuckDB spec: duckdb/check-queries/retention-sql.ts): the
 * trades a retention would delete (exchange_date before the cutoff), and per timeframe the windows
 * of them, on days its policy keeps, that have no candle or one whose trade_count or volume differs
 * from all of the window's trades (also those dated on or after the cutoff). Two requests.
 */
export async function doomedTrades(session: SparkSql, tables: SparkTables, request: DoomedTradesRequest): Promise<DoomedTradesFigures> {
  const doomed = `${tables.trades} WHERE exchange_date < DATE ${sqlString(request.cutoff)}`
  const [span] = await session.sql([`SELECT min(\`timestamp\`), max(\`timestamp\`), count(*) FROM ${doomed}`])
  const [first, last, trades] = span.rows[0] ?? [null, null, 0]
  if (Number(trades) === 0 || first === null || last === null) return {trades: 0, windows: [], unchecked: {minutes: 0, markets: 0, rows: []}}
  const limit = Math.max(0, Math.floor(request.limit))
  const minutes = `SELECT DISTINCT symbol, exchange, \`timestamp\` - \`timestamp\` % ${MINUTE} AS w FROM ${doomed}`
  const results = await session.sql([
    ...TIMEFRAMES.map((tf) => windowsSql(tables, tf, minutes, {first: Number(first), last: Number(last), keptFrom: request.candlesKeptFrom[tf], limit})),
    uncheckedSql(minutes, request.uncheckedBefore, limit),
  ])
  const windows = TIMEFRAMES.map((tf, index) => ({timeframe: tf, ...offending(results[index].rows)}))
  const unchecked = results.at(-1)!.rows
  return {
    trades: Number(trades),
    windows,
    unchecked: {
      minutes: Number(unchecked[0]?.[0] ?? 0),
      markets: Number(unchecked[0]?.[1] ?? 0),
      rows: unchecked
        .filter((row) => row[2] !== null)
        .map(([, , symbol, exchange, w, count]) => ({symbol: String(symbol), exchange: String(exchange), window_start: formatMicros(Number(w)), minutes: Number(count)})),
    },
  }
}

function windowsSql(tables: SparkTables, tf: Timeframe, minutes: string, span: {first: number; last: number; keptFrom: string; limit: number}): string {
  const size = TIMEFRAME_SPECS[tf].micros
  const from = span.first - (span.first % size)
  const to = span.last - (span.last % size) + size
  return `WITH doomed AS (
      SELECT DISTINCT symbol, exchange, w - w % ${size} AS w FROM (${minutes})
      WHERE CAST(timestamp_micros(w - w % ${size}) AS DATE) >= DATE ${sqlString(span.keptFrom)}
    ),
    tw AS (
      SELECT symbol, exchange, \`timestamp\` - \`timestamp\` % ${size} AS w, CAST(sum(${tradesCounted('')}) AS BIGINT) AS trades, sum(quantity) AS volume
      FROM ${tables.trades} WHERE \`timestamp\` >= ${sqlBigint(from)} AND \`timestamp\` < ${sqlBigint(to)}
      GROUP BY symbol, exchange, \`timestamp\` - \`timestamp\` % ${size}
    ),
    candles AS (
      SELECT symbol, exchange, unix_micros(window_start) AS w, trade_count, volume FROM ${tables.candles(tf)}
      WHERE window_start >= ${sqlInstant(from)} AND window_start < ${sqlInstant(to)}
    ),
    bad AS (
      SELECT d.symbol, d.exchange, d.w, tw.trades, tw.volume, c.trade_count, c.volume AS candle_volume, c.w IS NULL AS missing
      FROM doomed d JOIN tw ON d.symbol = tw.symbol AND d.exchange = tw.exchange AND d.w = tw.w
      LEFT JOIN candles c ON d.symbol = c.symbol AND d.exchange = c.exchange AND d.w = c.w
      WHERE c.w IS NULL OR c.trade_count <> tw.trades OR c.volume <> tw.volume
    ),
    totals AS (SELECT count(*) AS total, min(w) AS first, max(w) AS last FROM bad),
    shown AS (SELECT * FROM bad ORDER BY w, symbol, exchange LIMIT ${span.limit})
    SELECT t.total, t.first, t.last, s.symbol, s.exchange, s.w, s.trades, s.trade_count, CAST(s.volume AS STRING), CAST(s.candle_volume AS STRING), s.missing
    FROM totals t LEFT JOIN shown s ON true ORDER BY s.w, s.symbol, s.exchange`
}

function offending(rows: unknown[][]): Offending<DoomedWindow> {
  const [total, first, last] = rows[0] ?? [0, null, null]
  return {
    total: Number(total),
    firstMicros: numOrNull(first),
    lastMicros: numOrNull(last),
    rows: rows
      .filter((row) => row[5] !== null)
      .map(([, , , symbol, exchange, w, trades, candleTrades, volume, candleVolume, missing]) => ({
        symbol: String(symbol),
        exchange: String(exchange),
        window_start: formatMicros(Number(w)),
        trades: Number(trades),
        candle_trades: numOrNull(candleTrades),
        volume: String(volume),
        candle_volume: candleVolume === null ? null : String(candleVolume),
        missing: missing === true,
      })),
  }
}

/** Minutes of doomed trades before `before` (no candle policy keeps their windows), and per market its first such minute. */
function uncheckedSql(minutes: string, before: string, limit: number): string {
  return `WITH old AS (SELECT * FROM (${minutes}) WHERE CAST(timestamp_micros(w) AS DATE) < DATE ${sqlString(before)}),
    totals AS (SELECT count(*) AS minutes, count(DISTINCT symbol, exchange) AS markets FROM old),
    shown AS (SELECT symbol, exchange, min(w) AS first, count(*) AS minutes FROM old GROUP BY symbol, exchange ORDER BY first, symbol, exchange LIMIT ${limit})
    SELECT t.minutes, t.markets, s.symbol, s.exchange, s.first, s.minutes FROM totals t LEFT JOIN shown s ON true ORDER BY s.first, s.symbol, s.exchange`
}
