import {type Deployment, findDeployment, nextRunTimes} from '../deployments.js'
import {ExitCode, K2Error, errorMessage} from '../errors.js'
import {FINAL_STATES, type RunHistory, type RunRecord} from '../run-history.js'
import {formatMillis} from '../time.js'
import {NextTickCache} from './next-tick-cache.js'
import {keepLastGood} from './last-good.js'
import {type CurrentRun, STOPPED, cancelRun, runAttempts} from './run-attempts.js'
import {RunRecorder} from './run-records.js'
import {type TickPlan, catchUpPlan, dueTickPlans, lastSchedulerTick} from './tick-plans.js'
import type {Clock, EnqueueRequest, FlowExecutor, LogLevel, RunnerSnapshot, SchedulerLog} from './types.js'

export type {DeploymentState, RunnerSnapshot} from './types.js'

export interface ScheduleRunnerOptions {
  /** Called at every decision, so pause/resume in the config file takes effect without a restart. */
  deployments: () => Deployment[]
  executor: FlowExecutor
  /** Constructed by the caller with the same clock. */
  history: RunHistory
  clock: Clock
  log: SchedulerLog
  /** `scheduler start --no-catch-up` passes false. */
  catchUp: boolean
  /** Stored in run records. */
  warehouse: string
  /** Stored in run records (default process.pid). */
  pid?: number
}

/**
 * How often the tick loop wakes even when no tick is due: it re-reads the deployments then, so a
 * cron edited in the config file (or every deployment resumed) is noticed within a minute.
 */
const RECHECK_MS = 60_000

/**
 * Runs the deployments' flows on their crons, one flow at a time (per runner, so per warehouse:
 * DuckDB allows one writer). Two loops share the state: the tick loop turns due cron ticks into
 * queued runs (or Skipped records) as they come, even while a flow runs; the work loop runs the
 * queue in order. A manual enqueue wakes the work loop at once.
 */
export class ScheduleRunner {
  private readonly queue: RunRecord[] = []
  private current: CurrentRun | null = null
  /** Cron ticks up to this time (ms) have been handled. */
  private checkedThrough = 0
  private started = false
  private stopping = false
  private stopped?: Promise<void>
  /** Interrupts the tick loop's and the retry waits' sleeps when stopping. */
  private readonly stopSignal = new AbortController()
  private wakeWorkLoop: (() => void) | null = null
  private loops: Promise<void>[] = []
  /**
   * The deployments as configured now. A config file that stops parsing (an edit in progress) must
   * not stop the scheduler: the last good deployments stay in force, and the error is logged once.
   */
  private readonly deployments: () => Deployment[]
  private readonly nextTicks = new NextTickCache()
  private readonly records: RunRecorder

  constructor(private readonly options: ScheduleRunnerOptions) {
    const {history, clock, warehouse, pid} = options
    this.records = new RunRecorder({history, clock, warehouse, pid, log: (level, event, fields) => this.log(level, event, fields)})
    this.deployments = keepLastGood(options.deployments, (error) => this.log('error', 'config.invalid', {error, using: 'the deployments last read'}))
  }

  /** Catch-up (if enabled), then the loops; returns at once. */
  start(): void {
    if (this.started) throw new Error('ScheduleRunner.start: already started')
    this.started = true
    const now = this.options.clock.now()
    this.checkedThrough = now
    this.log('info', 'runner.started', {catchUp: this.options.catchUp, warehouse: this.options.warehouse, at: formatMillis(now)})
    if (this.options.catchUp) this.guard('catchup', () => this.catchUp(now))
    this.loops = [this.tickLoop(), this.workLoop()]
  }

  /**
   * Queues a run and writes its 'Scheduled' record. Any deployment may be run by hand, paused or
   * not (pausing stops the cron ticks only). A deployment already queued or running is not queued
   * again: the returned record is then 'Skipped', with a note naming the other run.
   */
  enqueue(request: EnqueueRequest): RunRecord {
    if (this.stopping) throw new K2Error('the scheduler is stopping: no new runs', {code: 'scheduler_stopping', exit: ExitCode.failed})
    const deployment = findDeployment(this.deployments(), request.deployment)
    const busy = this.activeRunOf(deployment.name)
    if (busy) return this.records.busy(deployment, request.trigger, request.scheduledFor ?? this.options.clock.now(), busy)
    return this.queueRun(deployment, request.trigger, request.scheduledFor)
  }

