import {Flags} from '@oclif/core'

import type {CheckResult} from '../checks/check.js'
import type {Engine} from '../pipeline/engine/engine.js'

import {BaseCommand} from '../base-command.js'
import {AuditLog, AuditRecord} from '../pipeline/audit.js'
import {ExitCode, K2Error, UsageError} from '../pipeline/errors.js'
import {RetentionPolicies, RetentionTarget, parseRetentionTargets, resolveRetentionPolicies, retentionCutoff, selectPolicies, utcDate} from '../pipeline/retention-policy.js'
import {InterruptedRetention, emptiedTables, settleInterruptedRetentions} from '../pipeline/interrupted-retention.js'
import {PlannedDeletion, RetentionPlan, RetentionResult, applyRetention, planRetention} from '../pipeline/retention.js'
import {pauseForTest} from '../pipeline/test-hooks.js'
import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAMES, Timeframe} from '../pipeline/timeframes.js'
import {engineTarget, withEngine} from '../pipeline/engine/index.js'
import {confirm, requireConfirmation} from '../render/confirm.js'
import {RetentionDocument, renderHistory, renderInterrupted, renderOutcome, renderPlan} from '../render/retention.js'
import {progressBar, runTasks} from '../render/tasks.js'
import {count, firstLine, plural} from '../pipeline/words.js'

export type {RetentionDocument} from '../render/retention.js'

/** A plan ready to apply, with what it found of killed runs. */
interface Prepared {
  interrupted: InterruptedRetention[]
  plan: RetentionPlan
  safety: CheckResult | null
}

export interface RetentionHistory {
  records: AuditRecord[]
}

const DEFAULT_HISTORY_LIMIT = 20
const SAFETY_EVIDENCE_ROWS = 10

export default class Retention extends BaseCommand<typeof Retention> {
  static override summary = 'Delete candles (and source trades, when a policy is set) older than the retention policies.'
  static override description = `Policies in days: 1m 90, 5m 180, 30m 365, 1h 1095, 1d 1825. Source trades are kept unless the config file sets a policy for them, e.g. {"retention": {"1m": 60, "trades": 730}}. A row goes when its window_date (exchange_date for trades) is before today (UTC) minus the policy's days.

--dry-run prints the plan and deletes nothing. The real run computes the same plan, asks for confirmation on a terminal (off a terminal, e.g. from cron, it needs --yes), records its intent in the audit trail, deletes exactly the plan (one transaction per table, rolled back whole when its rows are not the planned ones or the deletion fails), checkpoints, and records the outcome; --history lists the records. A run killed before its outcome is listed as interrupted, and the next run says what the warehouse shows it deleted.

On Spark each table is one DELETE (one Iceberg commit, rolled back when it is not the plan); the plan says which deletes only drop whole data files (metadata only) and which rewrite files (the 1d table is partitioned by month). Instead of a checkpoint, the snapshots older than the current one of the changed tables are expired, so that the deleted files are really removed.

A plan that deletes a table's newest row (which would leave it empty) is refused unless --allow-empty.

Trades are deleted only when every window of them has candles that match them (count and volume), unless --force.

Exit codes: 0 done; 1 a table failed (the tables before it stay deleted, it and the ones after it are untouched), the checkpoint failed, the trades check refused (also under --dry-run), or the question was answered no; 2 usage or configuration error, no --yes off a terminal, or a table would be left empty without --allow-empty (also under --dry-run); 4 the warehouse is busy (nothing was deleted).`

