import {randomUUID} from 'node:crypto'

import type {Deployment} from '../deployments.js'
import type {RunHistory, RunRecord, RunState} from '../run-history.js'
import type {AttemptResult} from './run-attempts.js'
import type {Clock, LogLevel, SchedulerLog} from './types.js'

import {currentProcess} from '../process-owner.js'
import {formatMillis} from '../time.js'

export interface RunRecorderOptions {
  history: RunHistory
  clock: Clock
  /** Must not throw. */
  log: SchedulerLog
  /** Stored in run records. */
  warehouse: string
  /** Stored in run records (default process.pid). */
  pid?: number
}

/** The schedule runner's run records: each state of a run written to the history, and logged. */
export class RunRecorder {
  constructor(private readonly options: RunRecorderOptions) {}

  /** The 'Scheduled' record of a run queued now. */
  scheduled(deployment: Deployment, trigger: RunRecord['trigger'], scheduledFor?: number, note?: string): RunRecord {
    const record = this.options.history.write({...this.newRecord(deployment, trigger, 'Scheduled', this.options.clock.now(), scheduledFor), ...(note && {note})})
    this.logRun('info', 'run.scheduled', record)
    return record
  }

  /**
   * A tick (or request) that is not run. Its startedAt and endedAt are the tick's time. A warning
   * when the deployment was busy: flows then take longer than their interval, or queue up.
   */
  skipped(deployment: Deployment, trigger: RunRecord['trigger'], at: number, note: string, level: LogLevel = 'info'): RunRecord {
    const record = this.options.history.write({...this.newRecord(deployment, trigger, 'Skipped', at, trigger === 'scheduled' ? at : undefined), endedAt: formatMillis(at), note})
    this.logRun(level, 'tick.skipped', record)
    return record
  }

  busy(deployment: Deployment, trigger: RunRecord['trigger'], at: number, busy: RunRecord): RunRecord {
    return this.skipped(deployment, trigger, at, `${busy.state === 'Running' ? 'running' : 'queued'} already (run ${busy.id})`, 'warn')
  }

  /** A queued run that will not start; `by`: who cancelled it (absent: the scheduler itself). */
  cancelled(run: RunRecord, note: string, by?: string): RunRecord {
    const at = formatMillis(this.options.clock.now())
    const cancelled = this.options.history.write({...run, state: 'Cancelled', endedAt: at, note, ...(by !== undefined && {cancelledBy: by, cancelledAt: at})})
    this.logRun('info', 'run.cancelled', cancelled)
    return cancelled
  }

  /** Attempt 1 sets startedAt; later attempts keep it, so durationMs is the whole run's. */
  running(record: RunRecord, attempt: number, note: string | undefined): RunRecord {
    const startedAt = attempt === 1 ? formatMillis(this.options.clock.now()) : record.startedAt
    const running = this.options.history.write({...withoutNote(record), state: 'Running', startedAt, attempt, ...(note && {note})})
    this.logRun('info', 'run.started', running)
    return running
  }

  finish(record: RunRecord, result: AttemptResult, note?: string): void {
    const finished = this.options.history.finish(record, {
      state: result.state,
      ...result.fields,
      ...(result.error !== undefined && {error: result.error}),
      ...(note !== undefined && {note}),
      ...(result.cancelled && {cancelledBy: result.cancelled.by, cancelledAt: formatMillis(result.cancelled.atMs)}),
    })
    const events = {Completed: 'run.completed', Failed: 'run.failed', TimedOut: 'run.timed_out', Cancelled: 'run.cancelled'} as const
    this.logRun(result.state === 'Completed' || result.state === 'Cancelled' ? 'info' : 'error', events[result.state], finished)
  }

  logRun(level: LogLevel, event: string, run: RunRecord, extra: Record<string, unknown> = {}): void {
    this.options.log(level, event, {
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

  private newRecord(deployment: Deployment, trigger: RunRecord['trigger'], state: RunState, at: number, scheduledFor?: number): RunRecord {
    return {
      id: randomUUID(),
      flow: deployment.flow,
      deployment: deployment.name,
      timeframe: deployment.timeframe ?? '-',
      trigger,
      state,
      startedAt: formatMillis(at),
      ...(this.options.pid === undefined ? currentProcess() : {pid: this.options.pid}),
      warehouse: this.options.warehouse,
      ...(scheduledFor !== undefined && {scheduledFor: formatMillis(scheduledFor)}),
    }
  }
}

function withoutNote(record: RunRecord): RunRecord {
  const copy = {...record}
  delete copy.note
  return copy
}