  /**
   * Cancels a run, by `by`: a queued one is recorded Cancelled and never starts; the running one is
   * stopped and recorded Cancelled once it let go of the warehouse. undefined: not queued or running here.
   */
  cancel(id: string, by: string): {run: RunRecord; wasRunning: boolean} | undefined {
    const index = this.queue.findIndex((run) => run.id === id)
    if (index >= 0) {
      const [queued] = this.queue.splice(index, 1)
      return {run: this.records.cancelled(queued, `cancelled by ${by} before it started`, by), wasRunning: false}
    }

    if (this.current?.record.id !== id) return undefined
    this.log('info', 'run.cancel_requested', {runId: id, deployment: this.current.record.deployment, by})
    cancelRun(this.current, {by, atMs: this.options.clock.now()})
    return {run: {...this.current.record}, wasRunning: true}
  }

  /** A run in the slot or queued. */
  get busy(): boolean {
    return this.current !== null || this.queue.length > 0
  }

  snapshot(): RunnerSnapshot {
    const now = this.options.clock.now()
    const runs = this.options.history.list()
    return {
      running: this.current ? {...this.current.record} : null,
      queue: this.queue.map((run) => ({...run})),
      deployments: this.deployments().map((deployment) => ({
        ...deployment,
        nextRun: deployment.paused ? null : isoOrNull(nextRunTimes(deployment.cron, now)[0]),
        lastRun: runs.find((run) => run.deployment === deployment.name && FINAL_STATES.has(run.state) && run.state !== 'Skipped') ?? null,
      })),
    }
  }

  /**
   * No new runs or attempts; queued runs are recorded 'Cancelled' at once; the running flow may
   * finish until `timeoutMs` (of the clock), then it is aborted and recorded 'Cancelled'. Resolves
   * when everything has settled. A run waiting to retry ends at once with its last attempt's state.
   */
  stop(options: {timeoutMs: number}): Promise<void> {
    this.stopped ??= this.shutdown(options.timeoutMs)
    return this.stopped
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true
    this.log('info', 'runner.stopping', {timeoutMs, running: this.current?.record.id, queued: this.queue.length})
    this.stopSignal.abort()
    this.guard('stop', () => this.cancelQueued())
    this.wake()
    await this.letCurrentRunFinish(timeoutMs)
    await Promise.all(this.loops)
    this.log('info', 'runner.stopped')
  }

  private async letCurrentRunFinish(timeoutMs: number): Promise<void> {
    if (!this.current) return
    const grace = new AbortController()
    const workDone = Promise.all(this.loops).then(() => 'finished' as const)
    const late = this.options.clock.sleep(timeoutMs, grace.signal).then(() => 'late' as const)
    const first = await Promise.race([workDone, late])
    grace.abort()
    if (first === 'late') this.current?.attempt?.abort(STOPPED)
  }

  private cancelQueued(): void {
    for (const run of this.queue.splice(0)) this.records.cancelled(run, 'the scheduler stopped before the run started')
  }

  // The tick loop: cron ticks to queued runs.

