import type {RollupFigures, RollupRequest} from '../../check-queries.js'
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../../../schema.js'
import {isoSql} from '../sql-time.js'
import {TIMEFRAME_SPECS} from '../../../timeframes.js'
import {readMark} from '../watermark.js'
import {numberOrNull} from './trade-minutes.js'

type RollupSqlRow = {compared: string; symbol: string | null; exchange: string; window_start: string; fields: string; candle: string; children: string; stale: boolean; pending: boolean} & Record<
  'total' | 'wrong' | 'waiting' | 'waiting_children' | 'waiting_own' | 'first' | 'last',
  string | null
>

export async function rollupFigures(warehouse: Warehouse, requests: RollupRequest[], limit: number): Promise<RollupFigures[]> {
  const figures: RollupFigures[] = []
  for (const request of requests) figures.push(await rollupMismatches(warehouse, request, limit))
  return figures
}

/**
 * Each candle against the rollup of its children: open = first child's open, close = last child's
 * close, high/low = max/min, volume and trade_count = sums, vwap the volume-weighted mean of the
 * children's (each rounded to 1e-8, so within 1e-8 of the parent's). A differing parent is stale
 * when a child changed after it was built, and pending when the child flow (or its own) has not had
 * its turn at the window yet: trades ingested after its last run, or windows it has not closed.
 */
