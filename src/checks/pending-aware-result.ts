import type {Timeframe} from '../pipeline/timeframes.js'

import {CheckResult, EvidenceRow, checkResult} from './check.js'
import {backfillHint} from './invariants.js'

/**
 * The verdict of a check whose offending windows are either pending (the flow has not had its turn:
 * warn, `k2ops trigger`) or broken (fail, with the backfill over the broken ones): gaps and reconcile.
 */
export function pendingAwareResult(check: {
  name: string
  timeframe: Timeframe
  unit: string
  /** Rows looked at (windows with trades, candles). */
  checked: number
  /** Offending windows: all of them, the broken ones, and the window starts (µs) of the broken ones. */
  counts: {total: number; broken: number; first: number; last: number}
  evidence: EvidenceRow[]
  summary: {pass: string; pending: string; broken: string}
}): CheckResult {
  const {name, timeframe, unit, counts, evidence, checked} = check
  const thresholds = {warn: null, fail: 0}
  if (counts.total === 0) return checkResult({name, timeframe, status: 'pass', summary: check.summary.pass, value: 0, unit, checked, thresholds})
  const shown = {checked, thresholds, evidence, evidenceOmitted: counts.total - evidence.length}
  if (counts.broken === 0) {
    return checkResult({name, timeframe, status: 'warn', summary: check.summary.pending, value: 0, unit, ...shown, hint: `k2ops trigger ${timeframe}`})
  }

  return checkResult({name, timeframe, status: 'fail', summary: check.summary.broken, value: counts.broken, unit, ...shown, hint: backfillHint(timeframe, counts.first, counts.last)})
}