  private async tickLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.options.clock.sleep(this.msUntilNextTick(), this.stopSignal.signal)
        if (!this.stopping) this.queueDueTicks()
      } catch (error) {
        // Not expected (a history write failing, say); waiting avoids a loop that spins on it.
        this.log('error', 'runner.error', {where: 'tick', error: errorMessage(error)})
        await this.options.clock.sleep(RECHECK_MS, this.stopSignal.signal)
      }
    }
  }

  private msUntilNextTick(): number {
    const upcoming = this.deployments()
      .filter((deployment) => !deployment.paused)
      .map((deployment) => this.nextTicks.after(deployment, this.checkedThrough))
    const next = Math.min(this.checkedThrough + RECHECK_MS, ...upcoming)
    return Math.max(0, next - this.options.clock.now())
  }

  private queueDueTicks(): void {
    const now = this.options.clock.now()
    const plans = dueTickPlans(this.deployments(), this.nextTicks, this.checkedThrough, now)
    this.checkedThrough = now
    for (const plan of plans) this.queueTick(plan)
  }

  /**
   * For each deployment, the ticks after its latest scheduled run (none yet: after the scheduler's
   * last tick) through `now` were missed: the latest runs now, in timeframe order, the others are
   * Skipped. A latest tick that never ran to an end (Cancelled at a stop, Crashed) counts as missed
   * too; otherwise a daily run cancelled at a restart would wait a day.
   */
  private catchUp(now: number): void {
    const runs = this.options.history.list()
    const schedulerTick = lastSchedulerTick(runs)
    for (const deployment of this.deployments()) {
      if (deployment.paused) continue
      const plan = catchUpPlan(deployment, runs, now, schedulerTick)
      if (!plan) continue
      this.log('info', 'catchup', {deployment: deployment.name, runFor: formatMillis(plan.tick), missedTicks: plan.skipped.length + 1})
      this.queueTick(plan)
    }
  }

  private queueTick(plan: TickPlan): void {
    for (const tick of plan.skipped) this.records.skipped(plan.deployment, 'scheduled', tick, plan.skippedNote)
    const busy = this.activeRunOf(plan.deployment.name)
    if (busy) this.records.busy(plan.deployment, 'scheduled', plan.tick, busy)
    else this.queueRun(plan.deployment, 'scheduled', plan.tick, plan.runNote)
  }

  private queueRun(deployment: Deployment, trigger: RunRecord['trigger'], scheduledFor?: number, note?: string): RunRecord {
    const record = this.records.scheduled(deployment, trigger, scheduledFor, note)
    this.queue.push(record)
    this.wake()
    return {...record}
  }

  private activeRunOf(name: string): RunRecord | undefined {
    if (this.current?.record.deployment === name) return this.current.record
    return this.queue.find((run) => run.deployment === name)
  }

  // The work loop: the queue, one run at a time.

  private async workLoop(): Promise<void> {
    while (!this.stopping) {
      const next = this.queue.shift()
      if (next) await this.runGuarded(next)
      else await new Promise<void>((resolve) => (this.wakeWorkLoop = resolve))
    }
  }

  private wake(): void {
    const wake = this.wakeWorkLoop
    this.wakeWorkLoop = null
    wake?.()
  }

  private async runGuarded(queued: RunRecord): Promise<void> {
    this.current = {record: queued, attempt: null}
    try {
      await this.run(queued, this.current)
    } catch (error) {
      // Not the flow failing (that is an attempt's outcome) but the runner itself, e.g. a history
      // write; the loop goes on with the next run.
      this.log('error', 'runner.error', {where: 'run', runId: queued.id, error: errorMessage(error)})
      const last = this.current?.record ?? queued
      this.guard('run', () => this.options.history.finish(last, {state: 'Failed', error: `the scheduler failed while running it: ${errorMessage(error)}`}))
    } finally {
      this.current = null
    }
  }

  private async run(queued: RunRecord, current: CurrentRun): Promise<void> {
    const deployment = findDeployment(this.deployments(), queued.deployment)
    if (queued.trigger === 'scheduled' && deployment.paused) {
      this.records.cancelled(queued, 'the deployment was paused while the run was queued')
      return
    }

    const {executor, clock} = this.options
    await runAttempts({executor, clock, records: this.records, stopSignal: this.stopSignal.signal, stopping: () => this.stopping, current}, deployment, queued)
  }

  // Shared helpers.

  private guard(where: string, work: () => void): void {
    try {
      work()
    } catch (error) {
      this.log('error', 'runner.error', {where, error: errorMessage(error)})
    }
  }

  private log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    try {
      this.options.log(level, event, fields)
    } catch {
      // A log that cannot write (disk full) must not take the scheduler down with it.
    }
  }
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : formatMillis(ms)
}
