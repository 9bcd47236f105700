import {CheckReport} from '../checks/check.js'
import {CheckCommand, rangeFlags, timeframesFlag} from '../check-command.js'
import {parseRange} from '../checks/range.js'
import {parseTimeframes} from '../pipeline/timeframes.js'

export default class Reconcile extends CheckCommand<typeof Reconcile> {
  static override summary = "Compare each candle's trade_count and volume with the source trades in its window."
  static override description = `Lists the candles whose trade_count or volume differs from the count and quantity sum of the trades in
their window, with both numbers. A difference caused by trades that arrived after the flow's last run is pending
(warn: the next run adds them); any other difference fails, with the backfill that rebuilds those windows.`

  static override examples = [
    '<%= config.bin %> reconcile',
    '<%= config.bin %> reconcile --timeframe 1m --from -1d',
    '<%= config.bin %> reconcile --from 2024-08-08T00:00:00Z --to 2024-08-09T00:00:00Z --json',
  ]

  static override flags = {
    timeframe: timeframesFlag,
    ...rangeFlags,
  }

  async run(): Promise<CheckReport> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const {fromMicros, toMicros} = parseRange(this.flags.from, this.flags.to, now)
    const {reconcileChecks} = await import('../checks/reconcile.js')
    const checks = await this.readWarehouse('reconcile', (warehouse) => reconcileChecks(warehouse, {timeframes, fromMicros, toMicros, nowMicros: now, limit: this.checkFlags.limit}))
    return this.finish('reconcile', checks, now)
  }
}
