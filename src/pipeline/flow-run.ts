import type {Warehouse} from './warehouse.js'

import {AFFECTED_TABLE, recomputeWindows} from './recompute.js'
import {TRADES_TABLE} from './schema.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from './timeframes.js'
import {advanceWatermark, newestIngestion, readWatermark} from './watermark.js'

/** Far beyond any trade: the end of "every window" when open windows are included. */
export const END_OF_TIME = 2 ** 62

export interface FlowWindowOptions {
  nowMicros: number
  /** Recompute every window that starts within this much before now (aligned down to a window). */
  lookbackMicros: number
  /** Also write the window that has not closed yet. */
  includeOpen?: boolean
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
  ingestedThrough: number
}

/**
 * One run of a timeframe's flow, in one transaction: recompute the lookback range, plus every older
 * window that received trades since the last run (exact, through ingestion_timestamp), then move
 * the watermark. Windows not closed yet are left for a later run unless `includeOpen`.
 */
export async function runFlowWindows(warehouse: Warehouse, tf: Timeframe, options: FlowWindowOptions): Promise<FlowWindowResult> {
  const {micros} = TIMEFRAME_SPECS[tf]
  const cutoff = options.includeOpen ? END_OF_TIME : floorToWindow(options.nowMicros, tf)
  const from = Math.min(floorToWindow(options.nowMicros - options.lookbackMicros, tf), cutoff)
  return warehouse.transaction(async () => {
    const previous = await readWatermark(warehouse, tf)
    const newest = await newestIngestion(warehouse)
    const range = await recomputeWindows(warehouse, tf, {kind: 'range', fromMicros: from, toMicros: cutoff}, options.nowMicros)
    await warehouse.run(
      `CREATE OR REPLACE TEMP TABLE ${AFFECTED_TABLE} AS
       SELECT DISTINCT symbol, exchange, "timestamp" - "timestamp" % ${micros} AS ws FROM ${TRADES_TABLE}
       WHERE ingestion_timestamp > $previous::BIGINT AND ingestion_timestamp <= $newest::BIGINT AND "timestamp" < $from::BIGINT`,
      {previous: BigInt(previous), newest: BigInt(newest), from: BigInt(from)},
    )
    const late = await recomputeWindows(warehouse, tf, {kind: 'keys'}, options.nowMicros)
    await warehouse.run(`DROP TABLE ${AFFECTED_TABLE}`)
    const ingestedThrough = await advanceWatermark(warehouse, tf, {previous, newest, coveredFrom: -END_OF_TIME, coveredTo: cutoff, nowMicros: options.nowMicros})
    return {
      timeframe: tf,
      fromMicros: from,
      toMicros: cutoff === END_OF_TIME ? Math.max(from, floorToWindow(options.nowMicros, tf) + micros) : cutoff,
      candles: range.candles + late.candles,
      removed: range.removed + late.removed,
      trades: range.trades + late.trades,
      lateWindows: late.candles + late.removed,
      ingestedThrough,
    }
  })
}
