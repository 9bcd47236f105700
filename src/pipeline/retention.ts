import type {Warehouse} from './engine/duckdb/warehouse.js'

import {existsSync, statSync} from 'node:fs'

import {RETENTION_TARGETS, RetentionTarget, retentionCutoff} from './retention-policy.js'
import {TRADES_TABLE} from './schema.js'
import {TIMEFRAME_SPECS} from './timeframes.js'
import {formatMicros} from './time.js'
import {firstLine} from './words.js'

/** How a target's table is dated: the date column the rule compares, and its rows' instant in µs (SQL). */
interface TableRule {
  target: RetentionTarget
  table: string
  dateColumn: 'window_date' | 'exchange_date'
  micros: string
}

function tableRule(target: RetentionTarget): TableRule {
  if (target === 'trades') return {target, table: TRADES_TABLE, dateColumn: 'exchange_date', micros: '"timestamp"'}
  return {target, table: TIMEFRAME_SPECS[target].table, dateColumn: 'window_date', micros: 'epoch_us(window_start)'}
}

export interface TablePlan {
  target: RetentionTarget
  table: string
  /** The column the rule compares with the cutoff: `window_date` (candles) or `exchange_date` (trades). */
  dateColumn: string
  policyDays: number
  /** The first date kept; every row dated before it is deleted. */
  cutoff: string
  /** Oldest and newest date deleted (null: nothing to delete). */
  from: string | null
  to: string | null
  /** Dates with rows to delete. */
  days: number
  rows: number
  /** An estimate (see estimateBytes); null when none of the table is on disk yet. */
  bytesEstimate: number | null
  rowsKept: number
  /** Oldest and newest row that stays (window_start, or the trade's timestamp), ISO-8601. */
  oldestKept: string | null
  newestKept: string | null
  byDay: Array<{date: string; rows: number}>
}

export interface RetentionPlan {
  /** The UTC date the cutoffs count back from. */
  today: string
  tables: TablePlan[]
}

/**
 * What the policies delete today: per table, every row whose date is before today − days (the
 * original script's rule), counted per day, with what stays. The real run deletes exactly this.
 */
export async function planRetention(warehouse: Warehouse, policies: Partial<Record<RetentionTarget, number>>, today: string): Promise<RetentionPlan> {
  const tables: TablePlan[] = []
  for (const target of RETENTION_TARGETS) {
    const days = policies[target]
    if (days !== undefined) tables.push(await planTable(warehouse, tableRule(target), days, today))
  }

  return {today, tables}
}

async function planTable(warehouse: Warehouse, rule: TableRule, policyDays: number, today: string): Promise<TablePlan> {
  const cutoff = retentionCutoff(today, policyDays)
  const byDay = await expiredByDay(warehouse, rule, cutoff)
  const kept = await warehouse.one<{rows: bigint; oldest: bigint | null; newest: bigint | null; total: bigint}>(
    `SELECT count(*) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS rows,
            min(${rule.micros}) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS oldest,
            max(${rule.micros}) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS newest,
            count(*) AS total
     FROM ${rule.table}`,
    {cutoff},
  )
  const rows = byDay.reduce((sum, day) => sum + day.rows, 0)
  return {
    target: rule.target,
    table: rule.table,
    dateColumn: rule.dateColumn,
    policyDays,
    cutoff,
    from: byDay[0]?.date ?? null,
    to: byDay.at(-1)?.date ?? null,
    days: byDay.length,
    rows,
    bytesEstimate: rows === 0 ? 0 : await estimateBytes(warehouse, rule.table, rows, Number(kept.total)),
    rowsKept: Number(kept.rows),
    oldestKept: kept.oldest === null ? null : formatMicros(Number(kept.oldest)),
    newestKept: kept.newest === null ? null : formatMicros(Number(kept.newest)),
    byDay,
  }
}

/** The one predicate of retention, used by the plan and by the deletion alike. */
function expiredCondition(rule: TableRule): string {
  return `${rule.dateColumn} < $cutoff::DATE`
}

