import {CheckReport} from '../checks/check.js'
import {CheckCommand, timeframesFlag} from '../check-command.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {timeWindowFlags} from '../time-window-flags.js'

export default class Reconcile extends CheckCommand<typeof Reconcile> {
  static override summary = "Compare each candle's trade_count and volume with the source trades in its window."
  static override description = `Lists the candles whose trade_count or volume differs from the count and quantity sum of the trades in
their window, with both numbers. A difference caused by trades that arrived after the flow's last run is pending
(warn: the next run adds them); any other difference fails, with the backfill that rebuilds those windows.`

  static override examples = [
    '<%= config.bin %> reconcile',
    '<%= config.bin %> reconcile --timeframe 1m --lookback 1d',
    '<%= config.bin %> reconcile --from 2024-08-08T00:00:00Z --to 2024-08-09T00:00:00Z --json',
  ]

  static override flags = {
    timeframe: timeframesFlag,
    ...timeWindowFlags({defaultLookback: '7d'}),
  }

  async run(): Promise<CheckReport> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const {fromMicros = now, toMicros = now} = this.timeWindow({defaultLookback: '7d'}, now)
    const {reconcileChecks} = await import('../checks/reconcile.js')
    const checks = await this.readWarehouse('reconcile', (queries) => reconcileChecks(queries, {timeframes, fromMicros, toMicros, nowMicros: now, limit: this.checkFlags.limit}))
    return this.finish('reconcile', checks, now)
  }
}
