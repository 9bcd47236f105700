import {CheckReport} from '../checks/check.js'
import {CheckCommand, timeframesFlag} from '../check-command.js'
import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {timeWindowFlags} from '../time-window-flags.js'

export default class Gaps extends CheckCommand<typeof Gaps> {
  static override summary = 'Find missing candles and say why: a quiet market, a pipeline gap, or a hole in the tapes.'
  static override description = `For each (symbol, exchange), over the range where it has trades: a closed window with trades but no
candle is a pipeline gap (fail; the backfill that fills it is printed), or pending when its trades arrived after the
flow's last run (warn). A window without trades is a quiet market (pass). A silence of an hour or more on a pair whose
own rate expects 100+ trades in it is an ingest gap (warn: the tape has a hole).`

  static override examples = [
    '<%= config.bin %> gaps',
    '<%= config.bin %> gaps --timeframe 1m --from 2024-08-08T00:00:00Z --to 2024-08-09T00:00:00Z',
    '<%= config.bin %> gaps --lookback 1d --json',
  ]

  static override flags = {
    timeframe: timeframesFlag,
    ...timeWindowFlags({defaultLookback: '7d'}),
  }

  async run(): Promise<CheckReport> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const {fromMicros = now, toMicros = now} = this.timeWindow({defaultLookback: '7d'}, now)
    const thresholds = this.thresholds
    const {gapsChecks} = await import('../checks/gaps.js')
    const checks = await this.readWarehouse('gaps', (queries) => gapsChecks(queries, {timeframes, fromMicros, toMicros, thresholds, keptFrom: retentionKeptFrom(this.home, now), nowMicros: now, limit: this.checkFlags.limit}))
    return this.finish('gaps', checks, now)
  }
}