async function expiredByDay(warehouse: Warehouse, rule: TableRule, cutoff: string): Promise<Array<{date: string; rows: number}>> {
  const rows = await warehouse.all<{day: string; rows: bigint}>(
    `SELECT strftime(${rule.dateColumn}, '%Y-%m-%d') AS day, count(*) AS rows FROM ${rule.table} WHERE ${expiredCondition(rule)} GROUP BY ALL ORDER BY day`,
    {cutoff},
  )
  return rows.map((row) => ({date: row.day, rows: Number(row.rows)}))
}

/**
 * An estimate of the bytes `rows` of a table take on disk: the storage blocks its checkpointed
 * segments use, per checkpointed row, times `rows`. Blocks shared with other tables count whole,
 * rows not yet checkpointed count at the same rate; DuckDB does not say more precisely.
 */
async function estimateBytes(warehouse: Warehouse, table: string, rows: number, totalRows: number): Promise<number | null> {
  // A table function takes a constant; the name is one of the schema's, never user input.
  const info = `pragma_storage_info('${table}')`
  const usage = await warehouse.one<{blocks: bigint; persisted: bigint | null; block_size: bigint}>(
    `SELECT (SELECT count(DISTINCT block) FROM (
               SELECT block_id AS block FROM ${info} WHERE persistent AND block_id >= 0
               UNION ALL SELECT unnest(additional_block_ids) FROM ${info} WHERE persistent)) AS blocks,
            (SELECT sum(count) FROM ${info} WHERE persistent AND column_path = '[0]') AS persisted,
            (SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()) AS block_size`,
  )
  const persisted = Number(usage.persisted ?? 0)
  if (persisted === 0 || totalRows === 0) return null
  return Math.round((Number(usage.blocks) * Number(usage.block_size) * rows) / persisted)
}

export type TableOutcomeStatus = 'deleted' | 'nothing to delete' | 'failed' | 'not run'

export interface TableOutcome {
  target: RetentionTarget
  table: string
  plannedRows: number
  deletedRows: number
  status: TableOutcomeStatus
  /** Why the table failed (its transaction was rolled back: none of its rows were deleted). */
  error: string | null
  durationMs: number
}

export interface RetentionResult {
  tables: TableOutcome[]
  deletedRows: number
  /** The table whose deletion failed; the tables after it were not run. */
  failedTable: string | null
  /** CHECKPOINT after the deletions, so DuckDB can reuse (and at the file's end, give back) the space. */
  checkpoint: {done: boolean; error: string | null; fileBytesBefore: number; fileBytesAfter: number}
}

export interface ApplyHooks {
  onTable?: (table: TablePlan, index: number) => void
  onOutcome?: (outcome: TableOutcome) => void
}

/**
 * Deletes what `plan` says, one transaction per table, in the plan's order, then checkpoints. A
 * table whose rows before its cutoff are not exactly the plan's (per day), or whose deletion fails,
 * is rolled back whole and ends the run: the tables before it stay deleted, the ones after it are
 * not run. Never throws for a table's failure; the result says which table failed and why.
 */
export async function applyRetention(warehouse: Warehouse, plan: RetentionPlan, hooks: ApplyHooks = {}): Promise<RetentionResult> {
  const fileBytesBefore = fileBytes(warehouse.path)
  const outcomes: TableOutcome[] = []
  let failedTable: string | null = null
  for (const [index, table] of plan.tables.entries()) {
    const base = {target: table.target, table: table.table, plannedRows: table.rows}
    if (failedTable !== null) {
      outcomes.push({...base, deletedRows: 0, status: 'not run', error: null, durationMs: 0})
      continue
    }

    hooks.onTable?.(table, index)
    const started = Date.now()
    let outcome: TableOutcome
    try {
      const deleted = table.rows === 0 ? 0 : await deletePlanned(warehouse, table)
      outcome = {...base, deletedRows: deleted, status: deleted === 0 ? 'nothing to delete' : 'deleted', error: null, durationMs: Date.now() - started}
    } catch (error) {
      failedTable = table.table
      outcome = {...base, deletedRows: 0, status: 'failed', error: firstLine((error as Error).message ?? String(error)), durationMs: Date.now() - started}
    }

    outcomes.push(outcome)
    hooks.onOutcome?.(outcome)
  }

  const deletedRows = outcomes.reduce((sum, outcome) => sum + outcome.deletedRows, 0)
  const checkpoint = {done: false, error: null as string | null, fileBytesBefore, fileBytesAfter: fileBytesBefore}
  if (deletedRows > 0) {
    try {
      await warehouse.run('CHECKPOINT')
      checkpoint.done = true
    } catch (error) {
      checkpoint.error = firstLine((error as Error).message ?? String(error))
    }

    checkpoint.fileBytesAfter = fileBytes(warehouse.path)
  }

  return {tables: outcomes, deletedRows, failedTable, checkpoint}
}

