import {Flags} from '@oclif/core'

import type {BackfillLedger} from '../../pipeline/backfill-ledger.js'
import type {BackfillScope} from '../../pipeline/backfill.js'
import type {Engine, MarketScope} from '../../pipeline/engine/engine.js'
import type {RetentionClamp} from '../../pipeline/retention-policy.js'
import type {SchedulerConnection} from '../../pipeline/scheduler/control.js'

import {randomUUID} from 'node:crypto'

import {BaseCommand} from '../../base-command.js'
import {UsageError} from '../../pipeline/errors.js'
import {RunHistory} from '../../pipeline/run-history.js'
import {formatMicros} from '../../pipeline/time.js'
import {parseTimeframes} from '../../pipeline/timeframes.js'
import {withEngine} from '../../pipeline/engine/index.js'
import {progressBar, runTasks} from '../../render/tasks.js'
import {renderBackfillPlan, renderBackfillResult} from '../../render/backfill.js'
import {marketFlags, marketScope, marketText} from '../../market-flags.js'
import {schedulerRunFlags, endWithTheScheduler} from '../../scheduler-run-flags.js'
import {timeWindowFlags} from '../../time-window-flags.js'
import {plural} from '../../pipeline/words.js'

export interface BackfillResult {
  /** The backfill's id, for `backfill status ID` and `backfill --resume ID` (null: nothing to run). */
  id: string | null
  timeframes: string[]
  /** --symbol/--exchange: only this market was rebuilt (absent: every market). */
  market?: MarketScope
  from: string
  to: string
  /** The first and last trade in [from, to): only their days are rebuilt (null: no trades, nothing done). */
  tradeSpan: {first: string; last: string} | null
  ranges: Array<{timeframe: string; from: string; to: string}>
  days: number
  /** Days done before this run (a resume), the rest done by it. */
  daysDoneBefore: number
  /** Timeframes whose range was cut at their retention cutoff (none with --force). */
  retentionClamp: RetentionClamp[]
  candles: number
  removed: number
  trades: number
  durationMs: number
}

/** What `--via-scheduler` returns: the backfill queued in the scheduler. */
export interface ManagedBackfill {
  id: string
  queued: true
  days: number
  daysLeft: number
}

/** What `--dry-run` prints and returns: each day, the trades in it and the candles stored there now. */
export interface BackfillDryRun {
  dryRun: true
  timeframes: string[]
  market?: MarketScope
  from: string
  to: string
  tradeSpan: {first: string; last: string} | null
  retentionClamp: RetentionClamp[]
  days: Array<{day: string; timeframes: string[]; trades: number; candlesStored: number}>
}

export default class Backfill extends BaseCommand<typeof Backfill> {
  static override summary = 'Recompute the candles of a time range from the raw trades, one UTC day at a time.'
  static override description = `Only the days from the first to the last trade in the range are rebuilt (a day without trades has nothing to rebuild), each widened to whole windows of each timeframe. Each day is one transaction, and its status is kept (<home>/state/backfills/ID.json), so an interrupted or failed backfill keeps the days it finished: --resume ID redoes only the others, and k2ops backfill status shows where it is. Running a whole backfill again gives the same candles. Windows that have not closed are left out unless --include-open. --symbol/--exchange rebuild that market's candles only (the flows' marks stay as they are). --via-scheduler hands it to the running scheduler, which runs it a day at a time between the scheduled runs. --dry-run prints the days, trades and stored candles it would touch, and changes nothing.`
  static override examples = [
    {description: 'Rebuild a week of every timeframe:', command: '<%= config.bin %> backfill --timeframe all --from 2024-08-01 --to 2024-08-08'},
    {description: 'See the days, trades and candles a month would touch, changing nothing:', command: '<%= config.bin %> backfill --timeframe all --from 2024-07-01 --to 2024-08-01 --dry-run'},
    {description: 'Finish an interrupted backfill (the id is in its message and in backfill status):', command: '<%= config.bin %> backfill --resume 3f2a9c1e'},
    {description: 'Half a year, run by the scheduler a day at a time between its flows:', command: '<%= config.bin %> backfill --timeframe all --from 2024-01-01 --to 2024-07-01 --via-scheduler'},
    {description: 'Where the newest backfill is:', command: '<%= config.bin %> backfill status'},
    {description: 'One market only:', command: '<%= config.bin %> backfill --timeframe 1h --lookback 48h --symbol BTCUSDT --exchange BINANCE'},
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Timeframe(s) to rebuild: 1m, 5m, 30m, 1h, 1d, a comma list, or all (required, but with --resume).'}),
    ...timeWindowFlags({from: 'Start of the range (required, or --lookback)'}),
    'include-open': Flags.boolean({summary: 'Also write windows that have not closed yet.', default: false}),
    force: Flags.boolean({summary: 'Also rebuild windows older than their retention cutoff (left out by default: retention deletes them).', default: false}),
    ...marketFlags,
    'dry-run': Flags.boolean({summary: 'Print the days, trades and stored candles the backfill would touch; change nothing.', default: false, exclusive: ['resume']}),
    resume: Flags.string({summary: 'Redo the days of backfill ID (its first 8 characters do) that are not done, with its own range and timeframes.', exclusive: ['timeframe', 'from', 'to', 'lookback', 'include-open', 'force', 'symbol', 'exchange']}),
    'via-scheduler': Flags.boolean({summary: 'Queue it in the running scheduler, as day-sized units run between the scheduled runs (the flows keep their schedule); returns at once.', default: false, exclusive: ['dry-run']}),
    'max-days': Flags.integer({hidden: true, min: 1, summary: 'Do at most this many days (the scheduler\'s units: 1).'}),
    ...schedulerRunFlags,
  }

