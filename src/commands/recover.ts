import {Flags} from '@oclif/core'

import type {RepairPlan, RepairRequest} from '../checks/recover-plan.js'
import type {FullStep, RecoveryStep} from '../pipeline/full-recovery.js'
import type {InterruptedRecover} from '../pipeline/interrupted-recover.js'
import type {FullRecoveryResult} from '../render/full-recovery.js'

import {BaseCommand} from '../base-command.js'
import {resolveThresholds} from '../checks/thresholds.js'
import {AuditLog} from '../pipeline/audit.js'
import {closeJob, openJob} from '../pipeline/run-signals.js'
import {marketFlags, marketScope, marketText} from '../market-flags.js'
import {ExitCode, K2Error, UsageError} from '../pipeline/errors.js'
import {MICROS_PER_DAY, formatMicros, parseIsoInstant} from '../pipeline/time.js'
import {parseTimeframes} from '../pipeline/timeframes.js'
import {retentionKeptFrom} from '../pipeline/retention-policy.js'
import {pauseForTest} from '../pipeline/test-hooks.js'
import {withEngine} from '../pipeline/engine/index.js'
import {firstLine, plural} from '../pipeline/words.js'
import {confirm, requireConfirmation} from '../render/confirm.js'
import {RecoverResult, plannedResult, renderInterrupted, renderOutcome, renderPlan, renderRepairNext, repairOutcome} from '../render/recover.js'
import {renderFullRecovery} from '../render/full-recovery.js'
import {renderClamp} from '../render/retention.js'
import {runTasks} from '../render/tasks.js'
import {deprecatedLookbackDaysFlag, lookbackFlag} from '../time-window-flags.js'

export type {RecoverRangeJson, RecoverResult} from '../render/recover.js'
export type {FullStep} from '../pipeline/full-recovery.js'
export type {FullRecoveryResult} from '../render/full-recovery.js'

const MODES = ['date', 'from', 'auto', 'full']
const DEFAULT_LOOKBACK = '7d'
const DEFAULT_RUN_TIMEOUT_SECONDS = 600
/** What `k2ops scheduler stop` gives a running flow by default. */
const STOP_TIMEOUT_SECONDS = 60

export default class Recover extends BaseCommand<typeof Recover> {
  static override summary = 'Repair corrupted candles from the trades (--auto, --date, --from/--to), or bring the pipeline back after an outage (--full).'
  static override description = `Repair: plans the windows to rebuild (--auto: the ones validate, gaps and reconcile fail on over --lookback; a rollup failure rebuilds that parent window in every timeframe), prints the plan (ranges per timeframe, candles to delete, trades to reprocess), asks for confirmation on a terminal unless --yes, then deletes and rebuilds each range from the trades in its own transaction and checks the repaired ranges again. --symbol/--exchange narrow the repair to one market (or symbol, or exchange): only its offending rows are planned and checked, and only its candles are rebuilt. Candles whose values come out the same stay byte-identical. An interrupted recover leaves every range as it was or repaired: run the same command again. Windows not closed yet are left to the flows. Exit 0 when the repaired ranges pass, 1 when they still fail, 2 when not on a terminal without --yes.
Full (--full): stops the scheduler (a stale pid file included), checks that the warehouse opens and reads back whole (DuckDB checksums every block it reads, then checkpoints), starts the scheduler, checks its API and the six deployments, runs the 1m flow through it and waits for it, then runs health daily. It stops at the first failing step with what to do next (exit 1). Both record an audit entry in <home>/state/audit.jsonl.`

