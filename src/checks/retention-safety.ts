import type {CheckQueries} from '../pipeline/engine/check-queries.js'

import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../pipeline/timeframes.js'
import {CheckResult, EvidenceRow, checkResult, forTimeframe, plural, verb} from './check.js'
import {backfillHint} from './invariants.js'

export interface TradesRetentionOptions {
  /** The trades policy's cutoff: trades whose exchange_date is before it would be deleted. */
  cutoff: string
  /** Per timeframe, the first date its policy keeps candles for; older windows are expected to have none. */
  candleCutoffs: Record<Timeframe, string>
  /** Evidence rows to keep. */
  limit: number
}

/**
 * Before source trades are deleted, their candles must be the whole truth about them: every window
 * of those trades, in every timeframe whose policy still keeps candles for its day, has a candle
 * whose trade_count and volume equal its trades' (the reconcile and gaps rules). Windows older than
 * every candle policy cannot be checked at all. Any of these fails: deleting would lose data for good.
 */
export async function tradesRetentionCheck(queries: CheckQueries, options: TradesRetentionOptions): Promise<CheckResult> {
  // Days no candle policy keeps any more: nothing is left to compare these trades with.
  const oldestKept = TIMEFRAMES.map((tf) => options.candleCutoffs[tf]).sort()[0]
  const figures = await queries.doomedTrades({cutoff: options.cutoff, candlesKeptFrom: options.candleCutoffs, uncheckedBefore: oldestKept, limit: options.limit})
  const {trades} = figures
  const base = {name: 'trades_retention_safety', unit: 'windows', thresholds: {warn: null, fail: 0}}
  if (trades === 0) {
    return checkResult({...base, status: 'pass', summary: `no source trades dated before ${options.cutoff}`, value: 0})
  }

  let total = 0
  let firstBad: number | undefined
  let lastBad: number | undefined
  const evidence: EvidenceRow[] = []
  for (const tf of TIMEFRAMES) {
    const found = forTimeframe(figures.windows, tf)
    total += found.total
    if (found.firstMicros !== null) firstBad = Math.min(firstBad ?? found.firstMicros, found.firstMicros)
    if (found.lastMicros !== null) lastBad = Math.max(lastBad ?? found.lastMicros, found.lastMicros)
    for (const row of found.rows.slice(0, Math.max(0, options.limit - evidence.length))) {
      evidence.push({
        timeframe: tf,
        symbol: row.symbol,
        exchange: row.exchange,
        window_start: row.window_start,
        trades: row.trades,
        candle_trades: row.candle_trades,
        volume: row.volume,
        candle_volume: row.candle_volume,
        kind: row.missing ? 'no candle' : 'differs',
      })
    }
  }

  const {minutes: unchecked, markets: uncheckedMarkets} = figures.unchecked
  for (const row of figures.unchecked.rows.slice(0, Math.max(0, options.limit - evidence.length))) {
    evidence.push({timeframe: null, symbol: row.symbol, exchange: row.exchange, window_start: row.window_start, trades: null, candle_trades: null, volume: null, candle_volume: null, kind: `${plural(row.minutes, 'minute')} before ${oldestKept}: no candle policy keeps them`})
  }

  const windows = total + unchecked
  if (windows === 0) {
    return checkResult({...base, status: 'pass', summary: `every window of the ${plural(trades, 'trade')} dated before ${options.cutoff} has candles that match them (count and volume)`, value: 0})
  }

  const parts = [total > 0 ? `${plural(total, 'window')} ${verb(total, 'has', 'have')} no candle or one that disagrees with ${verb(total, 'its', 'their')} trades` : '', unchecked > 0 ? `${plural(unchecked, 'minute')} of trades older than every candle policy cannot be checked` : '']
  return checkResult({
    ...base,
    status: 'fail',
    summary: `${plural(trades, 'trade')} dated before ${options.cutoff} would be deleted, but ${parts.filter(Boolean).join('; ')}`,
    value: windows,
    evidence,
    evidenceOmitted: Math.max(0, total + uncheckedMarkets - evidence.length),
    hint:
      firstBad !== undefined && lastBad !== undefined
        ? `${backfillHint('all', firstBad, lastBad, TIMEFRAME_SPECS['1d'].micros)}, then run retention again (or --force to delete them anyway)`
        : '--force deletes them anyway',
  })
}
