import {randomUUID} from 'node:crypto'

import {type Deployment, findDeployment, nextRunTimes, runTimesBetween} from '../deployments.js'
import {ExitCode, K2Error} from '../errors.js'
import {currentProcess} from '../process-owner.js'
import {FINAL_STATES, type RunHistory, type RunRecord, type RunState} from '../run-history.js'
import {formatMillis} from '../time.js'
import type {Clock, EnqueueRequest, FlowExecutor, FlowOutcome, LogLevel, SchedulerLog} from './types.js'

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

/** The system's time, for the daemon. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: sleepOnTimers,
}

/**
 * How often the tick loop wakes even when no tick is due: it re-reads the deployments then, so a
 * cron edited in the config file (or every deployment resumed) is noticed within a minute.
 */
const RECHECK_MS = 60_000

/** Why an attempt's signal was aborted (AbortSignal.reason). */
const TIMED_OUT = 'timed out'
const STOPPED = 'scheduler stopped'

const NOT_RETRIED = 'not retried: the scheduler stopped'

/** A run's tick and, for catch-up or a late wake-up, the earlier ticks it stands for. */
interface TickPlan {
  deployment: Deployment
  tick: number
  /** Ticks recorded as Skipped, with `skippedNote`. */
  skipped: number[]
  skippedNote: string
  runNote?: string
}

/** How one attempt ended, as recorded. */
interface AttemptResult {
  state: 'Completed' | 'Failed' | 'TimedOut' | 'Cancelled'
  error?: string
  fields?: FlowOutcome['fields']
}

