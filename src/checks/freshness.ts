import type {KeptFrom} from '../pipeline/retention-policy.js'
import type {CheckQueries, FreshnessFigures} from '../pipeline/engine/check-queries.js'

import {MICROS_PER_SECOND, formatMicros} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, checkResult, forTimeframe, statusAbove} from './check.js'
import {Thresholds} from './thresholds.js'
import {formatAge} from './units.js'

export interface FreshnessOptions extends CheckOptions {
  timeframes: Timeframe[]
  thresholds: Thresholds
  /** Each timeframe's retention cutoff: no candle is due for trades older than it (retention deletes those). */
  keptFrom?: KeptFrom
}

/**
 * Two different failures look alike from the candles alone: the feed stopped (no new trades:
 * source lag, now − newest trade) and the pipeline stopped (trades wait for candles: candle lag,
 * newest trade − newest candle end). Each gets its own check so on-call knows which one broke.
 */
export async function freshnessChecks(queries: CheckQueries, options: FreshnessOptions): Promise<CheckResult[]> {
  const figures = await queries.freshness(options.timeframes)
  const exchanges = [...figures.exchanges].sort((a, b) => a.exchange.localeCompare(b.exchange))
  const newestTrade = exchanges.length === 0 ? null : Math.max(...exchanges.map((row) => row.newestMicros))
  const results = [sourceLagCheck(exchanges, options)]
  for (const tf of options.timeframes) results.push(candleLagCheck(forTimeframe(figures.candles, tf), newestTrade, options))
  return results
}

function sourceLagCheck(exchanges: FreshnessFigures['exchanges'], options: FreshnessOptions): CheckResult {
  const limits = options.thresholds.sourceLagMinutes
  const thresholds = {warn: limits.warn * 60, fail: limits.fail * 60}
  if (exchanges.length === 0) {
    return checkResult({name: 'source_lag', status: 'fail', summary: 'no trades in the warehouse', unit: 'seconds', checked: 0, thresholds, hint: 'k2ops ingest FILE... loads trade tapes'})
  }

  const rows = exchanges.map((row) => {
    const lag = Math.max(0, Math.round((options.nowMicros - row.newestMicros) / MICROS_PER_SECOND))
    return {exchange: row.exchange, newest_trade: formatMicros(row.newestMicros), lag_seconds: lag, status: statusAbove(lag, thresholds)}
  })
  // The stalest exchange decides: one feed down is an outage even when the others flow.
  const stalest = rows.reduce((worst, row) => (row.lag_seconds > worst.lag_seconds ? row : worst))
  const status = stalest.status
  const summary =
    status === 'pass'
      ? `newest trade ${formatAge(stalest.lag_seconds)} old on the stalest exchange (${stalest.exchange})`
      : `${rows
          .filter((row) => row.status !== 'pass')
          .map((row) => `no trades from ${row.exchange} for ${formatAge(row.lag_seconds)} (since ${row.newest_trade})`)
          .join('; ')}: the feed is behind, not the pipeline`
  return checkResult({
    name: 'source_lag',
    status,
    summary,
    value: stalest.lag_seconds,
    unit: 'seconds',
    checked: exchanges.length,
    thresholds,
    evidence: rows.slice(0, options.limit),
    evidenceOmitted: Math.max(0, rows.length - options.limit),
    hint: status === 'pass' ? null : `check the ${stalest.exchange} trade feed; then k2ops ingest the missing tapes`,
  })
}

function candleLagCheck(figures: FreshnessFigures['candles'][number], newestTrade: number | null, options: FreshnessOptions): CheckResult {
  const {timeframe: tf, newestEndMicros: newestEnd, candles: checked} = figures
  const spec = TIMEFRAME_SPECS[tf]
  const limits = options.thresholds.candleLagMinutes[tf]
  const thresholds = {warn: limits.warn * 60, fail: limits.fail * 60}
  if (newestTrade === null) {
    return checkResult({name: 'candle_lag', timeframe: tf, status: 'pass', summary: 'no trades yet, so no candles are due', unit: 'seconds', checked, thresholds})
  }

  const kept = options.keptFrom?.[tf]
  if (kept !== undefined && newestTrade < kept.fromMicros) {
    return checkResult({
      name: 'candle_lag',
      timeframe: tf,
      status: 'pass',
      summary: `the newest trade (${formatMicros(newestTrade)}) is older than the ${tf} retention cutoff (${formatMicros(kept.fromMicros)}, ${kept.policyDays} d): no ${tf} candles are kept for it`,
      unit: 'seconds',
      checked,
      thresholds,
    })
  }

  if (newestEnd === null) {
    return checkResult({
      name: 'candle_lag',
      timeframe: tf,
      status: 'fail',
      summary: `no ${tf} candles although trades exist (newest ${formatMicros(newestTrade)})`,
      unit: 'seconds',
      checked,
      thresholds,
      hint: `k2ops backfill --timeframe ${tf} --from <first trade> builds them`,
    })
  }

  const lag = Math.max(0, Math.round((newestTrade - newestEnd) / MICROS_PER_SECOND))
  const status = statusAbove(lag, thresholds)
  const evidence = [{timeframe: tf, newest_candle_end: formatMicros(newestEnd), newest_trade: formatMicros(newestTrade), lag_seconds: lag}]
  return checkResult({
    name: 'candle_lag',
    timeframe: tf,
    status,
    summary:
      status === 'pass'
        ? `newest candle ends ${formatAge(lag)} before the newest trade`
        : `candles end ${formatAge(lag)} before the newest trade (${formatMicros(newestEnd)}): the pipeline is behind (is ${spec.flow} running on schedule?)`,
    value: lag,
    unit: 'seconds',
    checked,
    thresholds,
    evidence: status === 'pass' ? [] : evidence,
    hint: status === 'pass' ? null : `k2ops trigger ${tf}`,
  })
}
