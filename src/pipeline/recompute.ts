import type {Warehouse} from './engine/duckdb/warehouse.js'

import {candleSelectSql} from './candle-sql.js'
import {TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

/**
 * Which windows a recompute covers:
 * - `range`: every window starting in [fromMicros, toMicros) (both aligned to the timeframe);
 * - `keys`: the (symbol, exchange, ws) rows of the temp table `k2_affected_windows`.
 */
export type WindowSelection = {kind: 'range'; fromMicros: number; toMicros: number} | {kind: 'keys'}

export interface RecomputeResult {
  /** Candles written (one per window that has trades). */
  candles: number
  /** Stored candles removed because their window has no trades any more. */
  removed: number
  /** Trades aggregated into the written candles. */
  trades: number
}

export const AFFECTED_TABLE = 'k2_affected_windows'

/** A candle's values: what a recompute compares to tell a changed candle from an unchanged one. */
const VALUE_COLUMNS = ['window_end', 'window_date', 'open_price', 'high_price', 'low_price', 'close_price', 'volume', 'trade_count', 'vwap']

/**
 * Recompute-and-replace: each selected window is computed from all of its raw trades and replaces
 * the stored candle (created_at is kept, and updated_at too when the values did not change). Nothing is ever added to stored values, and candles
 * outside the selection are not touched. Call inside a transaction.
 */
export async function recomputeWindows(warehouse: Warehouse, tf: Timeframe, selection: WindowSelection, nowMicros: number): Promise<RecomputeResult> {
  const {table, micros} = TIMEFRAME_SPECS[tf]
  const params: Record<string, bigint> = {}
  let candleParams: Record<string, bigint> = {}
  let candleWhere: string
  let tradeFilter: {join?: string; where: string}
  if (selection.kind === 'range') {
    params.from = BigInt(selection.fromMicros)
    params.to = BigInt(selection.toMicros)
    candleParams = params
    candleWhere = 'c.window_start >= make_timestamp($from::BIGINT) AND c.window_start < make_timestamp($to::BIGINT)'
    tradeFilter = {where: 't."timestamp" >= $from::BIGINT AND t."timestamp" < $to::BIGINT'}
  } else {
    const bounds = await warehouse.one<{lo: bigint | null; hi: bigint | null}>(`SELECT min(ws) AS lo, max(ws) AS hi FROM ${AFFECTED_TABLE}`)
    if (bounds.lo === null || bounds.hi === null) return {candles: 0, removed: 0, trades: 0}
    params.from = bounds.lo
    params.to = bounds.hi + BigInt(micros)
    candleWhere = `(c.symbol, c.exchange, c.window_start) IN (SELECT symbol, exchange, make_timestamp(ws) FROM ${AFFECTED_TABLE})`
    tradeFilter = {
      join: `SEMI JOIN ${AFFECTED_TABLE} a ON a.symbol = t.symbol AND a.exchange = t.exchange AND a.ws = t."timestamp" - t."timestamp" % ${micros}`,
      where: 't."timestamp" >= $from::BIGINT AND t."timestamp" < $to::BIGINT',
    }
  }

  await warehouse.run(`CREATE OR REPLACE TEMP TABLE k2_new AS ${candleSelectSql(tf, tradeFilter)}`, params)
  // One row per stored key (a table may hold duplicates: they are replaced by one candle).
  await warehouse.run(
    `CREATE OR REPLACE TEMP TABLE k2_previous AS
     SELECT symbol, exchange, window_start, min(created_at) AS created_at, max(updated_at) AS updated_at, count(*) AS copies,
            ${VALUE_COLUMNS.map((column) => `any_value(${column}) AS ${column}`).join(', ')}
     FROM ${table} c WHERE ${candleWhere} GROUP BY symbol, exchange, window_start`,
    candleParams,
  )
  const counts = await warehouse.one<{candles: bigint; trades: bigint | null; removed: bigint}>(
    `SELECT (SELECT count(*) FROM k2_new) AS candles, (SELECT sum(trade_count) FROM k2_new) AS trades,
            (SELECT count(*) FROM k2_previous p ANTI JOIN k2_new n USING (symbol, exchange, window_start)) AS removed`,
  )
  await warehouse.run(`DELETE FROM ${table} c WHERE ${candleWhere}`, candleParams)
  await warehouse.run(
    `INSERT INTO ${table}
     SELECT n.*, coalesce(p.created_at, make_timestamp($now::BIGINT)),
            -- A candle whose values did not change keeps its updated_at: updated_at says when it last changed.
            CASE WHEN p.copies = 1 AND ${VALUE_COLUMNS.map((column) => `n.${column} IS NOT DISTINCT FROM p.${column}`).join(' AND ')}
                 THEN p.updated_at ELSE make_timestamp($now::BIGINT) END
     FROM k2_new n LEFT JOIN k2_previous p USING (symbol, exchange, window_start)`,
    {now: BigInt(nowMicros)},
  )
  await warehouse.run('DROP TABLE k2_new')
  await warehouse.run('DROP TABLE k2_previous')
  return {candles: Number(counts.candles), removed: Number(counts.removed), trades: Number(counts.trades ?? 0)}
}