  static override examples = [
    '<%= config.bin %> retention --dry-run',
    '<%= config.bin %> retention --timeframe all',
    {description: 'From cron (no terminal to ask on): --yes', command: '<%= config.bin %> retention --yes --json'},
    '<%= config.bin %> retention --timeframe 1m,5m --yes',
    '<%= config.bin %> retention --timeframe trades --dry-run',
    '<%= config.bin %> retention --history --limit 5',
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Tables to apply: 1m, 5m, 30m, 1h, 1d, trades, a comma list, or all (the default; trades only when its policy is set).'}),
    'dry-run': Flags.boolean({summary: 'Print the plan (what the real run deletes) and delete nothing.', default: false}),
    force: Flags.boolean({summary: 'Delete source trades even when their candles are missing or disagree with them.', default: false}),
    yes: Flags.boolean({char: 'y', summary: 'Do not ask for confirmation (needed off a terminal: cron passes it).', default: false}),
    'allow-empty': Flags.boolean({summary: "Delete a table's newest row too, leaving the table empty.", default: false}),
    history: Flags.boolean({summary: 'List the audit records of past retention runs, newest first.', default: false, exclusive: ['dry-run', 'force', 'timeframe', 'yes', 'allow-empty']}),
    limit: Flags.integer({summary: `Records to list with --history (default ${DEFAULT_HISTORY_LIMIT}), or evidence rows of the trades check (default ${SAFETY_EVIDENCE_ROWS}).`, min: 1}),
  }

  async run(): Promise<RetentionDocument | RetentionHistory> {
    if (this.flags.history) return this.history()
    const policies = resolveRetentionPolicies(this.home.config.retention, `${this.home.configFile}: retention`)
    const timeframe = this.flags.timeframe ?? 'all'
    const targets = parseRetentionTargets(timeframe, policies)
    const now = this.now()
    const today = utcDate(now)
    const dryRun = this.flags['dry-run']
    const json = this.jsonEnabled()
    requireConfirmation({yes: this.flags.yes, dryRun, json})
    const log = new AuditLog(this.home.auditFile)
    const operation = `retention --timeframe ${timeframe}${dryRun ? ' --dry-run' : ''}`
    const options = this.warehouseOptions(operation)
    /** Plans, prints the plan, and refuses what it must refuse. */
    const prepare = async (engine: Engine, closeInterrupted: boolean): Promise<Prepared> => {
      const interrupted = await settleInterruptedRetentions(engine, log, engineTarget(this.home), closeInterrupted)
      const plan = await planRetention(engine, selectPolicies(policies, targets), today)
      const safety = await this.tradesSafety(engine, plan, policies)
      if (!json && interrupted.length > 0) this.logToStderr(renderInterrupted(interrupted))
      if (!json) this.log(renderPlan(plan, safety, now))
      this.refuseEmptying(plan, dryRun)
      return {interrupted, plan, safety}
    }

    // A question on a terminal is asked with the warehouse free (read-only while planning): the
    // flows must not wait for a person. The confirmed plan is what the real run deletes, and only if
    // the rows before each cutoff are still exactly the planned ones.
    let prepared: Prepared | undefined
    if (dryRun || !this.flags.yes) {
      prepared = await withEngine(this.home, {...options, readOnly: true}, (engine) => prepare(engine, false))
      if (!dryRun && !this.refuses(prepared.safety)) await this.confirmDeletion(prepared.plan)
    }

    const run =
      dryRun || (prepared && this.refuses(prepared.safety))
        ? {...prepared!, result: null, record: null}
        : await withEngine(this.home, options, async (engine) => {
            const fresh = prepared ? undefined : await prepare(engine, true)
            const {plan, safety} = prepared ?? fresh!
            // Under the lock, what killed runs did is recorded (looked up again: the warehouse was free meanwhile).
            const interrupted = fresh ? fresh.interrupted : await settleInterruptedRetentions(engine, log, engineTarget(this.home), true)
            if (this.refuses(safety)) return {interrupted, plan, safety, result: null, record: null}
            return {interrupted, plan, safety, ...(await this.deleteAndRecord(engine, log, {now, targets, policies, plan, safety}))}
          })

    const {interrupted, plan, safety, result} = run
    const refused = this.refuses(safety)
    const error = describeError(plan, safety, result, refused, dryRun)
    const status: RetentionDocument['status'] = refused ? 'refused' : error ? 'failed' : dryRun ? 'planned' : 'completed'
    // A refusal deleted nothing: one record says so.
    const record = run.record ?? (refused && !dryRun ? log.append({command: 'retention', at: formatMicros(now), outcome: 'failed', error: error?.message, details: {...this.intentDetails(targets, policies, plan, safety), ...outcomeDetails(null, error)}}) : null)
    const audit = record ? {id: record.id, file: log.file} : null
    const document: RetentionDocument = {status, dryRun, engine: plan.engine, today, policy: policies, plan: plan.tables, safety, result, audit, error, interrupted}
    if (!json) this.log(renderOutcome(document))
    if (error) {
      process.exitCode = ExitCode.failed
      if (!json) this.logToStderr(`k2ops: ${error.message}`)
    }

    return document
  }