  async run(): Promise<BackfillResult | BackfillDryRun | ManagedBackfill> {
    if (this.flags.resume !== undefined) return this.resume(this.flags.resume)
    // Told before the plan, so that nothing is planned for a scheduler that is not there.
    const scheduler = this.flags['via-scheduler'] ? await this.scheduler() : undefined
    if (this.flags.timeframe === undefined) throw new UsageError('backfill: missing --timeframe (see --help)', {code: 'missing_flag'})
    const timeframes = parseTimeframes(this.flags.timeframe)
    const now = this.now()
    const window = this.timeWindow({requiredBy: 'backfill'}, now)
    const [from, to] = [window.fromMicros as number, window.toMicros as number]
    const {scopeBackfill} = await import('../../pipeline/backfill.js')
    const {retentionKeptFrom} = await import('../../pipeline/retention-policy.js')
    const {newLedger} = await import('../../pipeline/backfill-ledger.js')
    const dryRun = this.flags['dry-run']
    const market = marketScope(this.flags)
    const started = Date.now()
    let scope: BackfillScope | undefined
    let result: Awaited<ReturnType<Backfill['runDays']>> | undefined
    let dry: BackfillDryRun['days'] = []
    let managed: BackfillLedger | undefined
    const operation = `backfill ${this.flags.timeframe} ${formatMicros(from)}..${formatMicros(to)}${market ? ` ${marketText(market)}` : ''}${dryRun ? ' (dry run)' : ''}`
    await withEngine(this.home, this.warehouseOptions(operation), async (engine) => {
      const keptFrom = this.flags.force ? undefined : retentionKeptFrom(this.home, now)
      scope = await scopeBackfill(engine, {timeframes, fromMicros: from, toMicros: to, nowMicros: now, includeOpen: this.flags['include-open'], keptFrom, market})
      if (scope === undefined) return
      if (scope.retentionClamp.length > 0 && !this.jsonEnabled()) this.logToStderr((await import('../../render/retention.js')).renderClamp(scope.retentionClamp))
      // No closed window to rebuild (the trades are in windows still open): the lock goes at once.
      if (scope.plan.chunks.length === 0) return
      if (dryRun) {
        dry = await measureDays(engine, scope)
        return
      }

      const id = randomUUID()
      const ledger = newLedger({id, timeframes, from: formatMicros(from), to: formatMicros(to), includeOpen: this.flags['include-open'], force: this.flags.force, ...(market && {market})}, scope.plan, Date.now(), scheduler !== undefined)
      if (scheduler) managed = ledger
      else result = await this.runDays(engine, ledger, id, now)
    })
    if (managed) return this.submit(managed, scheduler)
    const common = {timeframes, ...(market && {market}), from: formatMicros(from), to: formatMicros(to), tradeSpan: scope ? {first: formatMicros(scope.span.firstMicros), last: formatMicros(scope.span.lastMicros)} : null, retentionClamp: scope?.retentionClamp ?? []}
    if (dryRun) {
      const plan: BackfillDryRun = {dryRun: true, ...common, days: dry}
      if (!this.jsonEnabled()) this.log(renderBackfillPlan(plan))
      return plan
    }

    const done: BackfillResult = {
      id: result?.ledger.id ?? null,
      ...common,
      ranges: (scope?.plan.ranges ?? []).map((r) => ({timeframe: r.timeframe, from: formatMicros(r.fromMicros), to: formatMicros(r.toMicros)})),
      days: scope?.plan.chunks.length ?? 0,
      daysDoneBefore: 0,
      candles: result?.totals.candles ?? 0,
      removed: result?.totals.removed ?? 0,
      trades: result?.totals.trades ?? 0,
      durationMs: Date.now() - started,
    }
    const narrowed = scope !== undefined && (scope.traded.fromMicros > from || scope.traded.toMicros < to)
    if (!this.jsonEnabled()) this.log(renderBackfillResult(done, narrowed))
    return done
  }

