import {Args, Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {ExitCode} from '../pipeline/errors.js'
import {RunHistory, RunRecord} from '../pipeline/run-history.js'
import {parseDuration} from '../pipeline/time.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {withWarehouse} from '../pipeline/warehouse.js'
import {renderRuns} from '../render/runs.js'

export interface TriggerResult {
  runs: RunRecord[]
}

export default class Trigger extends BaseCommand<typeof Trigger> {
  static override summary = 'Run a candle flow now, with its default lookback, and record the run.'
  static override description = `Each flow recomputes the windows of its lookback plus every older window that received trades since its last run (late trades), and replaces those candles. Windows that have not closed are left for later unless --include-open. Flows run one at a time, in timeframe order.`
  static override examples = [
    '<%= config.bin %> trigger 1m',
    '<%= config.bin %> trigger all',
    '<%= config.bin %> trigger 1h --lookback 6h',
    '<%= config.bin %> trigger 1m --include-open --json',
  ]

  static override args = {
    timeframe: Args.string({description: 'Timeframe to run: 1m, 5m, 30m, 1h, 1d, or all.', required: true}),
  }

  static override flags = {
    lookback: Flags.string({summary: 'Recompute windows this far back (e.g. 10m, 2h, 2d) instead of the flow default.'}),
    'include-open': Flags.boolean({summary: 'Also write the window that has not closed yet.', default: false}),
  }

  async run(): Promise<TriggerResult> {
    const timeframes = parseTimeframes(this.args.timeframe, 'TIMEFRAME')
    const lookbackMicros = this.flags.lookback === undefined ? undefined : parseDuration(this.flags.lookback, '--lookback')
    const now = this.now()
    const history = new RunHistory(this.home.runHistoryFile)
    const operation = `trigger ${this.args.timeframe}`
    const runs: RunRecord[] = []
    await withWarehouse(this.home.warehouse, this.warehouseOptions(operation), async (warehouse) => {
      const {runFlow} = await import('../pipeline/flows.js')
      for (const tf of timeframes) {
        const run = await runFlow(warehouse, history, tf, {trigger: 'manual', nowMicros: now, lookbackMicros, includeOpen: this.flags['include-open']})
        runs.push(run.record)
      }
    })
    if (!this.jsonEnabled()) this.log(renderRuns(runs))
    const failed = runs.filter((run) => run.state !== 'Completed')
    if (failed.length > 0) {
      process.exitCode = ExitCode.failed
      if (!this.jsonEnabled()) for (const run of failed) this.logToStderr(`k2ops: ${run.flow} failed: ${run.error}`)
    }

    return {runs}
  }
}
