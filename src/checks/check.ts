import type {Timeframe} from '../pipeline/timeframes.js'

import {formatMicros} from '../pipeline/time.js'

export const CHECK_STATUSES = ['pass', 'warn', 'fail'] as const
export type CheckStatus = (typeof CHECK_STATUSES)[number]

/** One row of evidence: the keys an operator needs to act on it, values as printable text. */
export type EvidenceRow = Record<string, string | number | null>

/**
 * The result of one check. Its JSON shape is a contract (scripts and dashboards read it), locked
 * by a test: add fields, never rename them.
 */
export interface CheckResult {
  /** Stable id, e.g. `ohlc_bounds`, `candle_lag`, `pipeline_gaps`. */
  name: string
  /** The timeframe checked, or null for checks of the source or the process. */
  timeframe: Timeframe | null
  status: CheckStatus
  /** One line for people. */
  summary: string
  /** What was measured (offending rows, seconds of lag, a ratio...), in `unit`. */
  value: number | null
  unit: string
  /**
   * How many rows the check looked at: candles (invariants, rollup, reconcile, candle lag), windows
   * with trades (pipeline gaps), minutes with trades (ingest gaps), trades (source checks), exchanges
   * (source lag). 0: it had nothing to check, so its pass says nothing. null: not a count of rows.
   */
  checked: number | null
  /** The value's limits: above `warn` (or below, for ratios) warns, past `fail` fails. */
  thresholds: {warn: number | null; fail: number | null} | null
  /** Up to --limit offending rows, oldest first. */
  evidence: EvidenceRow[]
  /** Offending rows beyond the evidence shown. */
  evidenceOmitted: number
  /** What to run next, when the check did not pass. */
  hint: string | null
}

export interface CheckReport {
  status: CheckStatus
  /** The instant the checks were measured against (K2OPS_NOW when set), ISO-8601. */
  checkedAt: string
  checks: CheckResult[]
}

export interface CheckOptions {
  /** The instant every check measures against, in µs. */
  nowMicros: number
  /** How many evidence rows each check keeps. */
  limit: number
}

const SEVERITY: Record<CheckStatus, number> = {pass: 0, warn: 1, fail: 2}

export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'pass'
  for (const status of statuses) if (SEVERITY[status] > SEVERITY[worst]) worst = status
  return worst
}

export function statusSeverity(status: CheckStatus): number {
  return SEVERITY[status]
}

/** A result with the defaults filled in; checks pass the parts that matter to them. */
export function checkResult(result: Pick<CheckResult, 'name' | 'status' | 'summary'> & Partial<CheckResult>): CheckResult {
  // Built field by field so every check prints its fields in the same order.
  return {
    name: result.name,
    timeframe: result.timeframe ?? null,
    status: result.status,
    summary: result.summary,
    value: result.value ?? null,
    unit: result.unit ?? 'rows',
    checked: result.checked ?? null,
    thresholds: result.thresholds ?? null,
    evidence: result.evidence ?? [],
    evidenceOmitted: result.evidenceOmitted ?? 0,
    hint: result.hint ?? null,
  }
}

/** pass / warn / fail for a value that is bad when high (lag, counts). */
export function statusAbove(value: number, thresholds: {warn: number | null; fail: number | null}): CheckStatus {
  if (thresholds.fail !== null && value > thresholds.fail) return 'fail'
  if (thresholds.warn !== null && value > thresholds.warn) return 'warn'
  return 'pass'
}

/** pass / warn / fail for a value that is bad when low (success rates, free space). */
export function statusBelow(value: number, thresholds: {warn: number | null; fail: number | null}): CheckStatus {
  if (thresholds.fail !== null && value < thresholds.fail) return 'fail'
  if (thresholds.warn !== null && value < thresholds.warn) return 'warn'
  return 'pass'
}

export function buildReport(checks: CheckResult[], nowMicros: number): CheckReport {
  return {status: worstStatus(checks.map((check) => check.status)), checkedAt: formatMicros(nowMicros), checks}
}

/** The figures of one timeframe among those an engine returned for several. */
export function forTimeframe<T extends {timeframe: Timeframe}>(figures: T[], tf: Timeframe): T {
  const found = figures.find((entry) => entry.timeframe === tf)
  if (!found) throw new Error(`the engine returned no figures for ${tf}`)
  return found
}

export {plural, verb} from '../pipeline/words.js'
