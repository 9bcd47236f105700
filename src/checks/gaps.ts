import type {KeptFrom} from '../pipeline/retention-policy.js'
import type {CheckQueries, MissingWindowFigures, SilenceFigures} from '../pipeline/engine/check-queries.js'

import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, checkResult, forTimeframe, plural, verb} from './check.js'
import {Thresholds} from './thresholds.js'
import {pendingAwareResult} from './pending-aware-result.js'

const MINUTE = 60_000_000

export interface GapsOptions extends CheckOptions {
  timeframes: Timeframe[]
  fromMicros: number
  toMicros: number
  thresholds: Thresholds
  /** Each timeframe's retention cutoff: windows before it were deleted by retention, not missed by the pipeline. */
  keptFrom?: KeptFrom
}

/**
 * Missing candles, judged by the source: a window with trades and no candle is a pipeline gap
 * (fail, with the backfill that fills it); a window without trades is a quiet market (pass); a
 * long silence on a pair that normally trades all the time is an ingest gap (warn: the tape has a
 * hole, no candle can be built until it is ingested).
 */
export async function gapsChecks(queries: CheckQueries, options: GapsOptions): Promise<CheckResult[]> {
  const through = Math.min(options.toMicros, options.nowMicros)
  const spans = options.timeframes.map((tf) => {
    // Every closed window that overlaps the range is expected to have a candle, unless retention deleted it.
    const kept = options.keptFrom?.[tf]
    const from = floorToWindow(kept !== undefined && kept.fromMicros > options.fromMicros ? kept.fromMicros : options.fromMicros, tf)
    return {timeframe: tf, fromMicros: from, toMicros: Math.max(from, floorToWindow(through, tf))}
  })
  const {ingestGapMinutes, ingestGapExpectedTrades} = options.thresholds
  // Asked at once: an engine may answer them together (one Spark request).
  const [missing, silences] = await Promise.all([
    queries.missingWindows(spans, options.limit),
    queries.tradeSilences({
      fromMicros: floorToWindow(options.fromMicros, '1m'),
      toMicros: through,
      minMicros: ingestGapMinutes * MINUTE,
      minExpectedTrades: ingestGapExpectedTrades,
      limit: options.limit,
    }),
  ])
  const results = options.timeframes.map((tf) => pipelineGapCheck(forTimeframe(missing, tf), options))
  results.push(ingestGapCheck(silences, options))
  return results
}

function pipelineGapCheck(figures: MissingWindowFigures, options: GapsOptions): CheckResult {
  const tf = figures.timeframe
  const spec = TIMEFRAME_SPECS[tf]
  const kept = options.keptFrom?.[tf]
  const retained = kept !== undefined && kept.fromMicros > options.fromMicros
  const {quiet, total, broken: gaps} = figures
  const quietNote = (quiet > 0 ? `; ${plural(quiet, 'window')} without trades (quiet market)` : '') + (retained ? `; windows before ${formatMicros(kept.fromMicros)} not checked (deleted by the ${kept.policyDays}-day retention)` : '')
  return pendingAwareResult({
    name: 'pipeline_gaps',
    timeframe: tf,
    unit: 'windows',
    checked: figures.windows,
    counts: {total, broken: gaps, first: Number(figures.firstMicros), last: Number(figures.lastMicros)},
    evidence: figures.rows.map((row) => ({timeframe: tf, symbol: row.symbol, exchange: row.exchange, window_start: row.window_start, trades: row.trades, kind: row.pending ? 'pending' : 'pipeline gap'})),
    summary: {
      pass: `every window with trades has a candle${quietNote}`,
      pending: `${plural(total, 'window')} with trades ${verb(total, 'waits', 'wait')} for the next ${spec.flow} run`,
      broken: `${plural(gaps, 'window')} with trades ${verb(gaps, 'has', 'have')} no ${tf} candle${total > gaps ? ` (${total - gaps} more ${verb(total - gaps, 'waits', 'wait')} for the next run)` : ''}`,
    },
  })
}

function ingestGapCheck(figures: SilenceFigures, options: GapsOptions): CheckResult {
  const {ingestGapMinutes, ingestGapExpectedTrades} = options.thresholds
  const {total, rows} = figures.silences
  const checked = figures.minutes
  const thresholds = {warn: 0, fail: null}
  if (total === 0) {
    return checkResult({
      name: 'ingest_gaps',
      status: 'pass',
      summary: `no silence of ${ingestGapMinutes} min or more where a pair's own rate expects ${ingestGapExpectedTrades}+ trades`,
      value: 0,
      unit: 'silences',
      checked,
      thresholds,
    })
  }

  const first = rows[0]
  return checkResult({
    name: 'ingest_gaps',
    status: 'warn',
    summary: `${plural(total, 'silence')} on pairs that normally trade (first: ${first.symbol}@${first.exchange} from ${first.silent_from}, ${first.minutes} min, ~${first.expected_trades} trades expected): the tapes have holes`,
    value: total,
    unit: 'silences',
    checked,
    thresholds,
    evidence: rows.map((row) => ({symbol: row.symbol, exchange: row.exchange, silent_from: row.silent_from, silent_to: row.silent_to, minutes: row.minutes, expected_trades: row.expected_trades})),
    evidenceOmitted: total - rows.length,
    hint: `ingest the tapes covering ${first.silent_from} to ${first.silent_to} (k2ops ingest FILE...), then k2ops backfill`,
  })
}
