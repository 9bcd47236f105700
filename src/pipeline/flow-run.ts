import type {Engine, MarketScope} from './engine/engine.js'

import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from './timeframes.js'

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
  /**
   * --symbol/--exchange: only this market's windows of the lookback. Late windows and the flow's
   * mark are every market's, so such a run leaves both to the next full run.
   */
  market?: MarketScope
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
 * One run of a timeframe's flow, in one unit of work of the engine: recompute every window from the
 * lookback (or from where the last run stopped, if that is older: catch-up and windows that were
 * open then) up to the last closed window, plus every older window that received trades since the
 * last run (exact, through ingestion_timestamp). Windows not closed yet wait unless `includeOpen`.
 * Late windows before the retention cutoff are not rebuilt (the next retention run would delete
 * them again, and gaps ignores them), yet the mark moves past their trades so they are not reconsidered.
 */
export async function runFlowWindows(engine: Engine, tf: Timeframe, options: FlowWindowOptions): Promise<FlowWindowResult> {
  const {micros} = TIMEFRAME_SPECS[tf]
  const cutoff = options.includeOpen ? END_OF_TIME : floorToWindow(options.nowMicros, tf)
  const lookbackFrom = Math.min(floorToWindow(options.nowMicros - options.lookbackMicros, tf), cutoff)
  const end = (from: number) => (cutoff === END_OF_TIME ? Math.max(from, floorToWindow(options.nowMicros, tf) + micros) : cutoff)
  if (options.market) {
    const scoped = await engine.replaceWindows(tf, {range: {fromMicros: lookbackFrom, toMicros: cutoff, market: options.market}}, {nowMicros: options.nowMicros})
    return {timeframe: tf, fromMicros: lookbackFrom, toMicros: end(lookbackFrom), candles: scoped.candles, removed: scoped.removed, trades: scoped.trades, lateWindows: 0, ingestedThrough: scoped.newestIngestion}
  }

  const mark = await engine.readMark(tf)
  const from = mark.closedThrough === null ? lookbackFrom : Math.min(lookbackFrom, mark.closedThrough)
  const result = await engine.replaceWindows(
    tf,
    {
      range: {fromMicros: from, toMicros: cutoff},
      late: {ingestedAfter: mark.ingestedThrough, beforeMicros: from, ...(options.retention && {notBeforeMicros: options.retention.fromMicros})},
    },
    {nowMicros: options.nowMicros, advanceMark: {closedThrough: cutoff}},
  )
  return {
    timeframe: tf,
    fromMicros: from,
    toMicros: end(from),
    candles: result.candles,
    removed: result.removed,
    trades: result.trades,
    lateWindows: result.lateWindows,
    lateSpan: result.lateSpan,
    ...(result.lateBeyondRetention ? {lateBeyondRetention: result.lateBeyondRetention} : {}),
    ingestedThrough: result.newestIngestion,
  }
}