interface CurrentRun {
  record: RunRecord
  /** The running attempt's signal; null between attempts (waiting to retry). */
  attempt: AbortController | null
}

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
  private lastGoodDeployments?: Deployment[]
  private lastConfigError?: string
  private readonly nextTicks = new NextTickCache()

  constructor(private readonly options: ScheduleRunnerOptions) {}

  /** Catch-up (if enabled), then the loops; returns at once. */
  start(): void {
    if (this.started) throw new Error('ScheduleRunner.start: already started')
    this.started = true
    const now = this.options.clock.now()
    this.checkedThrough = now
    this.log('info', 'runner.started', {catchUp: this.options.catchUp, warehouse: this.options.warehouse, at: iso(now)})
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
    if (busy) return this.recordBusy(deployment, request.trigger, request.scheduledFor ?? this.options.clock.now(), busy)
    return this.queueRun(deployment, request.trigger, request.scheduledFor)
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
    for (const run of this.queue.splice(0)) {
      const cancelled = this.options.history.write({...run, state: 'Cancelled', endedAt: iso(this.options.clock.now()), note: 'the scheduler stopped before the run started'})
      this.logRun('info', 'run.cancelled', cancelled)
    }
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

  /**
   * Ticks in (checkedThrough, now], oldest first; ticks at the same time in the order of
   * deployments() (timeframe order). Normally one tick per deployment; after a late wake-up
   * (machine suspended) only the latest runs and the earlier ones are recorded Skipped.
   */
  private queueDueTicks(): void {
    const now = this.options.clock.now()
    const deployments = this.deployments()
    const plans: TickPlan[] = []
    for (const deployment of deployments) {
      if (deployment.paused || this.nextTicks.after(deployment, this.checkedThrough) > now) continue
      const ticks = runTimesBetween(deployment.cron, this.checkedThrough, now)
      if (ticks.length === 0) continue
      plans.push({deployment, tick: ticks.at(-1)!, skipped: ticks.slice(0, -1), skippedNote: 'missed: the scheduler woke up late (machine suspended?)'})
    }

    this.checkedThrough = now
    const order = (plan: TickPlan) => deployments.indexOf(plan.deployment)
    plans.sort((a, b) => a.tick - b.tick || order(a) - order(b))
    for (const plan of plans) this.queueTick(plan)
  }

  /**
   * For each deployment with scheduled runs in the history, the ticks after the latest one through
   * `now` were missed: the latest missed tick runs now, in timeframe order, the others are Skipped.
   * When the latest recorded tick never ran to an end (Cancelled at a stop, Crashed) it counts as
   * missed too; otherwise a daily run cancelled at a restart would wait a day.
   */
  private catchUp(now: number): void {
    const runs = this.options.history.list()
    for (const deployment of this.deployments()) {
      if (deployment.paused) continue
      const plan = catchUpPlan(deployment, runs, now)
      if (!plan) continue
      this.log('info', 'catchup', {deployment: deployment.name, runFor: iso(plan.tick), missedTicks: plan.skipped.length + 1})
      this.queueTick(plan)
    }
  }

  private queueTick(plan: TickPlan): void {
    for (const tick of plan.skipped) this.recordSkipped(plan.deployment, 'scheduled', tick, plan.skippedNote)
    const busy = this.activeRunOf(plan.deployment.name)
    if (busy) this.recordBusy(plan.deployment, 'scheduled', plan.tick, busy)
    else this.queueRun(plan.deployment, 'scheduled', plan.tick, plan.runNote)
  }

  private queueRun(deployment: Deployment, trigger: RunRecord['trigger'], scheduledFor?: number, note?: string): RunRecord {
    const record = this.options.history.write({...this.newRecord(deployment, trigger, 'Scheduled', this.options.clock.now(), scheduledFor), ...(note && {note})})
    this.queue.push(record)
    this.logRun('info', 'run.scheduled', record)
    this.wake()
    return {...record}
  }

  /**
   * A tick (or request) that is not run. Its startedAt and endedAt are the tick's time. A warning
   * when the deployment was busy: flows then take longer than their interval, or queue up.
   */
  private recordSkipped(deployment: Deployment, trigger: RunRecord['trigger'], at: number, note: string, level: LogLevel = 'info'): RunRecord {
    const record = this.options.history.write({...this.newRecord(deployment, trigger, 'Skipped', at, trigger === 'scheduled' ? at : undefined), endedAt: iso(at), note})
    this.logRun(level, 'tick.skipped', record)
    return record
  }

  private recordBusy(deployment: Deployment, trigger: RunRecord['trigger'], at: number, busy: RunRecord): RunRecord {
    return this.recordSkipped(deployment, trigger, at, `${busy.state === 'Running' ? 'running' : 'queued'} already (run ${busy.id})`, 'warn')
  }

  private newRecord(deployment: Deployment, trigger: RunRecord['trigger'], state: RunState, at: number, scheduledFor?: number): RunRecord {
    return {
      id: randomUUID(),
      flow: deployment.flow,
      deployment: deployment.name,
      timeframe: deployment.timeframe,
      trigger,
      state,
      startedAt: iso(at),
      ...(this.options.pid === undefined ? currentProcess() : {pid: this.options.pid}),
      warehouse: this.options.warehouse,
      ...(scheduledFor !== undefined && {scheduledFor: iso(scheduledFor)}),
    }
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
      await this.run(queued)
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

  private async run(queued: RunRecord): Promise<void> {
    const deployment = findDeployment(this.deployments(), queued.deployment)
    if (queued.trigger === 'scheduled' && deployment.paused) {
      const cancelled = this.options.history.write({...queued, state: 'Cancelled', endedAt: iso(this.options.clock.now()), note: 'the deployment was paused while the run was queued'})
      this.logRun('info', 'run.cancelled', cancelled)
      return
    }

    let record = queued
    let note = queued.note
    for (let attempt = 1; ; attempt++) {
      record = this.writeRunning(record, attempt, note)
      const result = await this.attempt(deployment, record)
      const retry = result.state === 'Failed' && attempt <= deployment.retries
      if (!retry || this.stopping) {
        this.finish(record, result, retry ? NOT_RETRIED : undefined)
        return
      }

      this.logRun('warn', 'run.retry', record, {error: result.error, delaySeconds: deployment.retryDelaySeconds})
      note = `attempt ${attempt} failed: ${result.error ?? 'no reason given'}`
      // The runner keeps the slot while it waits: nothing else runs meanwhile. Simple and
      // predictable (the flow's retry comes before the ticks queued behind it), at the cost of up
      // to retries × retryDelaySeconds of delay for the other flows.
      await this.options.clock.sleep(deployment.retryDelaySeconds * 1000, this.stopSignal.signal)
      if (this.stopping) {
        this.finish(record, result, NOT_RETRIED)
        return
      }
    }
  }

  /** Attempt 1 sets startedAt; later attempts keep it, so durationMs is the whole run's. */
  private writeRunning(record: RunRecord, attempt: number, note: string | undefined): RunRecord {
    const startedAt = attempt === 1 ? iso(this.options.clock.now()) : record.startedAt
    const running = this.options.history.write({...withoutNote(record), state: 'Running', startedAt, attempt, ...(note && {note})})
    this.current = {record: running, attempt: null}
    this.logRun('info', 'run.started', running)
    return running
  }

  /**
   * One call of the executor, aborted after timeoutSeconds (0: no timeout). The executor's promise
   * is always awaited, even after the abort, so the next flow starts only when this one has let go
   * of the warehouse.
   */
  private async attempt(deployment: Deployment, record: RunRecord): Promise<AttemptResult> {
    const abort = new AbortController()
    if (this.current) this.current.attempt = abort
    const timer = new AbortController()
    if (deployment.timeoutSeconds > 0) {
      void this.options.clock.sleep(deployment.timeoutSeconds * 1000, timer.signal).then(() => {
        if (!timer.signal.aborted) abort.abort(TIMED_OUT)
      })
    }

    try {
      const outcome = await this.callExecutor(deployment, record, abort.signal)
      return attemptResult(outcome, abort.signal, deployment)
    } finally {
      timer.abort()
      if (this.current) this.current.attempt = null
    }
  }

  private async callExecutor(deployment: Deployment, record: RunRecord, signal: AbortSignal): Promise<FlowOutcome> {
    try {
      return await this.options.executor(deployment, {...record}, signal)
    } catch (error) {
      return {state: 'Failed', error: errorMessage(error)}
    }
  }

  private finish(record: RunRecord, result: AttemptResult, note?: string): void {
    const finished = this.options.history.finish(record, {
      state: result.state,
      ...result.fields,
      ...(result.error !== undefined && {error: result.error}),
      ...(note !== undefined && {note}),
    })
    const events = {Completed: 'run.completed', Failed: 'run.failed', TimedOut: 'run.timed_out', Cancelled: 'run.cancelled'} as const
    this.logRun(result.state === 'Completed' || result.state === 'Cancelled' ? 'info' : 'error', events[result.state], finished)
  }

  // Shared helpers.

  /**
   * The deployments as configured now. A config file that stops parsing (an edit in progress) must
   * not stop the scheduler: the last good deployments stay in force, and the error is logged once.
   */
  private deployments(): Deployment[] {
    try {
      this.lastGoodDeployments = this.options.deployments()
      this.lastConfigError = undefined
    } catch (error) {
      if (!this.lastGoodDeployments) throw error
      const message = errorMessage(error)
      if (message !== this.lastConfigError) this.log('error', 'config.invalid', {error: message, using: 'the deployments last read'})
      this.lastConfigError = message
    }

    return this.lastGoodDeployments
  }

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

  private logRun(level: LogLevel, event: string, run: RunRecord, extra: Record<string, unknown> = {}): void {
    this.log(level, event, {
      runId: run.id,
      deployment: run.deployment,
      trigger: run.trigger,
      state: run.state,
      scheduledFor: run.scheduledFor,
      attempt: run.attempt,
      durationMs: run.durationMs,
      error: run.error,
      note: run.note,
      ...extra,
    })
  }
}

/**
 * Each deployment's next tick, kept until it passes or the cron changes: croner takes about 0.1 ms
 * per evaluation in UTC, and the tick loop asks every minute for every deployment (in the tests,
 * for 48 simulated hours).
 */
class NextTickCache {
  private readonly byName = new Map<string, {cron: string; after: number; next: number}>()

  /** The first tick of the deployment's cron after `after` (exclusive); Infinity when there is none. */
  after(deployment: Deployment, after: number): number {
    const known = this.byName.get(deployment.name)
    // No tick lies in (known.after, known.next), so any `after` in [known.after, known.next) has the same next tick.
    if (known && known.cron === deployment.cron && known.after <= after && after < known.next) return known.next
    const next = nextRunTimes(deployment.cron, after)[0] ?? Number.POSITIVE_INFINITY
    this.byName.set(deployment.name, {cron: deployment.cron, after, next})
    return next
  }
}

/** The catch-up plan of one deployment, or null when nothing was missed (or it has no scheduled runs yet). */
function catchUpPlan(deployment: Deployment, runs: RunRecord[], now: number): TickPlan | null {
  const scheduled = runs.filter((run) => run.deployment === deployment.name && run.trigger === 'scheduled' && run.scheduledFor !== undefined)
  if (scheduled.length === 0) return null
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
    runNote: `catch-up: ${missed.length + (lastTickRan ? 0 : 1)} missed tick(s) since ${iso(lastTick)}`,
  }
}

