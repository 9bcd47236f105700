import type {RunRecord} from '../pipeline/run-history.js'

import {flowRunStats} from '../pipeline/run-stats.js'
import {MICROS_PER_SECOND} from '../pipeline/time.js'
import {CheckOptions, CheckResult, checkResult, plural, statusBelow} from './check.js'
import {Thresholds} from './thresholds.js'

const DAY = 86_400 * MICROS_PER_SECOND

export interface RunChecksOptions extends CheckOptions {
  /** Every recorded run, newest first. */
  runs: RunRecord[]
  thresholds: Thresholds
}

/** The runbook's flow metrics over the last 24 h: success rate, failure streaks, p95 duration vs target. */
export function runChecks(options: RunChecksOptions): CheckResult[] {
  // Compared as instants: ISO texts with and without a fraction do not sort as their instants do.
  const sinceMs = (options.nowMicros - DAY) / 1000
  const recent = options.runs.filter((run) => Date.parse(run.startedAt) >= sinceMs)
  const stats = flowRunStats(recent)
  return [successRateCheck(stats, options), failureStreakCheck(options), durationCheck(stats, options)]
}

function successRateCheck(stats: ReturnType<typeof flowRunStats>, options: RunChecksOptions): CheckResult {
  const {warn, fail} = options.thresholds.runSuccessRate
  const thresholds = {warn, fail}
  const completed = stats.reduce((sum, flow) => sum + flow.completed, 0)
  const failed = stats.reduce((sum, flow) => sum + flow.failed, 0)
  if (completed + failed === 0) {
    return checkResult({name: 'run_success_rate', status: 'warn', summary: 'no finished flow runs in the last 24 h', unit: 'ratio', thresholds, hint: 'start the schedule, or run k2ops trigger all'})
  }

  const rate = completed / (completed + failed)
  const status = statusBelow(rate, thresholds)
  const evidence = stats.map((flow) => ({flow: flow.flow, runs: flow.runs, completed: flow.completed, failed: flow.failed, success_rate: formatRate(flow.successRate)}))
  return checkResult({
    name: 'run_success_rate',
    status,
    summary: `${formatRate(rate)} of ${plural(completed + failed, 'finished run')} completed in the last 24 h (target > ${formatRate(warn)}, alert < ${formatRate(fail)})`,
    value: Number(rate.toFixed(4)),
    unit: 'ratio',
    thresholds,
    evidence: status === 'pass' ? [] : evidence.slice(0, options.limit),
    evidenceOmitted: status === 'pass' ? 0 : Math.max(0, evidence.length - options.limit),
    hint: status === 'pass' ? null : 'k2ops runs --state Failed,TimedOut,Crashed shows the errors',
  })
}

function failureStreakCheck(options: RunChecksOptions): CheckResult {
  const limit = options.thresholds.consecutiveFailures
  const thresholds = {warn: null, fail: limit}
  // Streaks are read over the whole history: a flow failing since yesterday is still failing.
  const failing = flowRunStats(options.runs).filter((flow) => flow.failureStreak > limit)
  if (failing.length === 0) return checkResult({name: 'failure_streak', status: 'pass', summary: `no flow failed more than ${plural(limit, 'time')} in a row`, value: 0, unit: 'flows', thresholds})
  return checkResult({
    name: 'failure_streak',
    status: 'fail',
    summary: `${failing.map((flow) => `${flow.flow} failed ${plural(flow.failureStreak, 'time')} in a row`).join('; ')}`,
    value: failing.length,
    unit: 'flows',
    thresholds,
    evidence: failing.slice(0, options.limit).map((flow) => ({flow: flow.flow, failures_in_a_row: flow.failureStreak, last_error: lastError(options.runs, flow.flow)})),
    evidenceOmitted: Math.max(0, failing.length - options.limit),
    hint: `k2ops runs --flow ${failing[0].flow} --state Failed,TimedOut,Crashed`,
  })
}

function durationCheck(stats: ReturnType<typeof flowRunStats>, options: RunChecksOptions): CheckResult {
  const ratio = options.thresholds.durationRatio
  const timed = stats.filter((flow) => flow.targetSeconds !== null && flow.p95Seconds !== null)
  const slow = timed.filter((flow) => flow.p95Seconds! > flow.targetSeconds! * ratio)
  const evidence = timed.map((flow) => ({flow: flow.flow, runs: flow.completed, p50_seconds: round(flow.p50Seconds!), p95_seconds: round(flow.p95Seconds!), target_seconds: flow.targetSeconds}))
  const worst = timed.reduce<number | null>((max, flow) => Math.max(max ?? 0, flow.p95Seconds! / flow.targetSeconds!), null)
  const thresholds = {warn: ratio, fail: null}
  if (timed.length === 0) return checkResult({name: 'run_duration', status: 'pass', summary: 'no completed flow runs in the last 24 h to time', unit: '× target', thresholds})
  if (slow.length === 0) {
    return checkResult({
      name: 'run_duration',
      status: 'pass',
      summary: `p95 durations within target: ${timed.map((flow) => `${flow.flow.replace('OHLCV-', '').replace('-Pipeline', '')} ${round(flow.p95Seconds!)}/${flow.targetSeconds} s`).join(', ')}`,
      value: round(worst!),
      unit: '× target',
      thresholds,
    })
  }

  return checkResult({
    name: 'run_duration',
    status: 'warn',
    summary: `${slow.map((flow) => `${flow.flow} p95 ${round(flow.p95Seconds!)} s vs target ${flow.targetSeconds} s`).join('; ')} (warn above target × ${ratio})`,
    value: round(worst!),
    unit: '× target',
    thresholds,
    evidence: evidence.slice(0, options.limit),
    evidenceOmitted: Math.max(0, evidence.length - options.limit),
    hint: 'k2ops runs --sort duration shows the slowest runs; k2ops inspect trades shows the volume behind them',
  })
}

function lastError(runs: RunRecord[], flow: string): string {
  return runs.find((run) => run.flow === flow && run.error)?.error ?? ''
}

function formatRate(rate: number | null): string {
  return rate === null ? '-' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)}%`
}

function round(value: number): number {
  return Number(value.toPrecision(3))
}
