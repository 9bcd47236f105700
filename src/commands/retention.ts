import {Flags} from '@oclif/core'

import type {CheckResult} from '../checks/check.js'
import type {Warehouse} from '../pipeline/warehouse.js'

import {BaseCommand} from '../base-command.js'
import {buildReport, plural} from '../checks/check.js'
import {formatBytes} from '../checks/units.js'
import {AuditLog, AuditRecord} from '../pipeline/audit.js'
import {ExitCode} from '../pipeline/errors.js'
import {
  RetentionPlan,
  RetentionPolicies,
  RetentionResult,
  RetentionTarget,
  TablePlan,
  applyRetention,
  parseRetentionTargets,
  planRetention,
  resolveRetentionPolicies,
  retentionCutoff,
  selectPolicies,
  utcDate,
} from '../pipeline/retention.js'
import {formatMicros} from '../pipeline/time.js'
import {TIMEFRAMES, Timeframe} from '../pipeline/timeframes.js'
import {withWarehouse} from '../pipeline/warehouse.js'
import {renderCheckReport} from '../render/checks.js'
import {renderTable} from '../render/table.js'
import {progressBar, runTasks} from '../render/tasks.js'

/** The --json document of a retention run or dry run: a contract, add fields, never rename them. */
export interface RetentionDocument {
  /** planned: a dry run; refused: the trades check failed (the real run refuses, or refused); failed: a table or the checkpoint failed. */
  status: 'planned' | 'completed' | 'failed' | 'refused'
  dryRun: boolean
  /** The UTC date the cutoffs count back from (K2OPS_NOW when set). */
  today: string
  policy: RetentionPolicies
  plan: TablePlan[]
  /** The check that guards a trades policy; null when no trades would be deleted. */
  safety: CheckResult | null
  /** What the real run did; null for a dry run or a refusal. */
  result: RetentionResult | null
  audit: {id: string; file: string} | null
  error: {table: string | null; message: string} | null
}

export interface RetentionHistory {
  records: AuditRecord[]
}

const DEFAULT_HISTORY_LIMIT = 20
const SAFETY_EVIDENCE_ROWS = 10

export default class Retention extends BaseCommand<typeof Retention> {
  static override summary = 'Delete candles (and source trades, when a policy is set) older than the retention policies.'
  static override description = `Policies in days: 1m 90, 5m 180, 30m 365, 1h 1095, 1d 1825. Source trades are kept unless the config file sets a policy for them, e.g. {"retention": {"1m": 60, "trades": 730}}. A row goes when its window_date (exchange_date for trades) is before today (UTC) minus the policy's days.

--dry-run prints the plan and deletes nothing. The real run computes the same plan, deletes exactly it (one transaction per table, rolled back whole when its rows are not the planned ones or the deletion fails), checkpoints, and appends an audit record that --history lists.

Trades are deleted only when every window of them has candles that match them (count and volume), unless --force.

Exit codes: 0 done; 1 a table failed (the tables before it stay deleted, it and the ones after it are untouched), the checkpoint failed, or the trades check refused (also under --dry-run); 2 usage or configuration error; 4 the warehouse is busy (nothing was deleted).`

  static override examples = [
    '<%= config.bin %> retention --dry-run',
    '<%= config.bin %> retention --timeframe all',
    '<%= config.bin %> retention --timeframe 1m,5m --json',
    '<%= config.bin %> retention --timeframe trades --dry-run',
    '<%= config.bin %> retention --history --limit 5',
  ]