  /**
   * Deletes the plan with its audit trail: the intent goes on disk before the first delete, and the
   * outcome is written while the warehouse is still held, so an intent without an outcome can only
   * be a run that was killed.
   */
  private async deleteAndRecord(
    engine: Engine,
    log: AuditLog,
    run: {now: number; targets: RetentionTarget[]; policies: RetentionPolicies; plan: RetentionPlan; safety: CheckResult | null},
  ): Promise<{result: RetentionResult; record: AuditRecord}> {
    const record = log.begin({command: 'retention', at: formatMicros(run.now), details: this.intentDetails(run.targets, run.policies, run.plan, run.safety)})
    let result: RetentionResult
    try {
      result = await this.apply(engine, run.plan)
    } catch (error) {
      log.finish(record, {outcome: 'failed', error: firstLine((error as Error).message)})
      throw error
    }

    await pauseForTest('after-checkpoint')
    const error = describeError(run.plan, run.safety, result, false, false)
    return {result, record: log.finish(record, {outcome: error ? 'failed' : 'completed', ...(error ? {error: error.message} : {}), details: outcomeDetails(result, error)})}
  }

  /** Deleting a table's newest row would leave it empty: almost always a wrong clock or policy, so it takes --allow-empty. */
  private refuseEmptying(plan: RetentionPlan, dryRun: boolean): void {
    if (this.flags['allow-empty']) return
    const emptied = emptiedTables(plan)
    if (emptied.length === 0) return
    const names = emptied.map((table) => `${table.table} (all ${count(table.rows)} rows, the newest dated ${table.to})`).join(', ')
    throw new UsageError(`${dryRun ? 'the real run would refuse' : 'refusing'}: retention would empty ${names}; nothing was deleted (--allow-empty deletes them anyway)`, {
      code: 'would_empty_table',
      hint: `Check the clock (today is ${plan.today} UTC) and the policies; pass --allow-empty to empty the table.`,
    })
  }

  /** On a terminal without --yes: the plan was printed, the question is whether to delete it. */
  private async confirmDeletion(plan: RetentionPlan): Promise<void> {
    const rows = plan.tables.reduce((sum, table) => sum + table.rows, 0)
    if (rows === 0 || this.flags.yes) return
    const tables = plan.tables.filter((table) => table.rows > 0).length
    if (!(await confirm(`Delete ${plural(rows, 'row')} from ${plural(tables, 'table')}?`))) {
      throw new K2Error('cancelled: nothing was deleted', {code: 'cancelled', exit: ExitCode.failed})
    }
  }

  /** A failed trades check stops the whole run (nothing is deleted), unless --force. */
  private refuses(safety: CheckResult | null): boolean {
    return safety?.status === 'fail' && !this.flags.force
  }

