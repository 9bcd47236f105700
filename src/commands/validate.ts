import {CheckReport} from '../checks/check.js'
import {CheckCommand, timeframesFlag} from '../check-command.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {deprecatedLookbackDaysFlag, timeWindowFlags} from '../time-window-flags.js'

// validate checks every candle from the window start on (no --to: the newest candles matter most).
const {from, lookback} = timeWindowFlags({defaultLookback: '7d', from: 'Check candles whose window starts from this instant'})

export default class Validate extends CheckCommand<typeof Validate> {
  static override summary = 'Check the candles: the invariants of every candle, and each timeframe against the rollup of the one below.'
  static override description = `Invariants: high ≥ open/close and low ≤ open/close; vwap within [low, high]; volume > 0 and trade_count > 0;
window_end > window_start; window length = the timeframe; window_start aligned; window_date = date(window_start);
one candle per (symbol, exchange, window_start). Rollup: each 5m/30m/1h/1d candle equals the rollup of its children.
Exit 1 when a check fails (or warns, with --strict).`

  static override examples = [
    '<%= config.bin %> validate',
    '<%= config.bin %> validate --timeframe 1h --lookback 30d',
    '<%= config.bin %> validate --json | jq \'.checks[] | select(.status != "pass")\'',
  ]

  static override flags = {
    timeframe: timeframesFlag,
    from,
    lookback,
    'lookback-days': deprecatedLookbackDaysFlag,
  }

  async run(): Promise<CheckReport> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const {fromMicros = now} = this.timeWindow({defaultLookback: '7d'}, now)
    const {validateChecks} = await import('../checks/invariants.js')
    const checks = await this.readWarehouse('validate', (queries) =>
      validateChecks(queries, {timeframes, fromMicros, nowMicros: now, limit: this.checkFlags.limit}),
    )
    return this.finish('validate', checks, now)
  }
}
