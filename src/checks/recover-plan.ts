import type {MeasuredRange, RecoverRange, WindowsToRepair} from '../pipeline/candle-repair.js'
import type {CheckQueries} from '../pipeline/engine/check-queries.js'
import type {MarketScope} from '../pipeline/engine/engine.js'

import {rangesFromWindows, rangesSpan, requestedRanges} from '../pipeline/candle-repair.js'
import {KeptFrom, RetentionClamp, clampToRetention} from '../pipeline/retention-policy.js'
import {parseIsoInstant} from '../pipeline/time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe, floorToWindow} from '../pipeline/timeframes.js'
import {CheckResult, EvidenceRow} from './check.js'
import {Thresholds} from './thresholds.js'

/** Evidence rows kept per check when a repair is planned: every offending row, up to this many. */
export const REPAIR_EVIDENCE_LIMIT = 100_000

/** Checks whose offending rows each name one candle window of their own timeframe. */
const WINDOW_CHECKS = new Set(['ohlc_bounds', 'vwap_bounds', 'positive_volume', 'window_order', 'window_length', 'window_alignment', 'window_date', 'unique_key', 'pipeline_gaps', 'reconcile'])

export interface RepairCheckOptions {
  /** Windows that overlap [fromMicros, toMicros) are checked (validate: from fromMicros on). */
  fromMicros: number
  toMicros: number
  nowMicros: number
  thresholds: Thresholds
  /** Windows before their timeframe's retention cutoff are no gaps (undefined: every window counts). */
  keptFrom?: KeptFrom
}

/**
 * validate, gaps and reconcile over every timeframe, keeping every offending row as evidence: what
 * `recover --auto` plans from, and what it checks again after the repair. Every timeframe is checked
 * even when fewer are repaired: a 5m rollup failure names 1m windows too.
 */
export async function repairChecks(queries: CheckQueries, options: RepairCheckOptions): Promise<CheckResult[]> {
  const common = {timeframes: [...TIMEFRAMES], nowMicros: options.nowMicros, limit: REPAIR_EVIDENCE_LIMIT}
  const [{validateChecks}, {gapsChecks}, {reconcileChecks}] = await Promise.all([import('./invariants.js'), import('./gaps.js'), import('./reconcile.js')])
  return [
    ...(await validateChecks(queries, {...common, fromMicros: options.fromMicros})),
    ...(await gapsChecks(queries, {...common, fromMicros: options.fromMicros, toMicros: options.toMicros, thresholds: options.thresholds, keptFrom: options.keptFrom})),
    ...(await reconcileChecks(queries, {...common, fromMicros: options.fromMicros, toMicros: options.toMicros})),
  ]
}

/** One offending row of a failed check, and the windows whose rebuild repairs it. */
export interface BrokenRow {
  /** The check and its timeframe, `ohlc_bounds 1h`. */
  check: string
  timeframe: Timeframe
  /** Window starts (µs) to rebuild, in the timeframes being repaired. */
  windows: Array<{timeframe: Timeframe; startMicros: number}>
}

/**
 * The rows of failed checks that a rebuild from the trades repairs, as windows of the timeframes
 * being repaired:
 * - a broken invariant, a pipeline gap, a candle that disagrees with its trades: that window of that
 *   timeframe;
 * - a candle that differs from the rollup of its children: the parent or a child may be the wrong
 *   one, so that parent window in every timeframe (as the check's own hint, `--timeframe all`).
 * Pending rows (late trades the next flow run adds) and stale rollups are not failures and are left
 * to the flows. With a market, only that market's rows count. `truncated` names the checks with more
 * offending rows than the evidence kept.
 */
export function brokenRows(checks: CheckResult[], timeframes: Timeframe[], market?: MarketScope): {rows: BrokenRow[]; truncated: string[]} {
  const rows: BrokenRow[] = []
  const truncated: string[] = []
  for (const check of checks) {
    if (check.status !== 'fail' || check.timeframe === null) continue
    const tf = check.timeframe
    const label = `${check.name} ${tf}`
    if (check.evidenceOmitted > 0) truncated.push(label)
    for (const row of check.evidence) {
      if (market && !inMarket(row, market)) continue
      const startMicros = repairableStart(check.name, row)
      if (startMicros === undefined) continue
      const windows =
        check.name === 'rollup'
          ? timeframes.flatMap((other) => windowsCovering(startMicros, startMicros + TIMEFRAME_SPECS[tf].micros, other))
          : timeframes.includes(tf)
            ? [{timeframe: tf, startMicros: floorToWindow(startMicros, tf)}]
            : []
      rows.push({check: label, timeframe: tf, windows})
    }
  }

  return {rows, truncated}
}

/** The windows of the rows, each with the checks that named it. */
export function windowsToRepair(rows: BrokenRow[]): WindowsToRepair {
  const windows: WindowsToRepair = new Map()
  for (const row of rows) {
    for (const {timeframe, startMicros} of row.windows) {
      let starts = windows.get(timeframe)
      if (!starts) windows.set(timeframe, (starts = new Map()))
      let reasons = starts.get(startMicros)
      if (!reasons) starts.set(startMicros, (reasons = new Set()))
      reasons.add(row.check)
    }
  }

  return windows
}

/** Offending rows before or after a repair, counted per check. */
export interface RepairVerification {
  status: 'pass' | 'fail'
  /** Offending rows per check and timeframe (pending ones left out), in report order. */
  failing: Array<{check: string; timeframe: Timeframe; rows: number}>
  rows: number
}

