import type {RunRecord} from '../run-history.js'
import type {AlertEvent} from './alert-config.js'
import type {Notification} from './payloads.js'

/**
 * What is wrong now, as alert conditions: each has a key that stays the same while it holds, so it is
 * told once when it starts and once when it clears. Conditions come from three sources, each judged
 * only when it could be looked at: the run history (always), the freshness checks (when the daemon
 * could run them) and the last `health daily` (when one has run).
 */

export type ConditionSource = 'runs' | 'freshness' | 'health'

export interface Condition {
  key: string
  event: AlertEvent
  severity: Notification['severity']
  summary: string
  details: Record<string, unknown>
}

export interface Evaluation {
  /** The sources looked at: a held condition of another source is neither told again nor resolved. */
  sources: Set<ConditionSource>
  conditions: Condition[]
}

export function sourceOf(key: string): ConditionSource {
  if (key.startsWith('candles_late/') || key.startsWith('source_silent/')) return 'freshness'
  return key === 'health_daily' ? 'health' : 'runs'
}

const RUN_FAILURES = {Failed: 'failed', TimedOut: 'timed_out', Crashed: 'crashed'} as const
type FailedState = keyof typeof RUN_FAILURES
/** States that tell whether a deployment works: a cancelled or skipped run says nothing about it. */
const VERDICT_STATES = new Set(['Completed', 'Failed', 'TimedOut', 'Crashed'])

/** Per deployment: its last run failed (timed out, crashed), and a streak of `streak` failures or more. */
export function runConditions(runs: readonly RunRecord[], streak: number): Condition[] {
  const byDeployment = new Map<string, RunRecord[]>()
  for (const run of runs) {
    if (!VERDICT_STATES.has(run.state) || run.trigger === 'demo' || run.trigger === 'backfill') continue
    byDeployment.set(run.deployment, [...(byDeployment.get(run.deployment) ?? []), run])
  }

  const conditions: Condition[] = []
  for (const [deployment, list] of [...byDeployment].sort(([a], [b]) => a.localeCompare(b))) {
    list.sort((a, b) => (a.endedAt ?? a.startedAt).localeCompare(b.endedAt ?? b.startedAt))
    const last = list.at(-1)!
    if (last.state === 'Completed') continue
    let failures = 0
    while (failures < list.length && list[list.length - 1 - failures].state !== 'Completed') failures++
    const event = RUN_FAILURES[last.state as FailedState]
    const details = {deployment, flow: last.flow, timeframe: last.timeframe, runId: last.id, state: last.state, endedAt: last.endedAt, error: last.error, consecutiveFailures: failures}
    const what = {failed: 'failed', timed_out: 'timed out', crashed: 'crashed'}[event]
    conditions.push({key: `run/${deployment}`, event, severity: 'error', summary: `${deployment} run ${last.id.slice(0, 8)} ${what}${last.error ? `: ${firstLine(last.error)}` : ''}`, details})
    if (streak > 0 && failures >= streak) {
      conditions.push({key: `streak/${deployment}`, event: 'failure_streak', severity: 'critical', summary: `${deployment} failed ${failures} times in a row (the last: ${last.state})`, details})
    }
  }

  return conditions
}

/** `k2ops freshness --json` as the daemon reads it. */
export interface FreshnessReport {
  checkedAt?: string
  checks: Array<{name: string; timeframe: string | null; status: string; summary: string; value: number | null; evidence?: Array<Record<string, unknown>>}>
}

/** A timeframe whose candle lag fails its threshold; an exchange whose newest trade is too old. */
export function freshnessConditions(report: FreshnessReport): Condition[] {
  const conditions: Condition[] = []
  for (const check of report.checks) {
    if (check.name === 'candle_lag' && check.status === 'fail' && check.timeframe) {
      conditions.push({
        key: `candles_late/${check.timeframe}`,
        event: 'candles_late',
        severity: 'error',
        summary: `${check.timeframe} candles late: ${check.summary}`,
        details: {timeframe: check.timeframe, lagSeconds: check.value, checkedAt: report.checkedAt},
      })
    }

    if (check.name === 'source_lag') {
      for (const row of check.evidence ?? []) {
        if (row.status !== 'fail' || typeof row.exchange !== 'string') continue
        conditions.push({
          key: `source_silent/${row.exchange}`,
          event: 'source_silent',
          severity: 'error',
          summary: `no trades from ${row.exchange} since ${String(row.newest_trade)} (${String(row.lag_seconds)} s)`,
          details: {exchange: row.exchange, newestTrade: row.newest_trade, lagSeconds: row.lag_seconds, checkedAt: report.checkedAt},
        })
      }
    }
  }

  return conditions
}

/** What the last `health daily` left in `<home>/state/health-daily.json`. */
export interface HealthOutcome {
  at: string
  status: 'pass' | 'warn' | 'fail'
  exit: number
  failed: Array<{name: string; timeframe: string | null; summary: string}>
}

export function healthConditions(outcome: HealthOutcome): Condition[] {
  if (outcome.status !== 'fail') return []
  const names = outcome.failed.map((check) => (check.timeframe ? `${check.name} ${check.timeframe}` : check.name))
  return [
    {
      key: 'health_daily',
      event: 'health_daily',
      severity: 'error',
      summary: `health daily failed at ${outcome.at}: ${names.join(', ') || 'see k2ops health daily'}`,
      details: {at: outcome.at, exit: outcome.exit, failed: names.join(', '), first: outcome.failed[0]?.summary},
    },
  ]
}

function firstLine(text: string): string {
  const line = text.split('\n')[0]
  return line.length > 200 ? `${line.slice(0, 199)}…` : line
}