/** States of a run left by an earlier scheduler that did not run to an end (markCrashed turns Running into Crashed). */
const NEVER_RAN_TO_AN_END: ReadonlySet<RunState> = new Set(['Scheduled', 'Running', 'Cancelled', 'Crashed'])

function attemptResult(outcome: FlowOutcome, signal: AbortSignal, deployment: Deployment): AttemptResult {
  // A flow that managed to complete did its work, whatever happened to the signal meanwhile.
  if (outcome.state === 'Completed' || !signal.aborted) return outcome
  if (signal.reason === TIMED_OUT) {
    // Final, no retry: a hung flow would hang again and block every other flow meanwhile.
    return {state: 'TimedOut', error: `timed out after ${deployment.timeoutSeconds} s (timeoutSeconds of ${deployment.name}); the flow was stopped`, fields: outcome.fields}
  }

  return {state: 'Cancelled', error: 'the scheduler stopped and the flow did not finish within the stop timeout', fields: outcome.fields}
}

function withoutNote(record: RunRecord): RunRecord {
  const copy = {...record}
  delete copy.note
  return copy
}

function iso(ms: number): string {
  return formatMillis(ms)
}

function isoOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : iso(ms)
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** setTimeout fires at once beyond 2^31-1 ms (about 24.8 days); longer sleeps wait in steps. */
const LONGEST_TIMER_MS = 2 ** 31 - 1

async function sleepOnTimers(ms: number, signal?: AbortSignal): Promise<void> {
  const until = Date.now() + ms
  for (let remaining = ms; remaining > 0 && !signal?.aborted; remaining = until - Date.now()) {
    await timerStep(Math.min(remaining, LONGEST_TIMER_MS), signal)
  }
}

function timerStep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }

    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}