/** Counts the rows with a window in scope (the repaired ranges, or everything `--auto` looked at). */
export function verification(rows: BrokenRow[], inScope: (timeframe: Timeframe, startMicros: number) => boolean): RepairVerification {
  const failing: RepairVerification['failing'] = []
  for (const row of rows) {
    if (!row.windows.some((window) => inScope(window.timeframe, window.startMicros))) continue
    const entry = failing.find((candidate) => candidate.check === row.check)
    if (entry) entry.rows++
    else failing.push({check: row.check, timeframe: row.timeframe, rows: 1})
  }

  const total = failing.reduce((sum, entry) => sum + entry.rows, 0)
  return {status: total === 0 ? 'pass' : 'fail', failing, rows: total}
}

/** The window start of a row that a rebuild repairs, or undefined for pending and stale rows. */
function repairableStart(check: string, row: EvidenceRow): number | undefined {
  if (check === 'rollup' && (row.stale !== 'no' || row.pending === 'yes')) return undefined
  if (check === 'pipeline_gaps' && row.kind !== 'pipeline gap') return undefined
  if (check === 'reconcile' && row.kind !== 'differs') return undefined
  if (check !== 'rollup' && !WINDOW_CHECKS.has(check)) return undefined
  if (typeof row.window_start !== 'string') return undefined
  return parseIsoInstant(row.window_start, `${check} evidence`)
}

/** Is the row of that market? (Every window check's evidence names its symbol and exchange.) */
function inMarket(row: EvidenceRow, market: MarketScope): boolean {
  return (market.symbol === undefined || row.symbol === market.symbol) && (market.exchange === undefined || row.exchange === market.exchange)
}

/** The windows of `tf` that overlap [fromMicros, toMicros). */
function windowsCovering(fromMicros: number, toMicros: number, tf: Timeframe): Array<{timeframe: Timeframe; startMicros: number}> {
  const size = TIMEFRAME_SPECS[tf].micros
  const windows: Array<{timeframe: Timeframe; startMicros: number}> = []
  for (let start = floorToWindow(fromMicros, tf); start < toMicros; start += size) windows.push({timeframe: tf, startMicros: start})
  return windows
}

/** What a repair covers: the windows the checks fail on (--auto), or the ranges asked for. */
export type RepairRequest = {
  timeframes: Timeframe[]
  nowMicros: number
  thresholds: Thresholds
  /** Each timeframe's retention cutoff: windows before it are not rebuilt (undefined with --force). */
  keptFrom?: KeptFrom
  /** --symbol/--exchange: only this market's offending rows count, and only its candles are rebuilt. */
  market?: MarketScope
} & (
  | {
      /** --auto: every check over this span (the lookback); every failing window of `timeframes` is repaired. */
      lookback: Span
      requested?: undefined
    }
  | {
      /** --date, --from/--to: these instants, aligned outwards per timeframe. */
      requested: Span
      lookback?: undefined
    }
)

interface Span {
  fromMicros: number
  toMicros: number
}

export interface RepairPlan {
  ranges: MeasuredRange[]
  /** The offending rows the repair is for. */
  before: RepairVerification
  /** The span the checks covered. */
  checked?: Span
  truncated: string[]
  /** Timeframes whose ranges were cut at their retention cutoff. */
  clamped: RetentionClamp[]
}

/** Counts, per range, the stored candles a rebuild deletes and the trades it reads. */
export type MeasureRanges = (ranges: RecoverRange[]) => Promise<MeasuredRange[]>

/** Plans a repair: the ranges to rebuild, what they touch (`measure`), and the offending rows in them now. */
export async function planRepair(queries: CheckQueries, measure: MeasureRanges, request: RepairRequest): Promise<RepairPlan> {
  const checks = {nowMicros: request.nowMicros, thresholds: request.thresholds, keptFrom: request.keptFrom}
  if (request.lookback) {
    const {rows, truncated} = brokenRows(await repairChecks(queries, {...request.lookback, ...checks}), request.timeframes, request.market)
    const {ranges, clamped} = withinRetention(inScope(rangesFromWindows(windowsToRepair(rows), request.nowMicros), request.market), request.keptFrom)
    return {ranges: await measure(ranges), before: verification(rows, () => true), checked: request.lookback, truncated, clamped}
  }

  const {ranges, clamped} = withinRetention(inScope(requestedRanges(request.timeframes, request.requested.fromMicros, request.requested.toMicros, request.nowMicros), request.market), request.keptFrom)
  return {ranges: await measure(ranges), before: await verifyRepair(queries, request, ranges), checked: rangesSpan(ranges), truncated: [], clamped}
}

/** The ranges, each narrowed to the market (absent: every market). */
function inScope(ranges: RecoverRange[], market: MarketScope | undefined): RecoverRange[] {
  return market ? ranges.map((range) => ({...range, market})) : ranges
}

function withinRetention(ranges: RecoverRange[], keptFrom: KeptFrom | undefined): {ranges: RecoverRange[]; clamped: RetentionClamp[]} {
  return keptFrom ? clampToRetention(ranges, keptFrom) : {ranges, clamped: []}
}

/**
 * The offending rows that count for a repair, checked again: with --auto, every one over the
 * lookback; otherwise the ones with a window in the repaired ranges.
 */
export async function verifyRepair(queries: CheckQueries, request: RepairRequest, ranges: RecoverRange[]): Promise<RepairVerification> {
  const span = request.lookback ?? rangesSpan(ranges)
  if (!span) return verification([], () => false)
  const {rows} = brokenRows(await repairChecks(queries, {...span, nowMicros: request.nowMicros, thresholds: request.thresholds, keptFrom: request.keptFrom}), request.timeframes, request.market)
  if (request.lookback) return verification(rows, () => true)
  return verification(rows, (tf, start) => ranges.some((range) => range.timeframe === tf && start >= range.fromMicros && start < range.toMicros))
}
