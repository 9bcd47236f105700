import type {CheckResult} from '../checks/check.js'
import type {AuditRecord} from '../pipeline/audit.js'
import type {EngineKind} from '../pipeline/engine/engine.js'
import type {InterruptedRetention} from '../pipeline/interrupted-retention.js'
import type {RetentionClamp, RetentionPolicies} from '../pipeline/retention-policy.js'
import type {FoundDeletion, RetentionPlan, RetentionResult, TablePlan} from '../pipeline/retention.js'

import {buildReport} from '../checks/check.js'
import {formatBytes} from '../checks/units.js'
import {renderCheckReport} from './checks.js'
import {renderTable} from './table.js'
import {count, plural} from '../pipeline/words.js'

/** The --json document of a retention run or dry run: a contract, add fields, never rename them. */
export interface RetentionDocument {
  /** planned: a dry run; refused: the trades check failed (the real run refuses, or refused); failed: a table or the checkpoint failed. */
  status: 'planned' | 'completed' | 'failed' | 'refused'
  dryRun: boolean
  /** The engine the plan was made and deleted on: how deletes work and how space is freed. */
  engine: EngineKind
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
  /** Earlier runs killed before they recorded their outcome, with what the warehouse shows they deleted. */
  interrupted: InterruptedRetention[]
}



export function renderPlan(plan: RetentionPlan, safety: CheckResult | null, now: number): string {
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
  ]
  if (plan.engine === 'spark') lines.push(...icebergDeletes(plan))
  else lines.push("~BYTES is an estimate: each table's storage blocks per stored row, times the rows to delete.")
  if (safety) lines.push('', renderCheckReport(buildReport([safety], now), {title: 'trades retention check'}))
  return lines.join('\n')
}

/** How each Iceberg delete works: dropping whole data files (metadata only), or rewriting the files that span the cutoff. */
function icebergDeletes(plan: RetentionPlan): string[] {
  const deleting = plan.tables.filter((table) => table.rows > 0)
  const whole = deleting.filter((table) => !table.rewritesFiles).map((table) => table.table)
  const lines = ['~BYTES is an estimate from Iceberg metadata: the data files dropped whole, and the deleted rows\' share of the files rewritten.']
  if (whole.length > 0) lines.push(`Metadata-only delete (whole data files dropped): ${whole.join(', ')}.`)
  for (const table of deleting.filter((t) => t.rewritesFiles)) {
    const month = table.target === '1d' ? ' (the 1d table is partitioned by month: a cutoff that is not the 1st of a month splits a partition)' : ''
    lines.push(`The delete rewrites files: ${table.table}: ${plural(table.filesToRewrite, 'data file')} ${table.filesToRewrite === 1 ? 'holds' : 'hold'} rows on both sides of ${table.cutoff}${month}.`)
  }

  return lines
}

export function renderOutcome(document: RetentionDocument): string {
  const planned = document.plan.reduce((sum, table) => sum + table.rows, 0)
  if (document.dryRun) {
    if (document.status === 'refused') return '\nDry run: nothing was deleted. The real run would refuse (see the check above).'
    return `\nDry run: nothing was deleted. \`k2ops retention --yes\` with the same tables deletes these ${plural(planned, 'row')}.`
  }

  if (!document.result) return '\nNothing was deleted.'
  const {result} = document
  const lines = ['', renderTable(['TABLE', 'PLANNED', 'DELETED', 'STATUS', 'ERROR'], result.tables.map((table) => [table.table, count(table.plannedRows), count(table.deletedRows), table.status, table.error ?? '']), {alignRight: [1, 2]})]
  const {checkpoint} = result
  const space = !checkpoint.done ? '' : checkpoint.expired ? expiredText(checkpoint) : `; checkpoint: warehouse ${formatBytes(checkpoint.fileBytesBefore)} → ${formatBytes(checkpoint.fileBytesAfter)} (freed blocks are reused; the file shrinks only when its end is free)`
  lines.push(`Deleted ${plural(result.deletedRows, 'row')}${space}.`)
  if (document.audit) lines.push(`Audit record ${document.audit.id} in ${document.audit.file}.`)
  return lines.join('\n')
}

/** Spark: the snapshots that still referenced the deleted files were expired, which freed their space. */
function expiredText(checkpoint: RetentionResult['checkpoint']): string {
  const {expired} = checkpoint
  if (!expired) return ''
  const freed = Math.max(0, checkpoint.fileBytesBefore - checkpoint.fileBytesAfter)
  return `; expired ${plural(expired.snapshotsExpired, 'older snapshot')} of ${plural(expired.tables.length, 'table')} (they still referenced the deleted files): ${plural(expired.filesDeleted, 'file')} removed, ${formatBytes(freed)} freed (tables ${formatBytes(checkpoint.fileBytesBefore)} → ${formatBytes(checkpoint.fileBytesAfter)})`
}

/** One line per killed run: when, who, and what the warehouse shows it deleted. */
export function renderInterrupted(runs: InterruptedRetention[]): string {
  return runs.map((run) => `warning: the retention run ${run.id} of ${run.at} (${run.by}) was interrupted before it recorded its outcome; the warehouse shows: ${foundText(run.tables)}`).join('\n')
}

function foundText(tables: FoundDeletion[]): string {
  const parts = tables.map((table) => {
    if (table.status === 'deleted') return `${shortTable(table.table)} ${count(table.rows)} deleted`
    if (table.status === 'not deleted') return `${shortTable(table.table)} not deleted`
    return `${shortTable(table.table)} unknown (${count(table.left)} of ${count(table.rows)} planned rows left)`
  })
  return parts.length > 0 ? parts.join(', ') : 'nothing planned'
}

function shortTable(table: string): string {
  return table.replace('market_data.gold_ohlcv_', '').replace('market_data.gold_crypto_trades', 'trades')
}

export function renderHistory(records: AuditRecord[]): string {
  const rows = records.map((record) => {
    const deleted = (record.details.deleted ?? {}) as Record<string, number | null>
    const total = Object.values(deleted).reduce<number>((sum, n) => sum + (n ?? 0), 0)
    const perTable = Object.entries(deleted)
      .map(([table, n]) => `${shortTable(table)} ${n === null ? '?' : count(n)}`)
      .join(', ')
    const note =
      record.outcome === 'interrupted'
        ? `killed before it recorded its outcome${record.details.found ? '; DELETED is what the warehouse showed after' : '; run retention again to see what it deleted'}`
        : record.outcome === 'started'
          ? 'running'
          : (record.error ?? (record.details.forced ? 'trades check overridden (--force)' : ''))
    return [record.at, `${record.user}@${record.host}`, record.outcome, record.outcome === 'interrupted' && !record.details.found ? '?' : count(total), perTable || '-', note]
  })
  return renderTable(['AT', 'BY', 'OUTCOME', 'DELETED', 'PER TABLE', 'NOTE'], rows, {alignRight: [3]})
}

/** The note of a plan cut at the retention cutoffs. */
export function renderClamp(clamped: RetentionClamp[]): string {
  return clamped.map((c) => `note: ${c.timeframe}: windows before ${c.cutoff} (its ${c.policyDays}-day retention) are left out; --force rebuilds them too`).join('\n')
}
