import type {Warehouse} from './engine/duckdb/warehouse.js'

import {AFFECTED_TABLE, recomputeWindows} from './recompute.js'
import {TRADES_TABLE} from './schema.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from './timeframes.js'
import {newestIngestion, readMark, writeMark} from './watermark.js'

/** Far beyond any trade: the end of "every window" when open windows are included. */
export const END_OF_TIME = 2 ** 62

export interface FlowWindowOptions {
  nowMicros: number
  /** Recompute every window that starts within this much before now (aligned down to a window). */
  lookbackMicros: number
  /** Also write the window that has not closed yet. */
  includeOpen?: boolean
  /** The timeframe's retention cutoff: late windows starting before it are left out (retention deletes them). */
  retention?: {fromMicros: number; policyDays: number}
}

export interface FlowWindowResult {
  timeframe: Timeframe
  /** The recomputed range: [from, to) of window starts. */
  fromMicros: number
  toMicros: number
  candles: number
  removed: number
  trades: number
  /** Windows before the lookback recomputed because trades reached them late. */
  lateWindows: number
  /** The first and the last of those late windows' starts (undefined: none). */
  lateSpan?: {firstMicros: number; lastMicros: number}
  /** Late windows before the retention cutoff, left out (undefined: none). */
  lateBeyondRetention?: number
  ingestedThrough: number
}

/**
 * One run of a timeframe's flow, in one transaction: recompute every window from the lookback (or
 * from where the last run stopped, if that is older: catch-up and windows that were open then) up
 * to the last closed window, plus every older window that received trades since the last run
 * (exact, through ingestion_timestamp). Windows not closed yet wait unless `includeOpen`. Late
 * windows before the retention cutoff are not rebuilt (the next retention run would delete them
 * again, and gaps ignores them), yet the mark moves past their trades so they are not reconsidered.
 */
export async function runFlowWindows(warehouse: Warehouse, tf: Timeframe, options: FlowWindowOptions): Promise<FlowWindowResult> {
  const {micros} = TIMEFRAME_SPECS[tf]
  const cutoff = options.includeOpen ? END_OF_TIME : floorToWindow(options.nowMicros, tf)
  const lookbackFrom = Math.min(floorToWindow(options.nowMicros - options.lookbackMicros, tf), cutoff)
  return warehouse.transaction(async () => {
    const mark = await readMark(warehouse, tf)
    const previous = mark.ingestedThrough
    const from = mark.closedThrough === null ? lookbackFrom : Math.min(lookbackFrom, mark.closedThrough)
    const newest = await newestIngestion(warehouse)
    const range = await recomputeWindows(warehouse, tf, {kind: 'range', fromMicros: from, toMicros: cutoff}, options.nowMicros)
    await warehouse.run(
      `CREATE OR REPLACE TEMP TABLE ${AFFECTED_TABLE} AS
       SELECT DISTINCT symbol, exchange, "timestamp" - "timestamp" % ${micros} AS ws FROM ${TRADES_TABLE}
       WHERE ingestion_timestamp > $previous::BIGINT AND ingestion_timestamp <= $newest::BIGINT AND "timestamp" < $from::BIGINT`,
      {previous: BigInt(previous), newest: BigInt(newest), from: BigInt(from)},
    )
    const beyond = options.retention && (await dropBeyondRetention(warehouse, options.retention.fromMicros))
    const late = await recomputeWindows(warehouse, tf, {kind: 'keys'}, options.nowMicros)
    const lateBounds = await warehouse.one<{lo: bigint | null; hi: bigint | null}>(`SELECT min(ws) AS lo, max(ws) AS hi FROM ${AFFECTED_TABLE}`)
    await warehouse.run(`DROP TABLE ${AFFECTED_TABLE}`)
    await writeMark(warehouse, tf, {ingestedThrough: newest, closedThrough: cutoff}, options.nowMicros)
    return {
      timeframe: tf,
      fromMicros: from,
      toMicros: cutoff === END_OF_TIME ? Math.max(from, floorToWindow(options.nowMicros, tf) + micros) : cutoff,
      candles: range.candles + late.candles,
      removed: range.removed + late.removed,
      trades: range.trades + late.trades,
      lateWindows: late.candles + late.removed,
      lateSpan: lateBounds.lo === null || lateBounds.hi === null ? undefined : {firstMicros: Number(lateBounds.lo), lastMicros: Number(lateBounds.hi)},
      ...(beyond ? {lateBeyondRetention: beyond} : {}),
      ingestedThrough: newest,
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
