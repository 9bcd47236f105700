import {CheckReport} from '../../checks/check.js'
import {CheckCommand} from '../../check-command.js'
import {deprecatedSinceFlag, timeWindowFlags} from '../../time-window-flags.js'

// Duplicates among the trades from --from on, up to now (no --to: the newest trades matter most).
const {from, lookback} = timeWindowFlags({defaultLookback: '7d', from: 'Look for duplicates among trades from this instant on'})

export default class InspectTrades extends CheckCommand<typeof InspectTrades> {
  static override summary = 'Inspect the source trades: bad values, impossible timestamps, duplicates, and recent volume per market.'
  static override description = `Fails on price ≤ 0 or quantity ≤ 0, timestamps before 2009 or in the future, and duplicate
(exchange, symbol, trade_id); warns on identical (timestamp, symbol, exchange, price, quantity) fills; lists each market's
trades and volume over the last hour and day. Value and timestamp checks cover every trade; duplicates, trades from --from (or the last --lookback) on.`

  static override examples = ['<%= config.bin %> inspect trades', '<%= config.bin %> inspect trades --lookback 1h --json']

  static override flags = {
    from,
    lookback,
    since: deprecatedSinceFlag,
  }

  async run(): Promise<CheckReport> {
    const now = this.now()
    const {fromMicros: sinceMicros = now} = this.timeWindow({defaultLookback: '7d'}, now)
    const thresholds = this.thresholds
    const {sourceTradeChecks} = await import('../../checks/source-trades.js')
    const checks = await this.readWarehouse('inspect trades', (queries) => sourceTradeChecks(queries, {sinceMicros, thresholds, nowMicros: now, limit: this.checkFlags.limit}))
    return this.finish('inspect trades', checks, now)
  }
}
