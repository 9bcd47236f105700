import type {Deployment} from '../../src/pipeline/deployments.js'
import type {FailureKind, FlowExecutor, LogLevel} from '../../src/pipeline/scheduler/types.js'

import {loadDeployments} from '../../src/pipeline/deployments.js'
import {RunHistory} from '../../src/pipeline/run-history.js'
import {ScheduleRunner} from '../../src/pipeline/scheduler/schedule-runner.js'
import {Timeframe} from '../../src/pipeline/timeframes.js'
import {FakeClock} from './fake-clock.js'

// A ScheduleRunner on a fake clock, a real history file and a fake executor, for the runner's tests.

export const WAREHOUSE = '/data/k2ops/warehouse.duckdb'

/** How the fake executor behaves for one timeframe. */
export interface FakeFlow {
  /** Simulated run time (default 1 s). */
  durationMs?: number
  /** Attempts 1..failAttempts fail (Infinity: every one). */
  failAttempts?: number
  /** Fail by throwing instead of returning Failed (the runner cannot tell why: an `other` failure). */
  throws?: boolean
  /** What kind of failure a returned Failed is (default busy: retried by default). */
  failure?: FailureKind
  /** Never settle until the signal aborts. */
  hang?: boolean
}

export interface ExecutorCall {
  /** null: the maintenance deployment. */
  timeframe: Timeframe | null
  runId: string
  attempt?: number
  trigger: string
  scheduledFor?: string
  startedAt: number
  endedAt?: number
  sawAbort: boolean
}

export interface LoggedEvent {
  level: LogLevel
  event: string
  fields: Record<string, unknown>
}

/** A flow stand-in that takes simulated time and records when it ran and how many ran at once. */
export function fakeExecutor(clock: FakeClock, flows: Partial<Record<Timeframe, FakeFlow>>) {
  const calls: ExecutorCall[] = []
  let active = 0
  let maxActive = 0
  const executor: FlowExecutor = async (deployment, run, signal) => {
    const flow = (deployment.timeframe === null ? undefined : flows[deployment.timeframe]) ?? {}
    const call: ExecutorCall = {timeframe: deployment.timeframe, runId: run.id, attempt: run.attempt, trigger: run.trigger, scheduledFor: run.scheduledFor, startedAt: clock.now(), sawAbort: false}
    calls.push(call)
    active++
    maxActive = Math.max(maxActive, active)
    try {
      if (flow.hang) await new Promise((resolve) => signal.addEventListener('abort', resolve, {once: true}))
      else await clock.sleep(flow.durationMs ?? 1000, signal)
      call.sawAbort = signal.aborted
      if (signal.aborted) return {state: 'Failed', error: 'the flow process was stopped'}
      if ((run.attempt ?? 1) <= (flow.failAttempts ?? 0)) {
        if (flow.throws) throw new Error(`warehouse busy (attempt ${run.attempt})`)
        return {state: 'Failed', error: `bad tape (attempt ${run.attempt})`, failure: flow.failure ?? 'busy'}
      }

      return {state: 'Completed', fields: {candles: 42, trades: 1000}}
    } finally {
      active--
      call.endedAt = clock.now()
    }
  }

  return {executor, calls, maxConcurrency: () => maxActive}
}

export interface RunnerOptions {
  at: string
  historyFile: string
  flows?: Partial<Record<Timeframe, FakeFlow>>
  deployments?: () => Deployment[]
  catchUp?: boolean
  pid?: number
  /** Replaces the fake executor for some runs (it gets the fake one for the rest). */
  executor?: (fake: FlowExecutor, clock: FakeClock) => FlowExecutor
  /** Hears every log event too. */
  onLog?: (event: string) => void
}

/** A started runner on a fake clock, a real history file and a fake executor. */
export function startRunner(options: RunnerOptions) {
  const clock = new FakeClock(options.at)
  const history = new RunHistory(options.historyFile, () => clock.now())
  const events: LoggedEvent[] = []
  const fake = fakeExecutor(clock, options.flows ?? {})
  const defaults = loadDeployments(undefined)
  const runner = new ScheduleRunner({
    deployments: options.deployments ?? (() => defaults),
    executor: options.executor ? options.executor(fake.executor, clock) : fake.executor,
    history,
    clock,
    log: (level, event, fields = {}) => {
      events.push({level, event, fields})
      options.onLog?.(event)
    },
    catchUp: options.catchUp ?? true,
    warehouse: WAREHOUSE,
    pid: options.pid ?? 4242,
  })
  runner.start()
  return {
    clock,
    history,
    runner,
    events,
    ...fake,
    /** Every run record, oldest first (by startedAt, then as first written: the sort is stable). */
    runs: () => history.list().sort((a, b) => a.startedAt.localeCompare(b.startedAt)),
    eventNames: () => events.map((entry) => entry.event),
  }
}
