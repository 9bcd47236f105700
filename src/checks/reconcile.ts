import type {CheckQueries, CountMismatchFigures} from '../pipeline/engine/check-queries.js'

import {TIMEFRAME_SPECS, Timeframe, ceilToWindow, floorToWindow} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, forTimeframe, plural, verb} from './check.js'
import {pendingAwareResult} from './pending-aware-result.js'

export interface ReconcileOptions extends CheckOptions {
  timeframes: Timeframe[]
  fromMicros: number
  toMicros: number
}

/**
 * The runbook's "Validate Candle Count", for trade_count and volume alike: each candle against the
 * count and the quantity sum of the source trades in its window. Candles older than the oldest
 * stored trade are left out (their trades may have been retired by a trades retention policy).
 */
export async function reconcileChecks(queries: CheckQueries, options: ReconcileOptions): Promise<CheckResult[]> {
  const spans = options.timeframes.map((tf) => {
    // Windows that overlap the range are compared whole.
    const from = floorToWindow(options.fromMicros, tf)
    return {timeframe: tf, fromMicros: from, toMicros: Math.max(from, ceilToWindow(options.toMicros, tf))}
  })
  const mismatches = await queries.countMismatches(spans, options.limit, {sinceOldestTrade: true})
  return options.timeframes.map((tf) => reconcileCheck(forTimeframe(mismatches, tf)))
}

function reconcileCheck(figures: CountMismatchFigures): CheckResult {
  const tf = figures.timeframe
  const spec = TIMEFRAME_SPECS[tf]
  const {total, broken: differs, candles} = figures
  return pendingAwareResult({
    name: 'reconcile',
    timeframe: tf,
    unit: 'candles',
    checked: candles,
    counts: {total, broken: differs, first: Number(figures.firstMicros), last: Number(figures.lastMicros)},
    evidence: figures.rows.map((row) => ({
      timeframe: tf,
      symbol: row.symbol,
      exchange: row.exchange,
      window_start: row.window_start,
      trade_count: row.trade_count,
      source_count: row.source_count,
      count_diff: row.count_diff,
      volume: row.volume,
      source_volume: row.source_volume,
      kind: row.pending ? 'pending' : 'differs',
    })),
    summary: {
      pass: `${plural(candles, 'candle')} match their trades' count and volume`,
      pending: `${plural(total, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(total, 'misses', 'miss')} late trades that the next ${spec.flow} run adds`,
      broken: `${plural(differs, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(differs, 'disagrees', 'disagree')} with ${verb(differs, 'its', 'their')} trades (count or volume)${total > differs ? `; ${total - differs} more ${verb(total - differs, 'waits', 'wait')} for late trades` : ''}`,
    },
  })
}
