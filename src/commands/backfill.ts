import {Flags} from '@oclif/core'

import type {BackfillPlan} from '../pipeline/backfill.js'
import type {RetentionClamp} from '../pipeline/retention-policy.js'

import {BaseCommand} from '../base-command.js'
import {RunHistory} from '../pipeline/run-history.js'
import {formatMicros} from '../pipeline/time.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {withEngine} from '../pipeline/engine/index.js'
import {progressBar, runTasks} from '../render/tasks.js'
import {timeWindowFlags} from '../time-window-flags.js'
import {firstLine, plural} from '../pipeline/words.js'

export interface BackfillResult {
  timeframes: string[]
  from: string
  to: string
  /** The first and last trade in [from, to): only their days are rebuilt (null: no trades, nothing done). */
  tradeSpan: {first: string; last: string} | null
  ranges: Array<{timeframe: string; from: string; to: string}>
  days: number
  /** Timeframes whose range was cut at their retention cutoff (none with --force). */
  retentionClamp: RetentionClamp[]
  candles: number
  removed: number
  trades: number
  durationMs: number
}

export default class Backfill extends BaseCommand<typeof Backfill> {
  static override summary = 'Recompute the candles of a time range from the raw trades, one UTC day at a time.'
  static override description = `Only the days from the first to the last trade in the range are rebuilt (a day without trades has nothing to rebuild), each widened to whole windows of each timeframe. Each day is one transaction, so an interrupted backfill keeps the days it finished, and running it again gives the same candles. Windows that have not closed are left out unless --include-open.`
  static override examples = [
    '<%= config.bin %> backfill --timeframe all --from 2024-08-01 --to 2024-08-08',
    '<%= config.bin %> backfill --timeframe 1h --lookback 48h',
    '<%= config.bin %> backfill --timeframe 1m --from 2024-08-08T23:00:00Z --to 2024-08-09T01:00:00Z --json',
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Timeframe(s) to rebuild: 1m, 5m, 30m, 1h, 1d, a comma list, or all.', required: true}),
    ...timeWindowFlags({from: 'Start of the range (required, or --lookback)'}),
    'include-open': Flags.boolean({summary: 'Also write windows that have not closed yet.', default: false}),
    force: Flags.boolean({summary: 'Also rebuild windows older than their retention cutoff (left out by default: retention deletes them).', default: false}),
  }

  async run(): Promise<BackfillResult> {
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const window = this.timeWindow({requiredBy: 'backfill'}, now)
    const from = window.fromMicros as number
    const to = window.toMicros as number
    const {backfillChunk, scopeBackfill, settleBackfillWatermarks} = await import('../pipeline/backfill.js')
    const {retentionKeptFrom} = await import('../pipeline/retention-policy.js')
    const history = new RunHistory(this.home.runHistoryFile)
    const started = Date.now()
    const totals = {candles: 0, removed: 0, trades: 0}
    let plan: BackfillPlan = {ranges: [], chunks: []}
    let span: BackfillResult['tradeSpan'] = null
    let narrowed = false
    let retentionClamp: BackfillResult['retentionClamp'] = []
    await withEngine(this.home, this.warehouseOptions(`backfill ${this.flags.timeframe} ${formatMicros(from)}..${formatMicros(to)}`), async (engine) => {
      const keptFrom = this.flags.force ? undefined : retentionKeptFrom(this.home, now)
      const scope = await scopeBackfill(engine, {timeframes, fromMicros: from, toMicros: to, nowMicros: now, includeOpen: this.flags['include-open'], keptFrom})
      if (scope === undefined) return
      const clamped = scope.traded
      ;({plan, retentionClamp} = scope)
      span = {first: formatMicros(scope.span.firstMicros), last: formatMicros(scope.span.lastMicros)}
      narrowed = clamped.fromMicros > from || clamped.toMicros < to
      if (retentionClamp.length > 0 && !this.jsonEnabled()) this.logToStderr((await import('../render/retention.js')).renderClamp(retentionClamp))
      // No closed window to rebuild (the trades are in windows still open): the lock goes at once.
      if (plan.chunks.length === 0) return
      const record = history.start({flow: 'backfill', deployment: '-', timeframe: timeframes.join(','), trigger: 'backfill', warehouse: engine.target, rangeFrom: formatMicros(clamped.fromMicros), rangeTo: formatMicros(clamped.toMicros)})
      const days = (done: number) => `${done} of ${plural(plan.chunks.length, 'day')} done${done > 0 ? ` (${formatMicros(plan.chunks[0].fromMicros).slice(0, 10)} … ${formatMicros(plan.chunks[done - 1].fromMicros).slice(0, 10)})` : ''}`
      history.progress(record, days(0))
      try {
        await runTasks(
          [
            {
              title: `Backfill ${timeframes.join(', ')} ${formatMicros(clamped.fromMicros)} → ${formatMicros(clamped.toMicros)} (${plural(plan.chunks.length, 'day')})`,
              task: async (_, task) => {
                for (const [index, chunk] of plan.chunks.entries()) {
                  const result = await backfillChunk(engine, chunk, now)
                  totals.candles += result.candles
                  totals.removed += result.removed
                  totals.trades += result.trades
                  history.progress(record, days(index + 1))
                  task.output = `${progressBar(index + 1, plan.chunks.length)} days, ${formatMicros(chunk.fromMicros).slice(0, 10)} done, ${plural(totals.candles, 'candle')}`
                }

                await settleBackfillWatermarks(engine, plan, now)
              },
            },
          ],
          {json: this.jsonEnabled(), context: {}},
        )
        history.finish(record, {state: 'Completed', ...totals})
      } catch (error) {
        history.finish(record, {state: 'Failed', error: firstLine((error as Error).message)})
        throw error
      }
    })
    const result: BackfillResult = {
      timeframes,
      from: formatMicros(from),
      to: formatMicros(to),
      tradeSpan: span,
      ranges: plan.ranges.map((r) => ({timeframe: r.timeframe, from: formatMicros(r.fromMicros), to: formatMicros(r.toMicros)})),
      days: plan.chunks.length,
      retentionClamp,
      ...totals,
      durationMs: Date.now() - started,
    }
    if (!this.jsonEnabled()) this.display(result, narrowed)
    return result
  }

  private display(result: BackfillResult, narrowed: boolean): void {
    const {timeframes} = result
    if (result.tradeSpan === null) {
      this.log(`Nothing to backfill: no trades from ${result.from} to ${result.to}.`)
      return
    }

    if (result.days === 0) {
      this.log(`Nothing to backfill: the trades from ${result.tradeSpan.first} to ${result.tradeSpan.last} are all in windows that have not closed (--include-open writes them).`)
      return
    }

    if (narrowed) {
      this.log(`Trades from ${result.tradeSpan.first} to ${result.tradeSpan.last} only: the rest of ${result.from} → ${result.to} has nothing to rebuild.`)
    }

    this.log(`Backfilled ${timeframes.join(', ')}: ${plural(result.days, 'day')}, ${plural(result.candles, 'candle')} written, ${result.removed} removed, in ${result.durationMs} ms`)
    for (const range of result.ranges) this.log(`  ${range.timeframe.padEnd(3)} ${range.from} → ${range.to}`)
  }
}
