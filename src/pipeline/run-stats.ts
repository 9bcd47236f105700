import type {RunRecord} from './run-history.js'

import {TIMEFRAME_SPECS, TIMEFRAMES} from './timeframes.js'

/** Per-flow figures over a set of runs: what the runbook read off the Prefect UI. */
export interface FlowRunStats {
  flow: string
  runs: number
  completed: number
  /** Finished but not completed: Failed, TimedOut, Crashed. */
  failed: number
  /** completed / (completed + failed); null before any run finished. */
  successRate: number | null
  p50Seconds: number | null
  p95Seconds: number | null
  /** The runbook's duration target, for the five flows. */
  targetSeconds: number | null
  /** How many of the flow's newest finished runs failed in a row. */
  failureStreak: number
}

const FAILED_STATES = new Set(['Failed', 'TimedOut', 'Crashed'])

/** Stats per flow, the five flows first in timeframe order; `runs` newest first, as RunHistory.list gives them. */
export function flowRunStats(runs: RunRecord[]): FlowRunStats[] {
  const byFlow = new Map<string, RunRecord[]>()
  for (const run of runs) byFlow.set(run.flow, [...(byFlow.get(run.flow) ?? []), run])
  const order = TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].flow)
  const flows = [...byFlow.keys()].sort((a, b) => rank(order, a) - rank(order, b) || a.localeCompare(b))
  return flows.map((flow) => {
    const flowRuns = byFlow.get(flow)!
    const completed = flowRuns.filter((run) => run.state === 'Completed')
    const failed = flowRuns.filter((run) => FAILED_STATES.has(run.state)).length
    const durations = completed.map((run) => (run.durationMs ?? 0) / 1000).sort((a, b) => a - b)
    let failureStreak = 0
    for (const run of flowRuns) {
      if (run.state === 'Completed') break
      if (FAILED_STATES.has(run.state)) failureStreak++
    }

    const spec = TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf]).find((candidate) => candidate.flow === flow)
    return {
      flow,
      runs: flowRuns.length,
      completed: completed.length,
      failed,
      successRate: completed.length + failed === 0 ? null : completed.length / (completed.length + failed),
      p50Seconds: percentile(durations, 0.5),
      p95Seconds: percentile(durations, 0.95),
      targetSeconds: spec?.targetSeconds ?? null,
      failureStreak,
    }
  })
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
}

function rank(order: string[], flow: string): number {
  const index = order.indexOf(flow)
  return index === -1 ? order.length : index
}
