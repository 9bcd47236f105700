import type {RunRecord} from '../pipeline/run-history.js'
import type {FlowRunStats} from '../pipeline/run-stats.js'

import {SHORT_ID_LENGTH} from '../pipeline/run-lookup.js'
import {TIMEFRAME_SPECS, Timeframe} from '../pipeline/timeframes.js'
import {renderTable} from './table.js'

/** The runs one command just made (trigger, demo): what each recomputed and wrote. */
export function renderRuns(runs: RunRecord[]): string {
  return renderTable(
    ['FLOW', 'STATE', 'DURATION', 'WINDOWS FROM', 'TO', 'CANDLES', 'LATE', 'REMOVED', 'TRADES'],
    runs.map((run) => [
      run.flow,
      run.state,
      run.durationMs === undefined ? '-' : `${run.durationMs} ms`,
      run.rangeFrom ?? '-',
      run.rangeTo ?? '-',
      run.candles ?? '-',
      run.lateWindows ?? '-',
      run.removed ?? '-',
      run.trades ?? '-',
    ]),
    {alignRight: [2, 5, 6, 7, 8]},
  )
}

/**
 * What each run rebuilt, one line per run:
 * `1m: rebuilt 10 windows 2024-08-08T23:40Z … 23:49Z and 3 late windows (2024-08-07T10:00Z … 12:05Z)`,
 * then the late windows left out before the retention cutoff, if any.
 */
export function renderRebuiltWindows(runs: RunRecord[]): string {
  return runs
    .filter((run) => run.state === 'Completed' && run.rangeFrom !== undefined && run.rangeTo !== undefined)
    .map((run) => {
      const micros = TIMEFRAME_SPECS[run.timeframe as Timeframe]?.micros
      const count = micros === undefined ? 0 : Math.round((Date.parse(run.rangeTo!) - Date.parse(run.rangeFrom!)) / (micros / 1000))
      const lookback = count > 0 ? `rebuilt ${count === 1 ? '1 window' : `${count} windows`} ${windowSpan(run.rangeFrom!, new Date(Date.parse(run.rangeTo!) - micros! / 1000).toISOString())}` : 'rebuilt no window of the lookback'
      const late = run.lateWindows ? ` and ${run.lateWindows === 1 ? '1 late window' : `${run.lateWindows} late windows`}${run.lateFrom && run.lateTo ? ` (${windowSpan(run.lateFrom, run.lateTo)})` : ''}` : ''
      return `${run.timeframe}: ${lookback}${late}${leftOut(run)}`
    })
    .join('\n')
}

/** `; 1 late window before the 90-day retention cutoff (2024-05-11) left out`, or nothing. */
function leftOut(run: RunRecord): string {
  if (!run.lateBeyondRetention) return ''
  const windows = run.lateBeyondRetention === 1 ? '1 late window' : `${run.lateBeyondRetention} late windows`
  return `; ${windows} before the ${run.retentionDays}-day retention cutoff (${run.retentionCutoff?.slice(0, 10)}) left out`
}

/** `2024-08-08T23:40Z … 23:49Z` (the end keeps only its time on the same day); one window: its start alone. */
function windowSpan(first: string, last: string): string {
  const [a, b] = [minutes(first), minutes(last)]
  if (a === b) return a
  return `${a} … ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b}`
}

/** `2024-08-08T23:40:00Z` → `2024-08-08T23:40Z`: windows start on whole minutes. */
function minutes(iso: string): string {
  return iso.replace(/:00(\.0+)?Z$/, 'Z').replace(/\.\d+Z$/, 'Z')
}

/** Errors (or, without one, the note on why a run was skipped or cancelled) are single lines already; the table keeps them short, the JSON keeps them whole. */
const ERROR_WIDTH = 80

/** The run history as `k2ops runs` lists it: one row per run, whichever process made it. */
export function renderRunHistory(runs: RunRecord[]): string {
  return renderTable(
    ['ID', 'FLOW', 'STATE', 'TRIGGER', 'STARTED (UTC)', 'DURATION', 'ATTEMPT', 'RANGE', 'CANDLES', 'ERROR'],
    runs.map((run) => [
      run.id.slice(0, SHORT_ID_LENGTH),
      run.flow,
      run.state,
      run.trigger,
      wholeSeconds(run.startedAt),
      run.durationMs === undefined ? '-' : formatSeconds(run.durationMs / 1000),
      run.attempt ?? 1,
      formatRange(run.rangeFrom, run.rangeTo),
      run.candles ?? '-',
      truncate(run.error ?? run.note ?? '', ERROR_WIDTH),
    ]),
    {alignRight: [5, 6, 8]},
  )
}

/** One line per flow: `OHLCV-1m-Pipeline  12 runs  100% ok  p50 0.41 s  p95 0.55 s  (target < 20 s)`. */
export function renderRunSummary(stats: FlowRunStats[]): string {
  const rows = stats.map((flow) => [
    flow.flow,
    `${flow.runs} ${flow.runs === 1 ? 'run' : 'runs'}`,
    flow.successRate === null ? 'none finished' : `${formatRate(flow.successRate)} ok`,
    flow.p50Seconds === null ? '' : `p50 ${formatSeconds(flow.p50Seconds)}`,
    flow.p95Seconds === null ? '' : `p95 ${formatSeconds(flow.p95Seconds)}`,
    targetNote(flow),
  ])
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column].length))) ?? []
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n')
}

/** `0.41 s`, `12.30 s`, `95.2 s`: two decimals below a minute and a half, then one. */
export function formatSeconds(seconds: number): string {
  return `${seconds < 90 ? seconds.toFixed(2) : seconds.toFixed(1)} s`
}

/** `100%`, `95%`, `83.3%`; rounded down, so 100% means no failure at all. */
export function formatRate(rate: number): string {
  const tenths = Math.floor(rate * 1000 + 1e-9) / 10
  return `${Number.isInteger(tenths) ? tenths : tenths.toFixed(1)}%`
}

function targetNote(flow: FlowRunStats): string {
  if (flow.targetSeconds === null) return ''
  const over = flow.p95Seconds !== null && flow.p95Seconds > flow.targetSeconds
  return `(target < ${flow.targetSeconds} s${over ? ', p95 above it' : ''})`
}

/** `2024-08-10T12:35:00.123Z` → `2024-08-10T12:35:00Z`: the table has no room for milliseconds. */
function wholeSeconds(iso: string): string {
  return iso.replace(/\.\d+Z$/, 'Z')
}

/** The recomputed window starts; the end keeps only its time when it falls on the same day. */
function formatRange(from: string | undefined, to: string | undefined): string {
  if (from === undefined || to === undefined) return '-'
  const sameDay = from.slice(0, 10) === to.slice(0, 10)
  return `${from} → ${sameDay ? to.slice(11) : to}`
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`
}
