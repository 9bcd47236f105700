import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {UsageError} from '../pipeline/errors.js'
import {RunHistory} from '../pipeline/run-history.js'
import {formatMicros, parseInstant} from '../pipeline/time.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {withWarehouse} from '../pipeline/warehouse.js'
import {progressBar, runTasks} from '../render/tasks.js'

export interface BackfillResult {
  timeframes: string[]
  from: string
  to: string
  ranges: Array<{timeframe: string; from: string; to: string}>
  days: number
  /** Timeframes whose range was cut at their retention cutoff (none with --force). */
  retentionClamp: Array<{timeframe: string; cutoff: string; policyDays: number}>
  candles: number
  removed: number
  trades: number
  durationMs: number
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

export default class Backfill extends BaseCommand<typeof Backfill> {
  static override summary = 'Recompute the candles of a time range from the raw trades, one UTC day at a time.'
  static override description = `The range is widened to whole windows of each timeframe. Each day is one transaction, so an interrupted backfill keeps the days it finished, and running it again gives the same candles. Windows that have not closed are left out unless --include-open.`
  static override examples = [
    '<%= config.bin %> backfill --timeframe all --from 2024-08-01 --to 2024-08-08',
    '<%= config.bin %> backfill --timeframe 1h --from -48h',
    '<%= config.bin %> backfill --timeframe 1m --from 2024-08-08T23:00:00Z --to 2024-08-09T01:00:00Z --json',
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Timeframe(s) to rebuild: 1m, 5m, 30m, 1h, 1d, a comma list, or all.', required: true}),
    from: Flags.string({summary: 'Start of the range: ISO-8601 (2024-08-08T23:55:00Z, 2024-08-08) or relative (-2h).', required: true}),
    to: Flags.string({summary: 'End of the range (exclusive); default now.', default: 'now'}),
    'include-open': Flags.boolean({summary: 'Also write windows that have not closed yet.', default: false}),
    force: Flags.boolean({summary: 'Also rebuild windows older than their retention cutoff (left out by default: retention deletes them).', default: false}),
  }

  async run(): Promise<BackfillResult> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const from = parseInstant(this.flags.from, '--from', now)
    const to = parseInstant(this.flags.to, '--to', now)
    if (from >= to) throw new UsageError(`--from ${formatMicros(from)} is not before --to ${formatMicros(to)}`, {code: 'bad_range'})
    const {backfillChunk, planBackfill, settleBackfillWatermarks} = await import('../pipeline/backfill.js')
    const {clampBackfillPlan, retentionKeptFrom} = await import('../pipeline/retention-policy.js')
    const planned = planBackfill(timeframes, from, to, now, this.flags['include-open'])
    const {plan, clamped} = this.flags.force ? {plan: planned, clamped: []} : clampBackfillPlan(planned, retentionKeptFrom(this.home, now))
    if (clamped.length > 0 && !this.jsonEnabled()) this.logToStderr((await import('../render/retention.js')).renderClamp(clamped))
    const history = new RunHistory(this.home.runHistoryFile)
    const started = Date.now()
    const totals = {candles: 0, removed: 0, trades: 0}
    await withWarehouse(this.home.warehouse, this.warehouseOptions(`backfill ${this.flags.timeframe} ${this.flags.from}..${this.flags.to}`), async (warehouse) => {
      const record = history.start({flow: 'backfill', deployment: '-', timeframe: timeframes.join(','), trigger: 'backfill', warehouse: warehouse.path, rangeFrom: formatMicros(from), rangeTo: formatMicros(to)})
      try {
        await runTasks(
          [
            {
              title: `Backfill ${timeframes.join(', ')} ${formatMicros(from)} → ${formatMicros(to)} (${plural(plan.chunks.length, 'day')})`,
              task: async (_, task) => {
                for (const [index, chunk] of plan.chunks.entries()) {
                  const result = await backfillChunk(warehouse, chunk, now)
                  totals.candles += result.candles
                  totals.removed += result.removed
                  totals.trades += result.trades
                  task.output = `${progressBar(index + 1, plan.chunks.length)} days, ${formatMicros(chunk.fromMicros).slice(0, 10)} done, ${totals.candles} candles`
                }

                await settleBackfillWatermarks(warehouse, plan, now)
              },
            },
          ],
          {json: this.jsonEnabled(), context: {}},
        )
        history.finish(record, {state: 'Completed', ...totals})
      } catch (error) {
        history.finish(record, {state: 'Failed', error: (error as Error).message.split('\n')[0]})
        throw error
      }
    })
    const result: BackfillResult = {
      timeframes,
      from: formatMicros(from),
      to: formatMicros(to),
      ranges: plan.ranges.map((r) => ({timeframe: r.timeframe, from: formatMicros(r.fromMicros), to: formatMicros(r.toMicros)})),
      days: plan.chunks.length,
      retentionClamp: clamped,
      ...totals,
      durationMs: Date.now() - started,
    }
    if (!this.jsonEnabled()) {
      this.log(`Backfilled ${timeframes.join(', ')}: ${plural(result.days, 'day')}, ${result.candles} candles written, ${result.removed} removed, in ${result.durationMs} ms`)
      for (const range of result.ranges) this.log(`  ${range.timeframe.padEnd(3)} ${range.from} → ${range.to}`)
    }

    return result
  }
}
