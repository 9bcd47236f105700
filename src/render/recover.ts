import type {RepairPlan, RepairVerification} from '../checks/recover-plan.js'
import type {AppliedRepair, MeasuredRange} from '../pipeline/candle-repair.js'
import type {InterruptedRecover} from '../pipeline/interrupted-recover.js'
import type {RetentionClamp} from '../pipeline/retention-policy.js'
import type {MarketScope} from '../pipeline/engine/engine.js'

import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAMES, Timeframe} from '../pipeline/timeframes.js'
import {renderTable} from './table.js'
import {count, plural} from '../pipeline/words.js'
import {marketText} from '../pipeline/market.js'

export interface RecoverRangeJson {
  timeframe: Timeframe
  from: string
  to: string
  windows: number
  /** Stored candles deleted and rebuilt. */
  candles: number
  /** Trades reprocessed. */
  trades: number
  reasons: string[]
}

export interface RecoverResult {
  mode: 'auto' | 'date' | 'range'
  dryRun: boolean
  at: string
  timeframes: Timeframe[]
  /** --symbol/--exchange: only this market was checked and rebuilt (absent: every market). */
  market?: MarketScope
  /** What the checks covered: the lookback (--auto) or the span of the ranges. */
  checked: {from: string; to: string} | null
  plan: {ranges: RecoverRangeJson[]; totals: {ranges: number; windows: number; candles: number; trades: number}; truncated: string[]}
  before: RepairVerification
  after: RepairVerification | null
  applied: AppliedRepair | null
  outcome: 'planned' | 'nothing to repair' | 'repaired' | 'not repaired'
  auditId: string | null
  /** Timeframes whose ranges were cut at their retention cutoff (what retention deletes is not rebuilt, unless --force). */
  retentionClamp: RetentionClamp[]
  /** Earlier recover runs killed before they recorded their outcome, with what the warehouse shows they rebuilt. */
  interrupted: InterruptedRecover[]
}

/** One line per killed run: when, who, and what the warehouse shows it rebuilt. */
export function renderInterrupted(runs: InterruptedRecover[]): string {
  return runs
    .map(
      (run) =>
        `warning: the recover run ${run.id} of ${run.at} (${run.by}) was interrupted before it recorded its outcome; the warehouse shows ${plural(run.found.candlesRebuilt, 'candle')} rebuilt by it in ${run.found.rangesTouched} of its ${plural(run.found.ranges, 'planned range')}`,
    )
    .join('\n')
}

/** The result of a planned repair, before anything changed. */
export function plannedResult(plan: RepairPlan, request: Pick<RecoverResult, 'mode' | 'dryRun' | 'at' | 'timeframes' | 'market' | 'interrupted'>): RecoverResult {
  const {mode, dryRun, at, timeframes, market, interrupted} = request
  return {
    mode,
    dryRun,
    at,
    timeframes,
    ...(market && {market}),
    checked: plan.checked ? {from: formatMicros(plan.checked.fromMicros), to: formatMicros(plan.checked.toMicros)} : null,
    plan: {ranges: plan.ranges.map(rangeJson), totals: totals(plan.ranges), truncated: plan.truncated},
    before: plan.before,
    after: null,
    applied: null,
    outcome: 'planned',
    auditId: null,
    retentionClamp: plan.clamped,
    interrupted,
  }
}

/** How an applied repair ended, from the checks after it. */
export function repairOutcome(after: RepairVerification, plannedRanges: number): RecoverResult['outcome'] {
  return after.status !== 'pass' ? 'not repaired' : plannedRanges === 0 ? 'nothing to repair' : 'repaired'
}

/** What to do when the repaired ranges still fail. */
export function renderRepairNext(timeframes: Timeframe[]): string {
  return timeframes.length < TIMEFRAMES.length
    ? 'next: repair every timeframe: the same command with --timeframe all'
    : 'next: k2ops validate / k2ops gaps / k2ops reconcile show the rows; k2ops inspect trades checks the trades they are built from'
}

export function rangeJson(range: MeasuredRange): RecoverRangeJson {
  return {
    timeframe: range.timeframe,
    from: formatMicros(range.fromMicros),
    to: formatMicros(range.toMicros),
    windows: range.windows,
    candles: range.candles,
    trades: range.trades,
    reasons: range.reasons,
  }
}

export function totals(ranges: MeasuredRange[]): RecoverResult['plan']['totals'] {
  return {
    ranges: ranges.length,
    windows: ranges.reduce((sum, r) => sum + r.windows, 0),
    candles: ranges.reduce((sum, r) => sum + r.candles, 0),
    trades: ranges.reduce((sum, r) => sum + r.trades, 0),
  }
}



export function renderPlan(result: RecoverResult): string {
  const lines: string[] = []
  const what = result.mode === 'auto' ? 'windows that validate, gaps and reconcile fail on' : 'the requested windows'
  lines.push(`recover ${result.mode === 'auto' ? '--auto' : result.mode === 'date' ? '--date' : '--from/--to'}${result.market ? ` for ${marketText(result.market)}` : ''}: ${what}${result.checked ? `, checked ${result.checked.from} → ${result.checked.to}` : ''}; timeframes ${result.timeframes.join(', ')}`)
  if (result.before.rows > 0) lines.push(`Offending rows: ${result.before.failing.map((f) => `${f.check} (${count(f.rows)})`).join(', ')}`)
  for (const check of result.plan.truncated) lines.push(`warning: ${check} has more offending rows than one run plans for; run recover again after this one`)
  lines.push('')
  if (result.plan.ranges.length === 0) {
    lines.push('Nothing to repair.')
    return lines.join('\n')
  }

  lines.push(
    renderTable(
      ['TIMEFRAME', 'FROM', 'TO', 'WINDOWS', 'CANDLES', 'TRADES', 'WHY'],
      result.plan.ranges.map((r) => [r.timeframe, r.from, r.to, count(r.windows), count(r.candles), count(r.trades), r.reasons.join(', ')]),
      {alignRight: [3, 4, 5]},
    ),
  )
  const t = result.plan.totals
  lines.push('', `Plan: ${plural(t.ranges, 'range')}; ${plural(t.candles, 'candle')} to delete and rebuild; ${plural(t.trades, 'trade')} to reprocess.`)
  return lines.join('\n')
}

export function renderOutcome(result: RecoverResult): string {
  const after = result.after ?? result.before
  const perTimeframe = (v: RepairVerification, tf: Timeframe) => v.failing.filter((f) => f.timeframe === tf).reduce((sum, f) => sum + f.rows, 0)
  const lines = [
    '',
    renderTable(
      ['TIMEFRAME', 'OFFENDING BEFORE', 'AFTER'],
      result.timeframes.map((tf) => [tf, count(perTimeframe(result.before, tf)), count(perTimeframe(after, tf))]),
      {alignRight: [1, 2]},
    ),
    '',
  ]
  const applied = result.applied
  if (result.outcome === 'nothing to repair') lines.push('recover: nothing to repair.')
  else if (result.outcome === 'repaired' && applied) {
    lines.push(
      `recover: repaired ${plural(result.plan.totals.ranges, 'range')} in ${plural(applied.pieces, 'transaction')} (${plural(applied.candles, 'candle')} written, ${count(applied.removed)} removed) in ${applied.durationMs} ms; validate, gaps and reconcile pass on them.`,
    )
  } else lines.push(`recover: not repaired: ${after.failing.map((f) => `${f.check} (${count(f.rows)})`).join(', ')} still failing.`)
  lines.push(`Audit: ${result.auditId}`)
  return lines.join('\n')
}
