import type {Deployment} from '../deployments.js'
import type {RunRecord, RunTrigger} from '../run-history.js'

/** The scheduler's sense of time. The daemon uses the system clock; tests pass a fake one and run days in seconds. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  /** Resolves after `ms` of this clock's time, or as soon as `signal` aborts (then it resolves too, never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

/** What a flow reports for its run record: its range, counts, the late windows, their span and those left out before the retention cutoff. */
export const FLOW_FIELDS = ['rangeFrom', 'rangeTo', 'candles', 'removed', 'trades', 'lateWindows', 'lateFrom', 'lateTo', 'lateBeyondRetention', 'retentionCutoff', 'retentionDays'] as const

/** How one attempt of a flow ended, as the executor saw it. */
export interface FlowOutcome {
  state: 'Completed' | 'Failed'
  error?: string
  /** What kind of failure (absent: other): busy (exit 4), engine (it could not start), data (never retried). */
  failure?: FailureKind
  fields?: Partial<Pick<RunRecord, (typeof FLOW_FIELDS)[number]>>
}

/**
 * Runs one attempt of a deployment's flow. When `signal` aborts (timeout or shutdown) it must stop
 * the work (kill the child process) and settle soon after; the runner records TimedOut or Cancelled.
 */
export type FlowExecutor = (deployment: Deployment, run: RunRecord, signal: AbortSignal) => Promise<FlowOutcome>

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Structured log: an event name and its fields (one JSON object per line on disk). */
export type SchedulerLog = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void

export interface EnqueueRequest {
  /** Deployment name (or its timeframe). */
  deployment: string
  trigger: RunTrigger
  /** The cron tick a scheduled run is for (ms). */
  scheduledFor?: number
}

export type FailureKind = 'busy' | 'engine' | 'data' | 'other'

export interface DeploymentState extends Deployment {
  /** ISO-8601; null when paused. */
  nextRun: string | null
  /** The newest run of this deployment that ended (any final state but Skipped). */
  lastRun: RunRecord | null
}

export interface RunnerSnapshot {
  running: RunRecord | null
  queue: RunRecord[]
  deployments: DeploymentState[]
}

/** The log events of a run that ended: after each, the daemon judges its alerts and feeds managed backfills. */
export const RUN_END_EVENTS: ReadonlySet<string> = new Set(['run.completed', 'run.failed', 'run.timed_out', 'run.cancelled', 'run.crashed'])