/** One table's deletion, in its own transaction: by the plan's cutoff, and only if that is the plan's rows. */
async function deletePlanned(warehouse: Warehouse, table: TablePlan): Promise<number> {
  const rule = tableRule(table.target)
  return warehouse.transaction(async () => {
    const found = await expiredByDay(warehouse, rule, table.cutoff)
    const differs = describeDifference(table.byDay, found)
    if (differs) throw new Error(`${table.table}: the rows before ${table.cutoff} are not the planned ones (${differs}); nothing of it was deleted`)
    const result = await warehouse.connection.run(`DELETE FROM ${rule.table} WHERE ${expiredCondition(rule)}`, {cutoff: table.cutoff})
    const deleted = Number(result.rowsChanged)
    if (deleted !== table.rows) throw new Error(`${table.table}: deleting before ${table.cutoff} touched ${deleted} rows, the plan says ${table.rows}; rolled back`)
    return deleted
  })
}

function describeDifference(planned: TablePlan['byDay'], found: TablePlan['byDay']): string | undefined {
  const counts = new Map(planned.map((day) => [day.date, day.rows]))
  for (const day of found) {
    const want = counts.get(day.date) ?? 0
    if (want !== day.rows) return `${day.date}: ${want} planned, ${day.rows} found`
    counts.delete(day.date)
  }

  const [date, rows] = [...counts.entries()][0] ?? []
  return date === undefined ? undefined : `${date}: ${rows} planned, 0 found`
}

/** The warehouse's size on disk with its write-ahead log. */
function fileBytes(path: string): number {
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0)
  return size(path) + size(`${path}.wal`)
}


/** One table of an interrupted run's plan, as its intent recorded it. */
export interface PlannedDeletion {
  target: RetentionTarget
  table: string
  cutoff: string
  rows: number
}

/** What the warehouse shows of one planned table now: its rows before the cutoff are gone (deleted), all still there, or neither. */
export interface FoundDeletion extends PlannedDeletion {
  /** Rows before the cutoff now. */
  left: number
  /** The planned rows when none are left; 0 when all are; null when the count is neither (other writes since). */
  deleted: number | null
  status: 'deleted' | 'not deleted' | 'unknown'
}

/**
 * What a killed retention run did: each table is deleted in one transaction, so its rows before the
 * cutoff are either all gone (committed) or all there (rolled back by the kill).
 */
export async function findDeleted(warehouse: Warehouse, planned: PlannedDeletion[]): Promise<FoundDeletion[]> {
  const found: FoundDeletion[] = []
  for (const table of planned) {
    const rule = tableRule(table.target)
    const {rows} = await warehouse.one<{rows: bigint}>(`SELECT count(*) AS rows FROM ${rule.table} WHERE ${expiredCondition(rule)}`, {cutoff: table.cutoff})
    const left = Number(rows)
    const status = table.rows === 0 || left === table.rows ? 'not deleted' : left === 0 ? 'deleted' : 'unknown'
    found.push({...table, left, deleted: status === 'deleted' ? table.rows : status === 'not deleted' ? 0 : null, status})
  }

  return found
}