  static override flags = {
    timeframe: Flags.string({char: 't', summary: 'Tables to apply: 1m, 5m, 30m, 1h, 1d, trades, a comma list, or all (the default; trades only when its policy is set).'}),
    'dry-run': Flags.boolean({summary: 'Print the plan (what the real run deletes) and delete nothing.', default: false}),
    force: Flags.boolean({summary: 'Delete source trades even when their candles are missing or disagree with them.', default: false}),
    history: Flags.boolean({summary: 'List the audit records of past retention runs, newest first.', default: false, exclusive: ['dry-run', 'force', 'timeframe']}),
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
    const operation = `retention --timeframe ${timeframe}${dryRun ? ' --dry-run' : ''}`
    const {plan, safety, result} = await withWarehouse(this.home.warehouse, {...this.warehouseOptions(operation), readOnly: dryRun}, async (warehouse) => {
      const plan = await planRetention(warehouse, selectPolicies(policies, targets), today)
      const safety = await this.tradesSafety(warehouse, plan, policies)
      if (!this.jsonEnabled()) this.log(renderPlan(plan, safety, now))
      if (dryRun || this.refuses(safety)) return {plan, safety, result: null}
      return {plan, safety, result: await this.apply(warehouse, plan)}
    })

    const refused = this.refuses(safety)
    const error = describeError(plan, safety, result, refused, dryRun)
    const status: RetentionDocument['status'] = refused ? 'refused' : error ? 'failed' : dryRun ? 'planned' : 'completed'
    const audit = dryRun ? null : this.writeAudit({now, targets, policies, plan, safety, result, error})
    const document: RetentionDocument = {status, dryRun, today, policy: policies, plan: plan.tables, safety, result, audit, error}
    if (!this.jsonEnabled()) this.log(renderOutcome(document))
    if (error) {
      process.exitCode = ExitCode.failed
      if (!this.jsonEnabled()) this.logToStderr(`k2ops: ${error.message}`)
    }

    return document
  }

  /** A failed trades check stops the whole run (nothing is deleted), unless --force. */
  private refuses(safety: CheckResult | null): boolean {
    return safety?.status === 'fail' && !this.flags.force
  }

  /** Runs only when trades would be deleted: their candles must be the whole truth about them first. */
  private async tradesSafety(warehouse: Warehouse, plan: RetentionPlan, policies: RetentionPolicies): Promise<CheckResult | null> {
    const trades = plan.tables.find((table) => table.target === 'trades')
    if (!trades || trades.rows === 0) return null
    const {tradesRetentionCheck} = await import('../checks/retention-safety.js')
    const candleCutoffs = Object.fromEntries(TIMEFRAMES.map((tf) => [tf, retentionCutoff(plan.today, policies[tf])])) as Record<Timeframe, string>
    return tradesRetentionCheck(warehouse, {cutoff: trades.cutoff, candleCutoffs, limit: this.flags.limit ?? SAFETY_EVIDENCE_ROWS})
  }

