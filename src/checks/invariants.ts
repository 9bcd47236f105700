import type {CandleEvidence, CheckQueries, DuplicateKeyFigures, RollupFigures, RowInvariant, RowInvariantFigures} from '../pipeline/engine/check-queries.js'

import {ROW_INVARIANTS} from '../pipeline/engine/check-queries.js'
import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe, floorToWindow} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, EvidenceRow, checkResult, forTimeframe, plural, verb} from './check.js'

/** What each invariant means: the runbook's four, then the ones it assumed (shape of the window, date, alignment). */
const MEANINGS: Record<RowInvariant, string> = {
  ohlc_bounds: 'high ≥ open, close and low ≤ open, close',
  vwap_bounds: 'vwap within [low, high]',
  positive_volume: 'volume > 0 and trade_count > 0',
  window_order: 'window_end > window_start',
  window_length: 'window_end − window_start = the timeframe',
  window_alignment: 'window_start aligned to the timeframe',
  window_date: 'window_date = date(window_start)',
}

export interface ValidateOptions extends CheckOptions {
  timeframes: Timeframe[]
  /** Check candles whose window starts at or after this instant (µs). */
  fromMicros: number
}

/** The invariants of every candle in range, per timeframe, and each timeframe against the rollup of the one below. */
export async function validateChecks(queries: CheckQueries, options: ValidateOptions): Promise<CheckResult[]> {
  // Every window that overlaps the range: "the last day" includes yesterday's 1d candle.
  const spans = options.timeframes.map((tf) => ({timeframe: tf, fromMicros: floorToWindow(options.fromMicros, tf)}))
  const rolled = spans.filter((span) => span.timeframe !== '1m').map((span) => ({...span, child: childOf(span.timeframe)}))
  // Asked at once: an engine may answer them together (one Spark request).
  const [invariants, duplicates, rollups] = await Promise.all([
    queries.rowInvariants(spans, options.limit),
    queries.duplicateKeys(spans, options.limit),
    rolled.length === 0 ? [] : queries.rollupMismatches(rolled, options.limit),
  ])
  const results: CheckResult[] = []
  for (const tf of options.timeframes) {
    const figures = forTimeframe(invariants, tf)
    results.push(...rowInvariantChecks(figures), uniqueKeyCheck(forTimeframe(duplicates, tf), figures.candles))
    if (tf !== '1m') results.push(rollupCheck(forTimeframe(rollups, tf)))
  }

  return results
}

function rowInvariantChecks(figures: RowInvariantFigures): CheckResult[] {
  const {timeframe: tf, candles} = figures
  return ROW_INVARIANTS.map((name) => {
    const meaning = MEANINGS[name]
    const broken = figures.broken[name]
    if (broken.total === 0) {
      return checkResult({name, timeframe: tf, status: 'pass', summary: `${plural(candles, 'candle')}: ${meaning}`, value: 0, checked: candles, thresholds: {warn: null, fail: 0}})
    }

    return checkResult({
      name,
      timeframe: tf,
      status: 'fail',
      summary: `${plural(broken.total, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(broken.total, 'breaks', 'break')} ${meaning}`,
      value: broken.total,
      checked: candles,
      thresholds: {warn: null, fail: 0},
      evidence: broken.rows.map((row) => candleEvidence(tf, row)),
      evidenceOmitted: broken.total - broken.rows.length,
      hint: backfillHint(tf, Number(broken.firstMicros), Number(broken.lastMicros)),
    })
  })
}

function candleEvidence(tf: Timeframe, row: CandleEvidence): EvidenceRow {
  return {
    timeframe: tf,
    symbol: row.symbol,
    exchange: row.exchange,
    window_start: row.window_start,
    window_end: row.window_end,
    window_date: row.window_date,
    open_price: row.open_price,
    high_price: row.high_price,
    low_price: row.low_price,
    close_price: row.close_price,
    volume: row.volume,
    trade_count: row.trade_count,
    vwap: row.vwap,
  }
}

function uniqueKeyCheck(figures: DuplicateKeyFigures, candles: number): CheckResult {
  const {timeframe: tf, duplicates} = figures
  const {total} = duplicates
  if (total === 0) {
    return checkResult({name: 'unique_key', timeframe: tf, status: 'pass', summary: 'one candle per (symbol, exchange, window_start)', value: 0, unit: 'keys', checked: candles, thresholds: {warn: null, fail: 0}})
  }

  return checkResult({
    name: 'unique_key',
    timeframe: tf,
    status: 'fail',
    summary: `${plural(total, 'key')} with more than one candle`,
    value: total,
    unit: 'keys',
    checked: candles,
    thresholds: {warn: null, fail: 0},
    evidence: duplicates.rows.map((row) => ({timeframe: tf, symbol: row.symbol, exchange: row.exchange, window_start: row.window_start, copies: row.copies})),
    evidenceOmitted: total - duplicates.rows.length,
    hint: backfillHint(tf, Number(duplicates.firstMicros), Number(duplicates.lastMicros)),
  })
}