  static override examples = [
    '<%= config.bin %> recover --auto --dry-run',
    '<%= config.bin %> recover --auto --lookback 2d --yes',
    '<%= config.bin %> recover --timeframe 1m --date 2024-08-08',
    '<%= config.bin %> recover --auto --symbol BTCUSDT --exchange BINANCE --yes',
    '<%= config.bin %> recover --timeframe all --from 2024-08-08T00:00:00Z --to 2024-08-08T06:00:00Z --yes --json',
    '<%= config.bin %> recover --full',
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Timeframes to repair: 1m, 5m, 30m, 1h, 1d, a comma list, or all (default).'}),
    auto: Flags.boolean({summary: 'Repair the windows that validate, gaps and reconcile fail on.', exactlyOne: MODES}),
    date: Flags.string({summary: 'Repair this UTC day (YYYY-MM-DD).', exactlyOne: MODES}),
    from: Flags.string({summary: 'Repair from this instant (ISO-8601 or relative, aligned down to windows).', exactlyOne: MODES, dependsOn: ['to']}),
    to: Flags.string({summary: 'Repair up to this instant (exclusive, aligned up to windows).', dependsOn: ['from']}),
    lookback: lookbackFlag(`--auto: check this far back (e.g. 2d, 12h; default ${DEFAULT_LOOKBACK}).`, {dependsOn: ['auto']}),
    'lookback-days': {...deprecatedLookbackDaysFlag, dependsOn: ['auto']},
    'dry-run': Flags.boolean({summary: 'Print the plan and change nothing.'}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (needed off a terminal).'}),
    force: Flags.boolean({summary: 'Also rebuild windows older than their retention cutoff (by default what retention deletes is left out).'}),
    full: Flags.boolean({summary: 'Full pipeline recovery after an outage: scheduler, warehouse, a 1m run, health daily.', exactlyOne: MODES, exclusive: ['timeframe', 'dry-run', 'lookback', 'lookback-days', 'force', 'symbol', 'exchange']}),
    ...marketFlags,
    'run-timeout': Flags.integer({summary: `--full: seconds to wait for the 1m run, queue included (default ${DEFAULT_RUN_TIMEOUT_SECONDS}).`, min: 1, dependsOn: ['full']}),
  }

  async run(): Promise<RecoverResult | FullRecoveryResult> {
    return this.flags.full ? this.runFull() : this.runRepair()
  }

  // ----- repair -------------------------------------------------------------------------------

  private async runRepair(): Promise<RecoverResult> {
    const now = this.now()
    const timeframes = parseTimeframes(this.flags.timeframe ?? 'all')
    const dryRun = Boolean(this.flags['dry-run'])
    const json = this.jsonEnabled()
    requireConfirmation({yes: Boolean(this.flags.yes), dryRun, json})

    const mode: RecoverResult['mode'] = this.flags.auto ? 'auto' : this.flags.date ? 'date' : 'range'
    const market = marketScope(this.flags)
    const lookback = this.flags['lookback-days'] === undefined ? (this.flags.lookback ?? DEFAULT_LOOKBACK) : `${this.flags['lookback-days']}d`
    const request: RepairRequest = {
      timeframes,
      nowMicros: now,
      thresholds: resolveThresholds(this.home.config.thresholds, `${this.home.configFile}: thresholds`),
      ...(mode === 'auto' ? {lookback: {fromMicros: this.timeWindow({defaultLookback: DEFAULT_LOOKBACK}, now).fromMicros ?? now, toMicros: now}} : {requested: this.requestedSpan(now)}),
      // What retention deletes is neither a gap nor something to rebuild, unless --force.
      keptFrom: this.flags.force ? undefined : retentionKeptFrom(this.home, now),
      market,
    }
    const {planRepair, verifyRepair} = await import('../checks/recover-plan.js')
    const {measureRanges, repairEach, repairPieces} = await import('../pipeline/candle-repair.js')
    const {findInterrupted, settleInterrupted} = await import('../pipeline/interrupted-recover.js')
    const audit = new AuditLog(this.home.auditFile)
    let interrupted: InterruptedRecover[] = []

    let plan!: RepairPlan
    await withEngine(this.home, {...this.warehouseOptions('recover (plan)'), readOnly: true}, (engine) =>
      runTasks(
        [
          {
            title: `Plan the repair: ${mode === 'auto' ? `validate, gaps and reconcile over the last ${lookback}` : 'the requested windows'}${market ? ` of ${marketText(market)}` : ''}`,
            task: async (_ctx, task) => {
              interrupted = await findInterrupted(engine, audit, this.home.warehouse)
              plan = await planRepair(engine.checks, (ranges) => measureRanges(engine, ranges), request)
              task.title = `Plan the repair: ${plural(plan.ranges.length, 'range')}, ${plural(plan.before.rows, 'offending row')}`
            },
          },
        ],
        {json, context: {}},
      ),
    )
    const result = plannedResult(plan, {mode, dryRun, at: formatMicros(now), timeframes, market, interrupted})
    if (!json && interrupted.length > 0) this.logToStderr(renderInterrupted(interrupted))
    if (!json && plan.clamped.length > 0) this.logToStderr(renderClamp(plan.clamped))
    if (!json) this.log(renderPlan(result))
    if (dryRun) {
      if (!json) this.log('\nDry run: nothing changed. Run the same command with --yes (or on a terminal) to repair.')
      return result
    }

    const {totals: planned} = result.plan
    if (planned.ranges > 0 && !this.flags.yes) {
      const yes = await confirm(`Delete and rebuild ${plural(planned.candles, 'candle')} in ${plural(planned.ranges, 'range')} from ${plural(planned.trades, 'trade')}?`)
      if (!yes) throw new K2Error('cancelled: nothing changed', {code: 'cancelled', exit: ExitCode.failed})
    }

    const details = () => ({mode, timeframes, ...(market && {market}), checked: result.checked, plan: result.plan, before: result.before, after: result.after, applied: result.applied, warehouse: this.home.warehouse})
    const applied = {pieces: 0, candles: 0, removed: 0, trades: 0, durationMs: 0}
    const started = Date.now()
    await withEngine(this.home, this.warehouseOptions(`recover --${mode === 'range' ? 'from/--to' : mode}`), async (engine) => {
      settleInterrupted(audit, this.home.warehouse, interrupted)
      // The intent goes on disk before the first rebuild; the outcome is written while the warehouse
      // is still held, so an intent without an outcome can only be a run that was killed.
      const record = audit.begin({command: 'recover', at: result.at, details: details()})
      const pieces = repairPieces(plan.ranges)
      // Ctrl-C or SIGTERM: the audit says cancelled, with the ranges repaired (each its own transaction).
      openJob(record.id, (how, rerun) => {
        result.applied = applied
        audit.finish(record, {outcome: 'cancelled', error: how, details: details()})
        return `k2ops: recover ${how}; recorded cancelled (audit ${record.id.slice(0, 8)}). Kept: ${applied.pieces} of ${plural(pieces.length, 'range')} repaired; rerun \`${rerun}\` to finish.`
      })
      try {
        await runTasks(
          [
            {
              title: `Rebuild ${plural(plan.ranges.length, 'range')} from the trades`,
              skip: () => pieces.length === 0,
              task: async (_ctx, task) => {
                await repairEach(engine, pieces, now, applied, (piece, done) => {
                  // One line per committed transaction: an interrupted run shows how far it got.
                  task.output = `${piece.timeframe} ${formatMicros(piece.fromMicros)} → ${formatMicros(piece.toMicros)}: ${plural(done.candles, 'candle')} rebuilt (${applied.pieces}/${pieces.length})`
                })

                applied.durationMs = Date.now() - started
              },
            },
            {
              title: 'Check the repaired ranges: validate, gaps, reconcile',
              task: async (_ctx, task) => {
                result.after = pieces.length === 0 ? plan.before : await verifyRepair(engine.checks, request, plan.ranges)
                task.title = `Check the repaired ranges: ${result.after.status === 'pass' ? 'pass' : `${plural(result.after.rows, 'offending row')} left`}`
              },
            },
          ],
          {json, context: {}},
        )
      } catch (error) {
        result.applied = applied
        audit.finish(record, {outcome: 'failed', error: firstLine((error as Error).message), details: details()})
        throw error
      } finally {
        closeJob(record.id)
      }

      await pauseForTest('after-repair')
      result.applied = applied
      const after = result.after ?? plan.before
      result.outcome = repairOutcome(after, planned.ranges)
      result.auditId = audit.finish(record, {outcome: 'completed', details: details()}).id
    })

    const after = result.after ?? plan.before
    if (!json) this.log(renderOutcome(result))
    if (after.status !== 'pass') {
      process.exitCode = ExitCode.failed
      if (!json) this.logToStderr(renderRepairNext(timeframes))
    }

    return result
  }

  /** --date D: that UTC day; --from/--to: that range (aligned outwards per timeframe later). */
  private requestedSpan(now: number): {fromMicros: number; toMicros: number} {
    if (this.flags.date !== undefined) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(this.flags.date.trim())) throw new UsageError(`--date: '${this.flags.date}' is not a day (YYYY-MM-DD)`, {code: 'bad_time'})
      const fromMicros = parseIsoInstant(this.flags.date, '--date')
      return {fromMicros, toMicros: fromMicros + MICROS_PER_DAY}
    }

