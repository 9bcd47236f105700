import type {Deployment} from '../deployments.js'
import type {RunHistory, RunRecord} from '../run-history.js'
import type {EnqueueRequest, SchedulerLog} from './types.js'

import {RUN_END_EVENTS} from './types.js'

import {type BackfillLedger, listLedgers, saveLedger} from '../backfill-ledger.js'
import {SHORT_ID_LENGTH} from '../run-lookup.js'

/** A managed backfill's day may take long on Spark; a day that hangs longer is stopped and retried. */
const UNIT_TIMEOUT_SECONDS = 3600

export interface BackfillFeederOptions {
  stateDir: string
  history: Pick<RunHistory, 'get'>
  runner: {readonly busy: boolean; enqueue(request: EnqueueRequest): RunRecord}
  log: SchedulerLog
}

/** The deployment name of a managed backfill's day units. */
export function unitDeploymentName(ledger: Pick<BackfillLedger, 'id'>): string {
  return `backfill-${ledger.id.slice(0, SHORT_ID_LENGTH)}`
}

/**
 * Managed backfills (`backfill --via-scheduler`): each runs as day-sized units, one at a time and
 * only when the runner has nothing else to do, so a scheduled tick that comes during a backfill
 * waits for one day at most, never for the whole backfill. A unit is a run of a paused
 * pseudo-deployment (`backfill-<id>`: `k2ops backfill --resume ID --max-days 1`), recorded like any
 * run; the backfill's days keep their status in its ledger, so a daemon restart goes on where it was.
 */
export class BackfillFeeder {
  private stopped = false

  constructor(private readonly options: BackfillFeederOptions) {}

  /** The units' pseudo-deployments, one per managed backfill still queued (paused: no cron tick runs them). */
  deployments(): Deployment[] {
    return this.queued().map((ledger) => unitDeployment(ledger))
  }

  /** Feeds once the runner has let go of a run that just ended (the log event comes before that). */
  afterEvent(event: string): void {
    if (RUN_END_EVENTS.has(event)) this.feedSoon()
  }

  /** Feeds on the next turn of the event loop; a failure is logged, never thrown. */
  feedSoon(): void {
    setImmediate(() => {
      if (this.stopped) return
      try {
        this.feed()
      } catch (error) {
        this.options.log('error', 'backfill.feed_failed', {error: (error as Error).message})
      }
    })
  }

  stop(): void {
    this.stopped = true
  }

  /** When the runner is idle: queues the next day of the oldest managed backfill that has one. */
  feed(): void {
    if (this.options.runner.busy) return
    for (const ledger of this.queued()) {
      if (!this.goesOn(ledger)) continue
      const run = this.options.runner.enqueue({deployment: unitDeploymentName(ledger), trigger: 'backfill'})
      if (run.state !== 'Scheduled') return
      // Saved before the unit's process starts (the work loop resumes after this returns): it then
      // reads the ledger with this, and the next feed judges the backfill by that run.
      ledger.managed = {...ledger.managed!, lastUnit: run.id}
      saveLedger(this.options.stateDir, ledger)
      this.options.log('info', 'backfill.unit_queued', {backfill: ledger.id, runId: run.id, daysLeft: ledger.days.filter((day) => day.state !== 'done').length})
      return
    }
  }

  private queued(): BackfillLedger[] {
    return listLedgers(this.options.stateDir).filter((ledger) => ledger.managed?.state === 'queued')
  }

  /**
   * Does the backfill have a day to do next? Not when it is done, when a day failed (its unit gave up
   * after its retries), or when its last unit was cancelled (`runs cancel`): it then stops, and
   * `backfill --resume ID` (with or without --via-scheduler) takes it up again.
   */
  private goesOn(ledger: BackfillLedger): boolean {
    const lastId = ledger.managed?.lastUnit
    const last = lastId === undefined ? undefined : this.options.history.get(lastId)
    let ended: 'done' | 'failed' | 'cancelled' | undefined
    if (ledger.days.every((day) => day.state === 'done')) ended = 'done'
    else if (last?.state === 'Cancelled') ended = 'cancelled'
    else if (ledger.days.some((day) => day.state === 'failed') || last?.state === 'Failed' || last?.state === 'TimedOut') ended = 'failed'
    if (ended === undefined) return true
    ledger.managed = {...ledger.managed!, state: ended, endedAt: new Date().toISOString()}
    saveLedger(this.options.stateDir, ledger)
    this.options.log(ended === 'done' ? 'info' : 'warn', `backfill.${ended}`, {backfill: ledger.id, lastRun: last?.id, error: last?.error})
    return false
  }
}

function unitDeployment(ledger: BackfillLedger): Deployment {
  return {
    name: unitDeploymentName(ledger),
    flow: 'backfill',
    timeframe: null,
    command: ['backfill', '--resume', ledger.id, '--max-days', '1'],
    cron: '0 0 1 1 *',
    lookbackMicros: 0,
    retries: 2,
    retryDelaySeconds: 10,
    retryBackoff: 2,
    retryJitterSeconds: 0,
    retryOn: ['busy', 'engine'],
    timeoutSeconds: UNIT_TIMEOUT_SECONDS,
    paused: true,
    targetSeconds: UNIT_TIMEOUT_SECONDS,
  }
}
