import type {RollupFigures, RollupRequest} from '../../check-queries.js'
import type {SparkResult} from '../spark-engine.js'

import {TIMEFRAME_SPECS} from '../../../timeframes.js'
import {sqlBigint, sqlInstant} from '../sql-text.js'
import {SparkTables} from '../tables.js'
import {isoText, markRow, num, numOrNull, records, text} from './spark-check-sql.js'

const VALUES = ['open_price', 'high_price', 'low_price', 'close_price', 'volume', 'trade_count'] as const
const FIELD_NAMES: Record<(typeof VALUES)[number], string> = {open_price: 'open', high_price: 'high', low_price: 'low', close_price: 'close', volume: 'volume', trade_count: 'trade_count'}

/**
 * One statement: each parent candle from fromMicros on against the rollup of its children (open =
 * the first child's, close = the last child's, high/low = max/min, volume and trade_count = sums,
 * vwap the volume-weighted mean of the children's, within 1e-8), with the parent stale when a child
 * changed after it, and pending when the child flow (or its own) has not had its turn at the window:
 * trades ingested after that flow's mark, or windows the child flow has not closed yet.
 */
export function rollupSql(tables: SparkTables, request: RollupRequest, limit: number): string {
  const pm = TIMEFRAME_SPECS[request.timeframe].micros
  const floored = request.fromMicros - (request.fromMicros % pm)
  const parentStart = (column: string) => `timestamp_micros(${column} - ${column} % ${pm}L)`
  const rolledText = [...VALUES.map((c) => `CAST(r.${c} AS STRING)`), `coalesce(CAST(CAST(round(r.vwap, 8) AS DECIMAL(18,8)) AS STRING), '-')`]
  return `WITH kids AS (
      SELECT symbol, exchange, ${parentStart('unix_micros(window_start)')} AS window_start, window_start AS child_start,
             ${VALUES.join(', ')}, vwap, updated_at
      FROM ${tables.candles(request.child)} WHERE window_start >= ${sqlInstant(floored)}
    ), rolled AS (
      SELECT symbol, exchange, window_start, min_by(open_price, child_start) AS open_price, max(high_price) AS high_price, min(low_price) AS low_price,
             max_by(close_price, child_start) AS close_price, sum(volume) AS volume, sum(trade_count) AS trade_count,
             sum(CAST(vwap AS DOUBLE) * CAST(volume AS DOUBLE)) / nullif(sum(CAST(volume AS DOUBLE)), 0) AS vwap, max(updated_at) AS child_updated
      FROM kids GROUP BY symbol, exchange, window_start
    ), covered AS (
      -- Children older than this were removed by retention (sooner for lower timeframes): not a break.
      SELECT ${parentStart('min(unix_micros(window_start))')} AS since FROM ${tables.candles(request.child)}
    ), late AS (
      SELECT symbol, exchange, ${parentStart('`timestamp`')} AS window_start, max(ingestion_timestamp) AS newest
      FROM ${tables.trades} WHERE \`timestamp\` >= ${sqlBigint(floored)} AND exchange_date >= to_date(${sqlInstant(floored)})
      GROUP BY symbol, exchange, ${parentStart('`timestamp`')}
    ), compared AS (
      SELECT p.symbol, p.exchange, p.window_start, p.updated_at, r.child_updated,
             concat_ws(',', IF(r.symbol IS NULL, 'children', NULL),
               ${VALUES.map((c) => `IF(p.${c} <=> r.${c}, NULL, '${FIELD_NAMES[c]}')`).join(',\n               ')},
               IF(r.vwap IS NULL OR abs(r.vwap - CAST(p.vwap AS DOUBLE)) > 1.01e-8 * greatest(1D, CAST(p.vwap AS DOUBLE) / 10000), 'vwap', NULL)) AS fields,
             concat_ws(' / ', ${[...VALUES, 'vwap'].map((c) => `CAST(p.${c} AS STRING)`).join(', ')}) AS candle,
             IF(r.symbol IS NULL, 'none', concat_ws(' / ', ${rolledText.join(', ')})) AS children
      FROM ${tables.candles(request.timeframe)} p LEFT JOIN rolled r ON r.symbol = p.symbol AND r.exchange = p.exchange AND r.window_start = p.window_start
      CROSS JOIN covered
      WHERE p.window_start >= ${sqlInstant(request.fromMicros)} AND p.window_start >= covered.since
    ), flagged AS (
      SELECT x.*, NOT x.stale AND cm.closed IS NOT NULL AND (unix_micros(x.window_start) + ${pm}L > cm.closed OR coalesce(l.newest > cm.ingested, false)) AS child_pending,
             NOT x.stale AND om.closed IS NOT NULL AND coalesce(l.newest > om.ingested, false) AS own_pending
      FROM (SELECT c.*, coalesce(c.child_updated > c.updated_at, false) AS stale FROM compared c WHERE c.fields <> '') x
      LEFT JOIN late l ON l.symbol = x.symbol AND l.exchange = x.exchange AND l.window_start = x.window_start
      CROSS JOIN ${markRow(tables, request.child)} cm CROSS JOIN ${markRow(tables, request.timeframe)} om
    ), shown AS (
      SELECT symbol, exchange, ${isoText('window_start')} AS shown_start, fields, candle, children, stale, child_pending OR own_pending AS pending,
             count(*) OVER () AS total, count_if(NOT stale AND NOT (child_pending OR own_pending)) OVER () AS wrong,
             count_if(child_pending OR own_pending) OVER () AS waiting, count_if(child_pending) OVER () AS waiting_children,
             count_if(own_pending AND NOT child_pending) OVER () AS waiting_own,
             min(IF(NOT stale AND NOT (child_pending OR own_pending), unix_micros(window_start), NULL)) OVER () AS first_start,
             max(IF(NOT stale AND NOT (child_pending OR own_pending), unix_micros(window_start), NULL)) OVER () AS last_start,
             stale OR child_pending OR own_pending AS later, window_start AS w
      FROM flagged
      ORDER BY later, w, symbol, exchange LIMIT ${Math.max(1, Math.floor(limit))}
    )
    SELECT (SELECT count(*) FROM compared) AS compared, s.* FROM (SELECT 1 AS one) o LEFT JOIN shown s ON true
    ORDER BY s.later, s.w, s.symbol, s.exchange`
}

export function readRollup(request: RollupRequest, result: SparkResult): RollupFigures {
  const rows = records(result)
  const shown = rows.filter((row) => row.symbol !== null)
  const head = shown[0]
  const count = (column: string) => (head ? num(head[column]) : 0)
  return {
    timeframe: request.timeframe,
    compared: num(rows[0]?.compared ?? 0),
    total: count('total'),
    wrong: count('wrong'),
    waiting: count('waiting'),
    waitingChildren: count('waiting_children'),
    waitingOwn: count('waiting_own'),
    firstMicros: head ? numOrNull(head.first_start) : null,
    lastMicros: head ? numOrNull(head.last_start) : null,
    rows: shown.map((row) => ({
      symbol: text(row.symbol),
      exchange: text(row.exchange),
      window_start: text(row.shown_start),
      fields: text(row.fields),
      candle: text(row.candle),
      children: text(row.children),
      stale: row.stale === true,
      pending: row.pending === true,
    })),
  }
}
