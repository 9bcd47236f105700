import type {RunRecord} from './run-history.js'
import type {Home} from './home.js'
import type {SchedulerConnection} from './scheduler/control.js'
import type {EngineOpenOptions} from './engine/engine.js'

import {ExitCode, K2Error} from './errors.js'
import {checkSchedulerApi, runThroughScheduler} from './scheduler/daemon-api.js'
import {startScheduler, stopScheduler} from './scheduler/control.js'
import {TIMEFRAME_SPECS} from './timeframes.js'
import {withEngine} from './engine/index.js'
import {integrityStepText, isBusy} from './engine/integrity-step.js'
import {firstLine, plural} from './words.js'

// Full pipeline recovery (complete outage): the steps the command lists, one function each.

export type FullStepName = 'stop-scheduler' | 'warehouse-integrity' | 'start-scheduler' | 'scheduler-api' | 'run-1m' | 'health-daily'

/** One step of the full recovery: what it does, its result (one line), and what to do when it fails. */
export interface RecoveryStep {
  name: FullStepName
  title: string
  /** Runs the step and returns its result; `report` shows progress while it waits. */
  run: (report: (line: string) => void) => Promise<string>
  /** What to do next when the step failed with `error`. */
  next: (error: Error) => string
}

/** How one step went, as the command reports it. */
export interface FullStep {
  name: FullStepName
  title: string
  status: 'pass' | 'fail' | 'skipped'
  result: string | null
  next: string | null
  durationMs: number | null
}

/** Runs one step and records how it went in `record`; false when it failed (the record then says what to do next). */
export async function runStep(step: RecoveryStep, record: FullStep, report: (line: string) => void): Promise<boolean> {
  const started = Date.now()
  try {
    record.result = await step.run(report)
    record.status = 'pass'
    return true
  } catch (error) {
    record.status = 'fail'
    record.result = firstLine((error as Error).message)
    record.next = step.next(error as Error)
    return false
  } finally {
    record.durationMs = Date.now() - started
  }
}

/** Where the procedure works: the home, and the CLI's entry point (bin/run.js), which the daemon runs. */
export interface CliContext {
  bin: string
  home: Home
}

export interface FullRecoveryOptions {
  cli: CliContext
  /** How the integrity step opens the warehouse (read-write). */
  openOptions: EngineOpenOptions
  /** How long the 1m run may take, queue included. */
  runTimeoutMs: number
  /** Seconds a running flow may take to finish when the scheduler is stopped. */
  stopTimeoutSeconds: number
}

/**
 * The runbook's full pipeline recovery, in its order: stop the scheduler, check the warehouse, start
 * the scheduler, check its API and deployments, run the 1m flow through it. Each step depends on the
 * ones before: run them in order and stop at the first that fails. (`health daily` comes last; it is
 * a check, added by the command.)
 */
export class FullRecovery {
  /** The scheduler this procedure started. */
  scheduler?: {pid: number; port: number}
  run?: RunRecord
  private connection?: SchedulerConnection

  constructor(private readonly options: FullRecoveryOptions) {}

  steps(): RecoveryStep[] {
    const {cli, openOptions} = this.options
    const {home} = cli
    const again = 'then run k2ops recover --full again'
    const integrity = integrityStepText(home)
    return [
      {
        name: 'stop-scheduler',
        title: 'Stop the scheduler',
        next: () => `k2ops scheduler status shows the process; stop it by hand (its pid is in ${home.stateDir}/scheduler.json), ${again}`,
        run: async () => {
          const stop = await asCommand('scheduler stop', stopScheduler(home, {timeoutSeconds: this.options.stopTimeoutSeconds}))
          if (stop.stalePidFile) return `not running; removed the pid file left by pid ${stop.pid}`
          return stop.wasRunning ? `stopped pid ${stop.pid} (${stop.stopped})` : 'not running'
        },
      },
      {
        name: 'warehouse-integrity',
        title: integrity.title,
        next: (error) => (isBusy(error) ? `wait for the process named above to finish, ${again}` : `${integrity.next(error)}; ${again}`),
        run: async () => {
          const report = await withEngine(home, openOptions, (engine) => engine.checkIntegrity())
          const rows = report.tables.reduce((sum, table) => sum + table.rows, 0)
          const files = report.files === undefined ? '' : `, ${plural(report.files, 'data and delete file')}`
          return `${plural(report.tables.length, 'table')}, ${plural(rows, 'row')}${files} read back in ${report.durationMs} ms`
        },
      },
      {
        name: 'start-scheduler',
        title: 'Start the scheduler',
        next: () => `see ${home.logsDir}/scheduler.out and k2ops scheduler logs, fix the cause, ${again}`,
        run: async () => {
          const {pid, port} = await asCommand('scheduler start', startScheduler(home, {bin: cli.bin, catchUp: true}))
          this.scheduler = {pid, port}
          return `pid ${this.scheduler.pid}, API http://127.0.0.1:${this.scheduler.port}`
        },
      },
      {
        name: 'scheduler-api',
        title: 'Check the scheduler API and the six deployments',
        next: () => `k2ops scheduler status and k2ops scheduler logs; check the deployments in ${home.configFile}, ${again}`,
        run: async () => {
          const api = await checkSchedulerApi(home)
          this.connection = api.client
          const paused = api.deployments.filter((d) => d.paused).map((d) => d.name)
          return `/api/health answered (k2ops ${api.version}); ${plural(api.deployments.length, 'deployment')}${paused.length > 0 ? `, paused: ${paused.join(', ')}` : ''}`
        },
      },
      {
        name: 'run-1m',
        title: `Run ${TIMEFRAME_SPECS['1m'].flow} through the scheduler`,
        next: () => 'k2ops runs --flow 1m and k2ops scheduler logs show why; the scheduler keeps running and retries on its schedule',
        run: async (report) => {
          if (!this.connection) throw new K2Error('no scheduler API to run the flow through', {code: 'scheduler_not_running', exit: ExitCode.failed})
          this.run = await runThroughScheduler(this.connection, TIMEFRAME_SPECS['1m'].deployment, this.options.runTimeoutMs, (run) => report(`run ${run.id}: ${run.state}`))
          return `run ${this.run.id} Completed in ${this.run.durationMs ?? '?'} ms (${plural(this.run.candles ?? 0, 'candle')})`
        },
      },
    ]
  }
}

/** A failure of a scheduler step reads as the matching command's would: `k2ops scheduler start: …`. */
async function asCommand<T>(command: string, step: Promise<T>): Promise<T> {
  try {
    return await step
  } catch (error) {
    const failure = error instanceof K2Error ? error : undefined
    throw new K2Error(`k2ops ${command}: ${(error as Error).message}`, {code: failure?.code ?? 'step_failed', exit: ExitCode.failed, hint: failure?.hint, cause: error})
  }
}