async function rollupMismatches(warehouse: Warehouse, request: RollupRequest, limit: number): Promise<RollupFigures> {
  const parent = TIMEFRAME_SPECS[request.timeframe]
  const child = TIMEFRAME_SPECS[request.child]
  const lateSince = (ingestedThrough: number) => `EXISTS (
      SELECT 1 FROM ${TRADES_TABLE} t WHERE t.symbol = d.symbol AND t.exchange = d.exchange AND t.ingestion_timestamp > ${ingestedThrough}
        AND t."timestamp" >= epoch_us(d.window_start) AND t."timestamp" < epoch_us(d.window_start) + $pm::BIGINT)`
  // A flow that never ran has nothing pending: what it did not build is missing.
  const childMark = await readMark(warehouse, request.child)
  const childPending = childMark.closedThrough === null ? 'false' : `(epoch_us(d.window_start) + $pm::BIGINT > ${childMark.closedThrough} OR ${lateSince(childMark.ingestedThrough)})`
  const ownMark = await readMark(warehouse, request.timeframe)
  const ownPending = ownMark.closedThrough === null ? 'false' : lateSince(ownMark.ingestedThrough)
  const rows = await warehouse.json<RollupSqlRow>(
    `WITH kids AS (
       SELECT symbol, exchange, make_timestamp(epoch_us(window_start) - epoch_us(window_start) % $pm::BIGINT) AS window_start,
              window_start AS child_start, open_price, high_price, low_price, close_price, volume, trade_count, vwap, updated_at
       FROM ${child.table} WHERE window_start >= make_timestamp($from::BIGINT - $from::BIGINT % $pm::BIGINT)
     ), rolled AS (
       SELECT symbol, exchange, window_start,
              arg_min(open_price, child_start) AS open_price, max(high_price) AS high_price, min(low_price) AS low_price,
              arg_max(close_price, child_start) AS close_price, sum(volume) AS volume, sum(trade_count) AS trade_count,
              sum(vwap::DOUBLE * volume::DOUBLE) / nullif(sum(volume::DOUBLE), 0) AS vwap, max(updated_at) AS child_updated
       FROM kids GROUP BY symbol, exchange, window_start
     ), covered AS (
       -- Children older than this were removed by retention (shorter for lower timeframes): not a break.
       SELECT make_timestamp(epoch_us(min(window_start)) - epoch_us(min(window_start)) % $pm::BIGINT) AS since FROM ${child.table}
     ), compared AS (
       SELECT p.symbol, p.exchange, p.window_start, p.updated_at, r.child_updated,
              concat_ws(',',
                CASE WHEN r.symbol IS NULL THEN 'children' END,
                CASE WHEN p.open_price IS DISTINCT FROM r.open_price THEN 'open' END,
                CASE WHEN p.high_price IS DISTINCT FROM r.high_price THEN 'high' END,
                CASE WHEN p.low_price IS DISTINCT FROM r.low_price THEN 'low' END,
                CASE WHEN p.close_price IS DISTINCT FROM r.close_price THEN 'close' END,
                CASE WHEN p.volume IS DISTINCT FROM r.volume THEN 'volume' END,
                CASE WHEN p.trade_count IS DISTINCT FROM r.trade_count THEN 'trade_count' END,
                CASE WHEN r.vwap IS NULL OR abs(r.vwap - p.vwap::DOUBLE) > 1.01e-8 * greatest(1, p.vwap::DOUBLE / 10000) THEN 'vwap' END
              ) AS fields,
              concat_ws(' / ', p.open_price, p.high_price, p.low_price, p.close_price, p.volume, p.trade_count, p.vwap) AS candle,
              CASE WHEN r.symbol IS NULL THEN 'none'
                   ELSE concat_ws(' / ', r.open_price, r.high_price, r.low_price, r.close_price, r.volume, r.trade_count, coalesce(round(r.vwap, 8)::DECIMAL(18,8)::VARCHAR, '-')) END AS children
       FROM ${parent.table} p LEFT JOIN rolled r USING (symbol, exchange, window_start)
       WHERE p.window_start >= make_timestamp($from::BIGINT) AND p.window_start >= (SELECT since FROM covered)
     ), differing AS (
       SELECT x.*, coalesce(child_updated > updated_at, false) AS stale FROM compared x WHERE fields <> ''
     ), classified AS (
       SELECT d.*, NOT d.stale AND ${childPending} AS child_pending, NOT d.stale AND ${ownPending} AS own_pending FROM differing d
     ), flagged AS (
       SELECT *, child_pending OR own_pending AS pending FROM classified
     ), shown AS (
       SELECT symbol, exchange, ${isoSql('window_start')} AS window_start, fields, candle, children, stale, pending,
              count(*) OVER () AS total, count_if(NOT stale AND NOT pending) OVER () AS wrong, count_if(pending) OVER () AS waiting,
              count_if(child_pending) OVER () AS waiting_children, count_if(own_pending AND NOT child_pending) OVER () AS waiting_own,
              min(CASE WHEN NOT stale AND NOT pending THEN epoch_us(window_start) END) OVER () AS first,
              max(CASE WHEN NOT stale AND NOT pending THEN epoch_us(window_start) END) OVER () AS last,
              window_start AS w
       FROM flagged
       ORDER BY stale OR pending, w, symbol, exchange LIMIT $limit::INTEGER
     )
     -- One row at least: the candles compared, with the shown rows beside them.
     SELECT (SELECT count(*) FROM compared) AS compared, shown.* EXCLUDE (w) FROM (SELECT 1) one LEFT JOIN shown ON true
     ORDER BY shown.stale OR shown.pending, shown.w, shown.symbol, shown.exchange`,
    {pm: BigInt(parent.micros), from: BigInt(request.fromMicros), limit},
  )
  const shown = rows.filter((row) => row.symbol !== null)
  const head = shown[0]
  return {
    timeframe: request.timeframe,
    compared: Number(rows[0].compared),
    total: head ? Number(head.total) : 0,
    wrong: head ? Number(head.wrong) : 0,
    waiting: head ? Number(head.waiting) : 0,
    waitingChildren: head ? Number(head.waiting_children) : 0,
    waitingOwn: head ? Number(head.waiting_own) : 0,
    firstMicros: head ? numberOrNull(head.first) : null,
    lastMicros: head ? numberOrNull(head.last) : null,
    rows: shown.map((row) => ({
      symbol: row.symbol as string,
      exchange: row.exchange,
      window_start: row.window_start,
      fields: row.fields,
      candle: row.candle,
      children: row.children,
      stale: row.stale,
      pending: row.pending,
    })),
  }
}
