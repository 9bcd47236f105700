import type {MarketScope, RangesResult, ReplaceOptions, ReplaceResult, TimeframeRange, WindowSelection} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {CANDLE_VALUE_COLUMNS, TRADES_TABLE} from '../../schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'
import {NOTHING_INGESTED} from '../engine.js'
import {candleSelectSql} from './candle-sql.js'
import {marketFilter} from './range-queries.js'
import {newestIngestion, writeMark} from './watermark.js'

/**
 * Which windows a recompute covers:
 * - `range`: every window starting in [fromMicros, toMicros) (both aligned to the timeframe);
 * - `keys`: the (symbol, exchange, ws) rows of the temp table `k2_affected_windows`.
 */
type RecomputeSelection = {kind: 'range'; fromMicros: number; toMicros: number; market?: MarketScope} | {kind: 'keys'}

export interface RecomputeResult {
  /** Candles written (one per window that has trades). */
  candles: number
  /** Stored candles removed because their window has no trades any more. */
  removed: number
  /** Trades aggregated into the written candles. */
  trades: number
}

const AFFECTED_TABLE = 'k2_affected_windows'

const VALUE_COLUMNS = CANDLE_VALUE_COLUMNS
const COLUMNS = ['symbol', 'exchange', 'window_start', ...VALUE_COLUMNS]

/**
 * Recompute-and-replace: each selected window is computed from all of its raw trades and replaces
 * the stored candle (created_at is kept, and updated_at too when the values did not change). Nothing is ever added to stored values, and candles
 * outside the selection are not touched. Call inside a transaction.
 */
export async function recomputeWindows(warehouse: Warehouse, tf: Timeframe, selection: RecomputeSelection, nowMicros: number): Promise<RecomputeResult> {
  const {table, micros} = TIMEFRAME_SPECS[tf]
  const params: Record<string, bigint | string> = {}
  let candleParams: Record<string, bigint | string> = {}
  let candleWhere: string
  let tradeFilter: {join?: string; where: string}
  if (selection.kind === 'range') {
    const [candleScope, tradeScope] = [marketFilter('c', selection.market), marketFilter('t', selection.market)]
    Object.assign(params, {from: BigInt(selection.fromMicros), to: BigInt(selection.toMicros)}, candleScope.params)
    candleParams = params
    candleWhere = `c.window_start >= make_timestamp($from::BIGINT) AND c.window_start < make_timestamp($to::BIGINT)${candleScope.sql}`
    tradeFilter = {where: `t."timestamp" >= $from::BIGINT AND t."timestamp" < $to::BIGINT${tradeScope.sql}`}
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
    `INSERT INTO ${table} (${COLUMNS.join(', ')}, created_at, updated_at)
     SELECT ${COLUMNS.map((column) => `n.${column}`).join(', ')}, coalesce(p.created_at, make_timestamp($now::BIGINT)),
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

/**
 * engine.ts replaceWindows, in one transaction: the range first, then the late windows (their keys
 * gathered into the temp table k2_affected_windows), then the flow mark.
 */
export async function replaceWindows(warehouse: Warehouse, tf: Timeframe, selection: WindowSelection, options: ReplaceOptions): Promise<ReplaceResult> {
  const {micros} = TIMEFRAME_SPECS[tf]
  return warehouse.transaction(async () => {
    const newest = selection.late || options.advanceMark ? await newestIngestion(warehouse) : NOTHING_INGESTED
    const none = {candles: 0, removed: 0, trades: 0}
    const range = selection.range ? await recomputeWindows(warehouse, tf, {kind: 'range', ...selection.range}, options.nowMicros) : none
    let late = none
    let lateSpan: ReplaceResult['lateSpan']
    let beyond = 0
    if (selection.late) {
      await warehouse.run(
        `CREATE OR REPLACE TEMP TABLE ${AFFECTED_TABLE} AS
         SELECT DISTINCT symbol, exchange, "timestamp" - "timestamp" % ${micros} AS ws FROM ${TRADES_TABLE}
         WHERE ingestion_timestamp > $previous::BIGINT AND ingestion_timestamp <= $newest::BIGINT AND "timestamp" < $from::BIGINT`,
        {previous: BigInt(selection.late.ingestedAfter), newest: BigInt(newest), from: BigInt(selection.late.beforeMicros)},
      )
      if (selection.late.notBeforeMicros !== undefined) beyond = await dropBeyondRetention(warehouse, selection.late.notBeforeMicros)
      late = await recomputeWindows(warehouse, tf, {kind: 'keys'}, options.nowMicros)
      const lateBounds = await warehouse.one<{lo: bigint | null; hi: bigint | null}>(`SELECT min(ws) AS lo, max(ws) AS hi FROM ${AFFECTED_TABLE}`)
      await warehouse.run(`DROP TABLE ${AFFECTED_TABLE}`)
      lateSpan = lateBounds.lo === null || lateBounds.hi === null ? undefined : {firstMicros: Number(lateBounds.lo), lastMicros: Number(lateBounds.hi)}
    }

    if (options.advanceMark) await writeMark(warehouse, tf, {ingestedThrough: newest, closedThrough: options.advanceMark.closedThrough}, options.nowMicros)
    return {
      candles: range.candles + late.candles,
      removed: range.removed + late.removed,
      trades: range.trades + late.trades,
      lateWindows: late.candles + late.removed,
      lateSpan,
      lateBeyondRetention: beyond,
      newestIngestion: newest,
    }
  })
}

/** Takes the late windows before the cutoff out of the affected keys; returns how many there were. */
async function dropBeyondRetention(warehouse: Warehouse, cutoffMicros: number): Promise<number> {
  const cutoff = {cutoff: BigInt(cutoffMicros)}
  const row = await warehouse.one<{n: bigint}>(`SELECT count(*) AS n FROM ${AFFECTED_TABLE} WHERE ws < $cutoff::BIGINT`, cutoff)
  if (Number(row.n) > 0) await warehouse.run(`DELETE FROM ${AFFECTED_TABLE} WHERE ws < $cutoff::BIGINT`, cutoff)
  return Number(row.n)
}

/** engine.ts replaceRanges: every range, in one transaction. */
export async function replaceRanges(warehouse: Warehouse, ranges: TimeframeRange[], nowMicros: number): Promise<RangesResult> {
  return warehouse.transaction(async () => {
    const total = {candles: 0, removed: 0, trades: 0}
    for (const range of ranges) {
      const result = await recomputeWindows(warehouse, range.timeframe, {kind: 'range', fromMicros: range.fromMicros, toMicros: range.toMicros, market: range.market}, nowMicros)
      total.candles += result.candles
      total.removed += result.removed
      total.trades = Math.max(total.trades, result.trades)
    }

    return total
  })
}