    const {fromMicros, toMicros} = this.timeWindow({}, now)
    return {fromMicros: fromMicros as number, toMicros: toMicros as number}
  }

  // ----- full pipeline recovery ---------------------------------------------------------------

  private async runFull(): Promise<FullRecoveryResult> {
    const home = this.home
    const [{FullRecovery, runStep}, {healthDailyReport, healthDailyStep}] = await Promise.all([import('../pipeline/full-recovery.js'), import('../checks/health-daily-step.js')])
    const procedure = new FullRecovery({
      cli: {bin: process.argv[1], home},
      openOptions: this.warehouseOptions('recover --full: integrity check'),
      runTimeoutMs: (this.flags['run-timeout'] ?? DEFAULT_RUN_TIMEOUT_SECONDS) * 1000,
      stopTimeoutSeconds: STOP_TIMEOUT_SECONDS,
    })
    const result: FullRecoveryResult = {mode: 'full', status: 'pass', steps: [], scheduler: null, run: null, health: null, next: null, auditId: ''}
    const steps: RecoveryStep[] = [
      ...procedure.steps(),
      healthDailyStep(
        () => healthDailyReport(home, this.warehouseOptions('recover --full: health daily'), this.now()),
        (report) => (result.health = report),
      ),
    ]
    result.steps = steps.map((step) => ({name: step.name, title: step.title, status: 'skipped', result: null, next: null, durationMs: null}))
    let failed: FullStep | undefined
    try {
      await runTasks(
        steps.map((step, index) => ({
          title: step.title,
          task: async (_ctx, task) => {
            const record = result.steps[index]
            if (!(await runStep(step, record, (line) => (task.output = line)))) {
              failed = record
              throw new Error(record.result ?? '')
            }

            task.title = `${step.title}: ${record.result}`
          },
        })),
        {json: this.jsonEnabled(), context: {}},
      )
    } catch (error) {
      // A failed step is the procedure's answer; anything else is a bug, reported as such.
      if (!failed) throw error
    }

    result.scheduler = procedure.scheduler ?? null
    result.run = procedure.run ?? null
    if (failed) {
      result.status = 'fail'
      result.next = failed.next
      process.exitCode = ExitCode.failed
    }

    result.auditId = new AuditLog(home.auditFile).append({
      command: 'recover',
      at: formatMicros(this.now()),
      outcome: failed ? 'failed' : 'completed',
      error: failed?.result ?? undefined,
      details: {mode: 'full', steps: result.steps, scheduler: result.scheduler, run: result.run?.id ?? null, health: result.health?.status ?? null},
    }).id
    if (!this.jsonEnabled()) this.log(await renderFullRecovery(result, failed))
    return result
  }
}