  /** Runs only when trades would be deleted: their candles must be the whole truth about them first. */
  private async tradesSafety(engine: Engine, plan: RetentionPlan, policies: RetentionPolicies): Promise<CheckResult | null> {
    const trades = plan.tables.find((table) => table.target === 'trades')
    if (!trades || trades.rows === 0) return null
    const {tradesRetentionCheck} = await import('../checks/retention-safety.js')
    const candleCutoffs = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, retentionCutoff(plan.today, policies[tf])])) as Record<Timeframe, string>
    return tradesRetentionCheck(engine.checks, {cutoff: trades.cutoff, candleCutoffs, limit: this.flags.limit ?? SAFETY_EVIDENCE_ROWS})
  }

  private async apply(engine: Engine, plan: RetentionPlan): Promise<RetentionResult> {
    const rows = plan.tables.reduce((sum, table) => sum + table.rows, 0)
    if (rows === 0) return applyRetention(engine, plan)
    let result: RetentionResult | undefined
    try {
      await runTasks(
        [
          {
            title: `Delete ${plural(rows, 'row')} from ${plural(plan.tables.length, 'table')}, one transaction each, then checkpoint`,
            task: async (_, task) => {
              result = await applyRetention(engine, plan, {
                onTable: (table, index) => {
                  task.output = `${progressBar(index, plan.tables.length)} ${table.table}: ${plural(table.rows, 'row')} before ${table.cutoff}`
                },
              })
              if (result.failedTable) throw new Error(`${result.failedTable} failed; it and the tables after it were not changed`)
            },
          },
        ],
        {json: this.jsonEnabled(), context: {}},
      )
    } catch (error) {
      // A table's failure is in the result (rendered and audited below); anything else is unexpected.
      if (!result) throw error
    }

    return result!
  }

  /** What the intent records: the policy and the plan, table by table (enough to tell later what a killed run deleted). */
  private intentDetails(targets: RetentionTarget[], policies: RetentionPolicies, plan: RetentionPlan, safety: CheckResult | null): Record<string, unknown> {
    return {
      dryRun: false,
      today: plan.today,
      targets,
      policy: policies,
      cutoffs: Object.fromEntries(plan.tables.map((table) => [table.table, table.cutoff])),
      planned: Object.fromEntries(plan.tables.map((table) => [table.table, table.rows])),
      plannedByDay: Object.fromEntries(plan.tables.map((table) => [table.table, table.byDay])),
      rewritesFiles: Object.fromEntries(plan.tables.map((table) => [table.table, table.rewritesFiles])),
      tables: plan.tables.map((table): PlannedDeletion => ({target: table.target, table: table.table, cutoff: table.cutoff, rows: table.rows})),
      forced: this.flags.force && safety?.status === 'fail',
      safety: safety ? {status: safety.status, summary: safety.summary} : null,
      engine: plan.engine,
      warehouse: engineTarget(this.home),
    }
  }

  private history(): RetentionHistory {
    const records = new AuditLog(this.home.auditFile).list('retention').slice(0, this.flags.limit ?? DEFAULT_HISTORY_LIMIT)
    if (!this.jsonEnabled()) this.log(records.length === 0 ? `No retention runs recorded in ${this.home.auditFile}.` : renderHistory(records))
    return {records}
  }
}

function outcomeDetails(result: RetentionResult | null, error: RetentionDocument['error']): Record<string, unknown> {
  return {
    deleted: Object.fromEntries((result?.tables ?? []).map((table) => [table.table, table.deletedRows])),
    deletedByDay: Object.fromEntries((result?.tables ?? []).map((table) => [table.table, table.deletedByDay])),
    failedTable: error?.table ?? null,
    checkpoint: result?.checkpoint ?? null,
  }
}

function describeError(plan: RetentionPlan, safety: CheckResult | null, result: RetentionResult | null, refused: boolean, dryRun: boolean): RetentionDocument['error'] {
  const trades = plan.tables.find((table) => table.target === 'trades')
  if (refused && safety && trades) {
    const action = dryRun ? 'the real run would refuse' : 'refused'
    return {table: trades.table, message: `${action} to delete trades from ${trades.table}: ${safety.summary}; nothing was deleted (--force deletes them anyway)`}
  }

  if (result?.failedTable) {
    const failed = result.tables.find((table) => table.table === result.failedTable)
    const done = result.tables.filter((table) => table.status === 'deleted')
    const before = done.length > 0 ? `; deleted before it: ${done.map((table) => `${table.table} ${plural(table.deletedRows, 'row')}`).join(', ')}` : '; nothing was deleted'
    return {table: result.failedTable, message: `retention failed on ${result.failedTable}: ${failed?.error ?? 'unknown error'} (none of its rows were deleted${before})`}
  }

  if (result?.checkpoint.error) return {table: null, message: `the deletions are committed, but the checkpoint failed: ${result.checkpoint.error}`}
  return null
}

