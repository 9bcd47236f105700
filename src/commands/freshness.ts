import {CheckReport} from '../checks/check.js'
import {CheckCommand, timeframesFlag} from '../check-command.js'
import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {parseTimeframes} from '../pipeline/timeframes.js'

export default class Freshness extends CheckCommand<typeof Freshness> {
  static override summary = 'How fresh are the candles: source lag (the feed) and candle lag (the pipeline), per timeframe.'
  static override description = `Source lag is now − the newest trade, per exchange: when it grows, the feed is down.
Candle lag is the newest trade − the newest candle's window_end, per timeframe: when it grows, the pipeline is behind.
Defaults (warn/fail): source 5/10 min; 1m 5/10 min, 5m 20/40 min, 30m 45/90 min, 1h 90/180 min, 1d 26/50 h.
Override them under "thresholds" in <home>/config.json.`

  static override examples = ['<%= config.bin %> freshness', '<%= config.bin %> freshness --timeframe 1m --json', 'K2OPS_NOW=2024-08-09T00:07:00Z <%= config.bin %> freshness']

  static override flags = {
    timeframe: timeframesFlag,
  }

  async run(): Promise<CheckReport> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const thresholds = this.thresholds
    const {freshnessChecks} = await import('../checks/freshness.js')
    const checks = await this.readWarehouse('freshness', (queries) => freshnessChecks(queries, {timeframes, thresholds, keptFrom: retentionKeptFrom(this.home, now), nowMicros: now, limit: this.checkFlags.limit}))
    return this.finish('freshness', checks, now)
  }
}