/**
 * Each candle against the rollup of the candles one timeframe below (open = first child's open,
 * close = last child's close, high/low = max/min, volume and trade_count = sums, vwap the
 * volume-weighted mean of the children's). Two differences are not wrong, and warn: a parent built
 * before one of its children changed is stale (its own flow rebuilds it on its next run), and a
 * parent whose children are pending (trades ingested after the child flow's last run, or windows it
 * has not closed yet: the parent's flow read them from the trades first) waits for the child flow's next run.
 */
function rollupCheck(figures: RollupFigures): CheckResult {
  const tf = figures.timeframe
  const parent = TIMEFRAME_SPECS[tf]
  const childTf = childOf(tf)
  const child = TIMEFRAME_SPECS[childTf]
  const thresholds = {warn: 0, fail: 0}
  const checked = figures.compared
  const meaning = `each ${tf} candle equals the rollup of its ${child.name} candles`
  if (figures.rows.length === 0) return checkResult({name: 'rollup', timeframe: tf, status: 'pass', summary: `${plural(checked, 'candle')}: ${meaning}`, value: 0, checked, thresholds})
  const {total, wrong, waiting, waitingChildren, waitingOwn} = figures
  const stale = total - wrong - waiting
  const evidence = figures.rows.map((row) => ({
    timeframe: tf,
    symbol: row.symbol,
    exchange: row.exchange,
    window_start: row.window_start,
    fields: row.fields,
    candle: row.candle,
    children: row.children,
    stale: row.stale ? 'yes' : 'no',
    pending: row.pending ? 'yes' : 'no',
  }))
  const notes = [
    stale > 0 ? `${plural(stale, 'candle')} built before ${verb(stale, 'its', 'their')} ${child.name} candles changed (late trades): the next ${parent.flow} run rebuilds ${verb(stale, 'it', 'them')}` : '',
    waitingChildren > 0
      ? `${plural(waitingChildren, 'candle')} ${verb(waitingChildren, 'waits', 'wait')} for ${verb(waitingChildren, 'its', 'their')} ${child.name} candles (trades the ${child.flow} has not built yet): its next run builds them`
      : '',
    waitingOwn > 0 ? `${plural(waitingOwn, 'candle')} ${verb(waitingOwn, 'misses', 'miss')} late trades that the next ${parent.flow} run adds` : '',
  ].filter(Boolean)
  const next = waitingChildren > 0 && waitingOwn > 0 ? 'all' : waitingChildren > 0 ? childTf : tf
  const shownRows = {value: wrong, checked, thresholds, evidence, evidenceOmitted: total - figures.rows.length}
  if (wrong === 0) {
    return checkResult({name: 'rollup', timeframe: tf, status: 'warn', summary: notes.join('; '), ...shownRows, value: stale + waiting, hint: `k2ops trigger ${next}`})
  }

  return checkResult({
    name: 'rollup',
    timeframe: tf,
    status: 'fail',
    summary: `${plural(wrong, 'candle')} ${verb(wrong, 'differs', 'differ')} from the rollup of ${verb(wrong, 'its', 'their')} ${child.name} candles (open / high / low / close / volume / trades / vwap)${notes.length > 0 ? `; and ${notes.join('; ')}` : ''}`,
    ...shownRows,
    // Which level is wrong is not known here (the parent, or a child): rebuild every level over that range.
    hint: backfillHint('all', Number(figures.firstMicros), Number(figures.lastMicros), TIMEFRAME_SPECS[tf].micros),
  })
}

function childOf(tf: Timeframe): Timeframe {
  const order: Timeframe[] = ['1m', '5m', '30m', '1h', '1d']
  return order[order.indexOf(tf) - 1]
}

/** The backfill that rebuilds the windows of `tf` from the one holding `first` to the one holding `last`, from the trades. */
export function backfillHint(tf: Timeframe | 'all', firstMicros: number, lastMicros: number, windowMicros = TIMEFRAME_SPECS[tf === 'all' ? '1m' : tf].micros): string {
  const from = firstMicros - (((firstMicros % windowMicros) + windowMicros) % windowMicros)
  const to = lastMicros - (((lastMicros % windowMicros) + windowMicros) % windowMicros) + windowMicros
  return `k2ops backfill --timeframe ${tf} --from ${formatMicros(from)} --to ${formatMicros(to)}`
}
