import {Args, Flags} from '@oclif/core'

import type {SchedulerConnection} from '../pipeline/scheduler/control.js'

import {BaseCommand} from '../base-command.js'
import {marketFlags, marketScope} from '../market-flags.js'
import {endWithTheScheduler, schedulerRunFlags} from '../scheduler-run-flags.js'
import {ExitCode, UsageError} from '../pipeline/errors.js'
import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {RunHistory, RunRecord} from '../pipeline/run-history.js'
import {parseDuration} from '../pipeline/time.js'
import {TIMEFRAME_SPECS, Timeframe, parseTimeframes} from '../pipeline/timeframes.js'
import {withEngine} from '../pipeline/engine/index.js'
import {renderRebuiltWindows, renderRuns} from '../render/runs.js'
import {lookbackFlag} from '../time-window-flags.js'

export interface TriggerResult {
  runs: RunRecord[]
}

export default class Trigger extends BaseCommand<typeof Trigger> {
  static override summary = 'Run a candle flow now, with its default lookback, and record the run.'
  static override description = `Each flow recomputes the windows of its lookback plus every older window that received trades since its last run (late trades), and replaces those candles. Windows that have not closed are left for later unless --include-open. Flows run one at a time, in timeframe order.
When the scheduler runs on this home, the run is queued in it (behind the flow it is running) and this command waits for it; --direct runs here instead.
--symbol/--exchange recompute that market's windows of the lookback only, here (not in the scheduler); late windows and the flow's mark are every market's, so they are left to the next full run.`
  static override examples = [
    '<%= config.bin %> trigger 1m',
    '<%= config.bin %> trigger all',
    '<%= config.bin %> trigger 1h --lookback 6h',
    '<%= config.bin %> trigger 1m --include-open --json',
    '<%= config.bin %> trigger 1m --via-scheduler',
    '<%= config.bin %> trigger 5m --symbol BTCUSDT --exchange BINANCE',
  ]

  static override args = {
    timeframe: Args.string({description: 'Timeframe to run: 1m, 5m, 30m, 1h, 1d, or all.', required: true}),
  }

  static override flags = {
    lookback: lookbackFlag('Recompute windows this far back (e.g. 10m, 2h, 2d) instead of the flow default.'),
    'include-open': Flags.boolean({summary: 'Also write the window that has not closed yet.', default: false}),
    'via-scheduler': Flags.boolean({
      summary: 'Queue the run in the running scheduler (the default when one runs) and wait for it; fail if none runs.',
      exclusive: ['direct'],
    }),
    direct: Flags.boolean({summary: 'Run in this process even when a scheduler runs (waits for the warehouse like any command).', exclusive: ['via-scheduler']}),
    ...marketFlags,
    ...schedulerRunFlags,
  }

  async run(): Promise<TriggerResult> {
    const timeframes = parseTimeframes(this.args.timeframe, 'TIMEFRAME')
    const lookbackMicros = this.flags.lookback === undefined ? undefined : parseDuration(this.flags.lookback, '--lookback')
    const viaScheduler = await this.schedulerToUse()
    const runs = viaScheduler ? await this.runViaScheduler(viaScheduler, timeframes) : await this.runHere(timeframes, lookbackMicros)
    if (!this.jsonEnabled()) {
      this.log(renderRuns(runs))
      const rebuilt = renderRebuiltWindows(runs)
      if (rebuilt) this.log(`\n${rebuilt}`)
    }

    const failed = runs.filter((run) => run.state !== 'Completed')
    if (failed.length > 0) {
      process.exitCode = ExitCode.failed
      if (!this.jsonEnabled()) for (const run of failed) this.logToStderr(`k2ops: ${run.flow} ${run.state === 'Failed' ? 'failed' : `ended ${run.state}`}: ${run.error}`)
    }

    return {runs}
  }

  /**
   * The running scheduler's API, when the run should go through it: by default whenever one runs
   * (so the run queues behind the current one instead of fighting for the warehouse lock).
   */
  private async schedulerToUse(): Promise<SchedulerConnection | undefined> {
    if (this.flags.direct || this.flags['run-by-scheduler'] || this.flags['include-open'] || this.flags.lookback !== undefined || marketScope(this.flags)) {
      if (this.flags['via-scheduler']) throw new UsageError('--via-scheduler runs the deployment as configured: drop --lookback/--include-open/--symbol/--exchange', {code: 'usage'})
      return undefined
    }

    const {connectToScheduler} = await import('../pipeline/scheduler/control.js')
    const connection = await connectToScheduler(this.home)
    if (connection?.token) return connection
    if (this.flags['via-scheduler']) throw new UsageError('no scheduler runs on this home', {code: 'scheduler_not_running', hint: 'k2ops scheduler start, or trigger without --via-scheduler'})
    return undefined
  }

  /** Queues every run first, then waits for each: queued runs wait for the ones before them. */
  private async runViaScheduler(connection: SchedulerConnection, timeframes: Timeframe[]): Promise<RunRecord[]> {
    const {waitForRun} = await import('../pipeline/scheduler/daemon-api.js')
    const queued: RunRecord[] = []
    for (const tf of timeframes) queued.push((await connection.api.run(TIMEFRAME_SPECS[tf].deployment)).flow_run)
    if (!this.jsonEnabled()) this.logToStderr(`Queued in the running scheduler (behind any flow it runs now): ${queued.map((run) => `${run.flow} ${run.id}`).join(', ')}`)
    const runs: RunRecord[] = []
    for (const run of queued) runs.push(await waitForRun(connection.api, run))
    return runs
  }

  private async runHere(timeframes: Timeframe[], lookbackMicros: number | undefined): Promise<RunRecord[]> {
    if (this.flags['run-by-scheduler']) await endWithTheScheduler(this.flags, this.home, (line) => this.logToStderr(line))
    const now = this.now()
    const history = new RunHistory(this.flags['run-by-scheduler'] ? null : this.home.runHistoryFile)
    const operation = `trigger ${this.args.timeframe}`
    const runs: RunRecord[] = []
    await withEngine(this.home, this.warehouseOptions(operation), async (engine) => {
      const {runFlow} = await import('../pipeline/flows.js')
      const keptFrom = retentionKeptFrom(this.home, now)
      for (const tf of timeframes) {
        const options = {trigger: 'manual' as const, nowMicros: now, lookbackMicros, includeOpen: this.flags['include-open'], retention: keptFrom[tf], market: marketScope(this.flags)}
        const run = await runFlow(engine, history, tf, options)
        runs.push(run.record)
      }
    })
    return runs
  }
}
