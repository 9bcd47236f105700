import type {RunRecord, RunState} from '../run-history.js'
import type {NextTickCache} from './next-tick-cache.js'

import {type Deployment, runTimesBetween} from '../deployments.js'
import {formatMillis} from '../time.js'

/** A run's tick and, for catch-up or a late wake-up, the earlier ticks it stands for. */
export interface TickPlan {
  deployment: Deployment
  tick: number
  /** Ticks recorded as Skipped, with `skippedNote`. */
  skipped: number[]
  skippedNote: string
  runNote?: string
}

/**
 * Ticks in (checkedThrough, now], oldest first; ticks at the same time in the order of
 * `deployments` (timeframe order). Normally one tick per deployment; after a late wake-up
 * (machine suspended) only the latest runs and the earlier ones are recorded Skipped.
 */
export function dueTickPlans(deployments: Deployment[], nextTicks: NextTickCache, checkedThrough: number, now: number): TickPlan[] {
  const plans: TickPlan[] = []
  for (const deployment of deployments) {
    if (deployment.paused || nextTicks.after(deployment, checkedThrough) > now) continue
    const ticks = runTimesBetween(deployment.cron, checkedThrough, now)
    if (ticks.length === 0) continue
    plans.push({deployment, tick: ticks.at(-1)!, skipped: ticks.slice(0, -1), skippedNote: 'missed: the scheduler woke up late (machine suspended?)'})
  }

  const order = (plan: TickPlan) => deployments.indexOf(plan.deployment)
  plans.sort((a, b) => a.tick - b.tick || order(a) - order(b))
  return plans
}

/** The newest cron tick any deployment had a scheduled run for: the scheduler was up then. */
export function lastSchedulerTick(runs: RunRecord[]): number | undefined {
  const ticks = runs.filter((run) => run.trigger === 'scheduled' && run.scheduledFor !== undefined).map((run) => Date.parse(run.scheduledFor!))
  return ticks.length === 0 ? undefined : Math.max(...ticks)
}

/**
 * The catch-up plan of one deployment, or null when nothing was missed. A deployment without a
 * scheduled run yet (a daily one the scheduler was never up for, or one added since) missed the
 * ticks after `schedulerTick`, the scheduler's last; on a first start ever there is none.
 */
export function catchUpPlan(deployment: Deployment, runs: RunRecord[], now: number, schedulerTick = lastSchedulerTick(runs)): TickPlan | null {
  const scheduled = runs.filter((run) => run.deployment === deployment.name && run.trigger === 'scheduled' && run.scheduledFor !== undefined)
  if (scheduled.length === 0) return schedulerTick === undefined ? null : firstCatchUp(deployment, schedulerTick, now)
  const lastTick = Math.max(...scheduled.map((run) => Date.parse(run.scheduledFor!)))
  const lastTickRan = scheduled.some((run) => Date.parse(run.scheduledFor!) === lastTick && !NEVER_RAN_TO_AN_END.has(run.state))
  const missed = runTimesBetween(deployment.cron, lastTick, now)
  const tick = missed.at(-1) ?? (lastTickRan ? undefined : lastTick)
  if (tick === undefined) return null
  return {
    deployment,
    tick,
    // The never-finished last tick already has its record (Cancelled or Crashed): not written again.
    skipped: missed.slice(0, -1),
    skippedNote: 'missed while the scheduler was down',
    runNote: `catch-up: ${missed.length + (lastTickRan ? 0 : 1)} missed tick(s) since ${formatMillis(lastTick)}`,
  }
}

function firstCatchUp(deployment: Deployment, schedulerTick: number, now: number): TickPlan | null {
  const missed = runTimesBetween(deployment.cron, schedulerTick, now)
  if (missed.length === 0) return null
  return {
    deployment,
    tick: missed.at(-1)!,
    skipped: missed.slice(0, -1),
    skippedNote: 'missed while the scheduler was down',
    runNote: `catch-up: ${missed.length} missed tick(s) since the scheduler's last tick (${formatMillis(schedulerTick)}); its first scheduled run`,
  }
}

/** States of a run left by an earlier scheduler that did not run to an end (markCrashed turns Running into Crashed). */
const NEVER_RAN_TO_AN_END: ReadonlySet<RunState> = new Set(['Scheduled', 'Running', 'Cancelled', 'Crashed'])