  private async resume(idOrPrefix: string): Promise<BackfillResult | ManagedBackfill> {
    const {findLedger} = await import('../../pipeline/backfill-ledger.js')
    const ledger = findLedger(this.home.stateDir, idOrPrefix)
    if (this.flags['via-scheduler']) return this.submit(ledger)
    if (this.flags['run-by-scheduler']) await endWithTheScheduler(this.flags, this.home, (line) => this.logToStderr(line))
    const before = ledger.days.filter((day) => day.state === 'done').length
    const started = Date.now()
    let totals = {candles: 0, removed: 0, trades: 0}
    if (before < ledger.days.length) {
      await withEngine(this.home, this.warehouseOptions(`backfill --resume ${ledger.id.slice(0, 8)}`), async (engine) => {
        ;({totals} = await this.runDays(engine, ledger, this.flags['run-id'] ?? randomUUID(), this.now()))
      })
    }

    const result: BackfillResult = {
      id: ledger.id,
      timeframes: ledger.timeframes,
      ...(ledger.market && {market: ledger.market}),
      from: ledger.from,
      to: ledger.to,
      tradeSpan: null,
      ranges: ledger.ranges.map((r) => ({timeframe: r.timeframe, from: formatMicros(r.fromMicros), to: formatMicros(r.toMicros)})),
      days: ledger.days.length,
      daysDoneBefore: before,
      retentionClamp: [],
      candles: totals.candles,
      removed: totals.removed,
      trades: totals.trades,
      durationMs: Date.now() - started,
    }
    if (!this.jsonEnabled()) this.log(renderBackfillResult(result, false))
    return result
  }

  /** Saves the ledger queued and tells the scheduler, which runs its days between the scheduled runs. */
  private async submit(ledger: BackfillLedger, connection?: SchedulerConnection): Promise<ManagedBackfill> {
    const scheduler = connection ?? (await this.scheduler())
    const {resumeCommand, saveLedger} = await import('../../pipeline/backfill-ledger.js')
    const left = ledger.days.filter((day) => day.state !== 'done').length
    ledger.managed = {state: 'queued', submittedAt: new Date().toISOString()}
    saveLedger(this.home.stateDir, ledger)
    await scheduler.api.submitBackfill(ledger.id)
    const queued: ManagedBackfill = {id: ledger.id, queued: true, days: ledger.days.length, daysLeft: left}
    if (!this.jsonEnabled()) {
      this.log(`Queued backfill ${ledger.id} in the scheduler: ${plural(left, 'day')} to do, one at a time between the scheduled runs.`)
      this.log(`Follow it: k2ops backfill status ${ledger.id.slice(0, 8)}; stop it: k2ops runs cancel on its running unit; ${resumeCommand(ledger)} takes it up again.`)
    }

    return queued
  }

  private async scheduler(): Promise<SchedulerConnection> {
    const {connectToScheduler} = await import('../../pipeline/scheduler/control.js')
    const connection = await connectToScheduler(this.home)
    if (!connection?.token) throw new UsageError('no scheduler runs on this home', {code: 'scheduler_not_running', hint: 'k2ops scheduler start, or backfill without --via-scheduler'})
    return connection
  }

  private async runDays(engine: Engine, ledger: BackfillLedger, runId: string, now: number) {
    const {runLedger} = await import('../../pipeline/backfill-run.js')
    const {homeArgs} = await import('../../pipeline/backfill-ledger.js')
    // The scheduler records its units itself.
    const history = new RunHistory(this.flags['run-by-scheduler'] ? null : this.home.runHistoryFile)
    const todo = ledger.days.filter((day) => day.state !== 'done').length
    let totals = {candles: 0, removed: 0, trades: 0}
    await runTasks(
      [
        {
          title: `Backfill ${ledger.timeframes.join(', ')} ${ledger.from} → ${ledger.to} (${plural(todo, 'day')}${todo < ledger.days.length ? ` of ${ledger.days.length}` : ''}; id ${ledger.id.slice(0, 8)})`,
          task: async (_, task) => {
            totals = await runLedger(engine, ledger, {
              history,
              stateDir: this.home.stateDir,
              nowMicros: now,
              runId,
              maxDays: this.flags['max-days'],
              homeArgs: homeArgs(this.argv),
              onDay: (day, done, total) => {
                task.output = `${progressBar(done, total)} days, ${day.day} done, ${plural(day.candles ?? 0, 'candle')}`
              },
            })
          },
        },
      ],
      {json: this.jsonEnabled(), context: {}},
    )
    return {ledger, totals}
  }
}

/** Per planned day: the trades in it (the widest of its timeframes' ranges) and the candles stored in its ranges now. */
async function measureDays(engine: Engine, scope: BackfillScope): Promise<BackfillDryRun['days']> {
  const ranges = scope.plan.chunks.flatMap((chunk) => chunk.ranges)
  const counts = await engine.measureRanges(ranges)
  let index = 0
  return scope.plan.chunks.map((chunk) => {
    const mine = counts.slice(index, index + chunk.ranges.length)
    index += chunk.ranges.length
    return {
      day: formatMicros(chunk.fromMicros).slice(0, 10),
      timeframes: chunk.ranges.map((range) => range.timeframe),
      trades: Math.max(0, ...mine.map((count) => count.trades)),
      candlesStored: mine.reduce((sum, count) => sum + count.candles, 0),
    }
  })
}