  private async apply(warehouse: Warehouse, plan: RetentionPlan): Promise<RetentionResult> {
    const rows = plan.tables.reduce((sum, table) => sum + table.rows, 0)
    if (rows === 0) return applyRetention(warehouse, plan)
    let result: RetentionResult | undefined
    try {
      await runTasks(
        [
          {
            title: `Delete ${plural(rows, 'row')} from ${plural(plan.tables.length, 'table')}, one transaction each, then checkpoint`,
            task: async (_, task) => {
              result = await applyRetention(warehouse, plan, {
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

  private writeAudit(run: {
    now: number
    targets: RetentionTarget[]
    policies: RetentionPolicies
    plan: RetentionPlan
    safety: CheckResult | null
    result: RetentionResult | null
    error: RetentionDocument['error']
  }): RetentionDocument['audit'] {
    const log = new AuditLog(this.home.auditFile)
    const record = log.append({
      command: 'retention',
      at: formatMicros(run.now),
      outcome: run.error ? 'failed' : 'completed',
      ...(run.error ? {error: run.error.message} : {}),
      details: {
        dryRun: false,
        today: run.plan.today,
        targets: run.targets,
        policy: run.policies,
        cutoffs: Object.fromEntries(run.plan.tables.map((table) => [table.table, table.cutoff])),
        planned: Object.fromEntries(run.plan.tables.map((table) => [table.table, table.rows])),
        deleted: Object.fromEntries((run.result?.tables ?? []).map((table) => [table.table, table.deletedRows])),
        failedTable: run.error?.table ?? null,
        forced: this.flags.force && run.safety?.status === 'fail',
        safety: run.safety ? {status: run.safety.status, summary: run.safety.summary} : null,
        checkpoint: run.result?.checkpoint ?? null,
        warehouse: this.home.warehouse,
      },
    })
    return {id: record.id, file: log.file}
  }

  private history(): RetentionHistory {
    const records = new AuditLog(this.home.auditFile).list('retention').slice(0, this.flags.limit ?? DEFAULT_HISTORY_LIMIT)
    if (!this.jsonEnabled()) this.log(records.length === 0 ? `No retention runs recorded in ${this.home.auditFile}.` : renderHistory(records))
    return {records}
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

function count(n: number): string {
  return n.toLocaleString('en-US')
}

function renderPlan(plan: RetentionPlan, safety: CheckResult | null, now: number): string {
  const rows = plan.tables.map((table) => [
    table.table,
    `${table.policyDays} d`,
    table.cutoff,
    table.from ?? '-',
    table.to ?? '-',
    table.days,
    count(table.rows),
    table.bytesEstimate === null ? '?' : formatBytes(table.bytesEstimate),
    table.newestKept ?? 'none (table left empty)',
  ])
  const lines = [
    `Retention plan for ${plan.today} (UTC): rows dated before the cutoff are deleted.`,
    renderTable(['TABLE', 'POLICY', 'CUTOFF', 'FROM', 'TO', 'DAYS', 'ROWS', '~BYTES', 'NEWEST KEPT'], rows, {alignRight: [1, 5, 6, 7]}),
    "~BYTES is an estimate: each table's storage blocks per stored row, times the rows to delete.",
  ]
  if (safety) lines.push('', renderCheckReport(buildReport([safety], now), {title: 'trades retention check'}))
  return lines.join('\n')
}

function renderOutcome(document: RetentionDocument): string {
  const planned = document.plan.reduce((sum, table) => sum + table.rows, 0)
  if (document.dryRun) {
    if (document.status === 'refused') return '\nDry run: nothing was deleted. The real run would refuse (see the check above).'
    return `\nDry run: nothing was deleted. \`k2ops retention\` with the same tables deletes these ${plural(planned, 'row')}.`
  }

  if (!document.result) return '\nNothing was deleted.'
  const {result} = document
  const lines = ['', renderTable(['TABLE', 'PLANNED', 'DELETED', 'STATUS', 'ERROR'], result.tables.map((table) => [table.table, count(table.plannedRows), count(table.deletedRows), table.status, table.error ?? '']), {alignRight: [1, 2]})]
  const {checkpoint} = result
  const space = checkpoint.done ? `; checkpoint: warehouse ${formatBytes(checkpoint.fileBytesBefore)} → ${formatBytes(checkpoint.fileBytesAfter)} (freed blocks are reused; the file shrinks only when its end is free)` : ''
  lines.push(`Deleted ${plural(result.deletedRows, 'row')}${space}.`)
  if (document.audit) lines.push(`Audit record ${document.audit.id} in ${document.audit.file}.`)
  return lines.join('\n')
}

function shortTable(table: string): string {
  return table.replace('market_data.gold_ohlcv_', '').replace('market_data.gold_crypto_trades', 'trades')
}

function renderHistory(records: AuditRecord[]): string {
  const rows = records.map((record) => {
    const deleted = (record.details.deleted ?? {}) as Record<string, number>
    const total = Object.values(deleted).reduce((sum, n) => sum + n, 0)
    const perTable = Object.entries(deleted)
      .map(([table, n]) => `${shortTable(table)} ${count(n)}`)
      .join(', ')
    const note = record.error ?? (record.details.forced ? 'trades check overridden (--force)' : '')
    return [record.at, `${record.user}@${record.host}`, record.outcome, count(total), perTable || '-', note]
  })
  return renderTable(['AT', 'BY', 'OUTCOME', 'DELETED', 'PER TABLE', 'NOTE'], rows, {alignRight: [3]})
}
