import type {DayCount, Engine, EngineKind, ReclaimedSpace} from './engine/engine.js'

import {RETENTION_TARGETS, RetentionTarget, retentionCutoff} from './retention-policy.js'
import {TRADES_TABLE} from './schema.js'
import {TIMEFRAME_SPECS} from './timeframes.js'
import {formatMicros} from './time.js'
import {firstLine} from './words.js'

/** A target's table, and the date column the rule compares with the cutoff. */
function targetTable(target: RetentionTarget): {table: string; dateColumn: 'window_date' | 'exchange_date'} {
  if (target === 'trades') return {table: TRADES_TABLE, dateColumn: 'exchange_date'}
  return {table: TIMEFRAME_SPECS[target].table, dateColumn: 'window_date'}
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
  /** An estimate of the bytes deleted (the engine's); null when none of the table is on disk yet. */
  bytesEstimate: number | null
  rowsKept: number
  /** Oldest and newest row that stays (window_start, or the trade's timestamp), ISO-8601. */
  oldestKept: string | null
  newestKept: string | null
  byDay: Array<{date: string; rows: number}>
  /**
   * The delete rewrites data files, which hold rows on both sides of the cutoff (Spark: the 1d
   * table's month partitions, or any file that spans the cutoff). false: it drops whole files or
   * partitions only (metadata only on Spark), and always on DuckDB.
   */
  rewritesFiles: boolean
  /** The data files it rewrites (0 unless rewritesFiles). */
  filesToRewrite: number
}

export interface RetentionPlan {
  /** The UTC date the cutoffs count back from. */
  today: string
  /** The engine the plan was made on (it says how the delete works and how space is freed). */
  engine: EngineKind
  tables: TablePlan[]
}

/**
 * What the policies delete today: per table, every row whose date is before today − days (the
 * original script's rule), counted per day, with what stays. The real run deletes exactly this.
 */
export async function planRetention(engine: Engine, policies: Partial<Record<RetentionTarget, number>>, today: string): Promise<RetentionPlan> {
  const planned = RETENTION_TARGETS.filter((target) => policies[target] !== undefined).map((target) => ({target, policyDays: policies[target]!, cutoff: retentionCutoff(today, policies[target]!)}))
  const stats = await engine.retentionStats(planned.map(({target, cutoff}) => ({target, cutoff})))
  const tables = planned.map(({target, policyDays, cutoff}, index): TablePlan => {
    const {expiredByDay: byDay, rowsKept, oldestKeptMicros, newestKeptMicros, bytesEstimate, filesToRewrite} = stats[index]
    return {
      target,
      ...targetTable(target),
      policyDays,
      cutoff,
      from: byDay[0]?.date ?? null,
      to: byDay.at(-1)?.date ?? null,
      days: byDay.length,
      rows: byDay.reduce((sum, day) => sum + day.rows, 0),
      bytesEstimate,
      rowsKept,
      oldestKept: oldestKeptMicros === null ? null : formatMicros(oldestKeptMicros),
      newestKept: newestKeptMicros === null ? null : formatMicros(newestKeptMicros),
      byDay,
      rewritesFiles: filesToRewrite > 0,
      filesToRewrite,
    }
  })
  return {today, engine: engine.kind, tables}
}

export type TableOutcomeStatus = 'deleted' | 'nothing to delete' | 'failed' | 'not run'

export interface TableOutcome {
  target: RetentionTarget
  table: string
  plannedRows: number
  deletedRows: number
  /** The rows deleted per date (the guard saw them before the delete and checked the total after). */
  deletedByDay: DayCount[]
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
  /**
   * After the deletions, the engine reclaims their space: a checkpoint on DuckDB (it can then reuse,
   * and at the file's end give back, the space); on Spark the tables' older snapshots are expired
   * (`expired`), which removes the deleted files. fileBytes: what the target takes before and after.
   */
  checkpoint: {done: boolean; error: string | null; fileBytesBefore: number; fileBytesAfter: number; expired: ReclaimedSpace | null}
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
export async function applyRetention(engine: Engine, plan: RetentionPlan, hooks: ApplyHooks = {}): Promise<RetentionResult> {
  const fileBytesBefore = await engine.storageBytes()
  const outcomes: TableOutcome[] = []
  let failedTable: string | null = null
  for (const [index, table] of plan.tables.entries()) {
    const base = {target: table.target, table: table.table, plannedRows: table.rows}
    if (failedTable !== null) {
      outcomes.push({...base, deletedRows: 0, deletedByDay: [], status: 'not run', error: null, durationMs: 0})
      continue
    }

    hooks.onTable?.(table, index)
    const started = Date.now()
    let outcome: TableOutcome
    try {
      const deleted = table.rows === 0 ? {rows: 0, byDay: []} : await deletePlanned(engine, table)
      outcome = {...base, deletedRows: deleted.rows, deletedByDay: deleted.byDay, status: deleted.rows === 0 ? 'nothing to delete' : 'deleted', error: null, durationMs: Date.now() - started}
    } catch (error) {
      failedTable = table.table
      outcome = {...base, deletedRows: 0, deletedByDay: [], status: 'failed', error: firstLine((error as Error).message ?? String(error)), durationMs: Date.now() - started}
    }

    outcomes.push(outcome)
    hooks.onOutcome?.(outcome)
  }

  const deletedRows = outcomes.reduce((sum, outcome) => sum + outcome.deletedRows, 0)
  const checkpoint: RetentionResult['checkpoint'] = {done: false, error: null, fileBytesBefore, fileBytesAfter: fileBytesBefore, expired: null}
  if (deletedRows > 0) {
    try {
      checkpoint.expired = (await engine.reclaimSpace()) ?? null
      checkpoint.done = true
    } catch (error) {
      checkpoint.error = firstLine((error as Error).message ?? String(error))
    }

    checkpoint.fileBytesAfter = await engine.storageBytes()
  }

  return {tables: outcomes, deletedRows, failedTable, checkpoint}
}

/** One table's deletion, in its own unit of work: by the plan's cutoff, and only if that is the plan's rows. */
async function deletePlanned(engine: Engine, table: TablePlan): Promise<{rows: number; byDay: DayCount[]}> {
  let byDay: DayCount[] = []
  const rows = await engine.deleteExpired(table.target, table.cutoff, {
    found(found) {
      const differs = describeDifference(table.byDay, found)
      if (differs) throw new Error(`${table.table}: the rows before ${table.cutoff} are not the planned ones (${differs}); nothing of it was deleted`)
      byDay = found
    },
    deleted(deleted) {
      if (deleted !== table.rows) throw new Error(`${table.table}: deleting before ${table.cutoff} touched ${deleted} rows, the plan says ${table.rows}; rolled back`)
    },
  })
  return {rows, byDay}
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
export async function findDeleted(engine: Engine, planned: PlannedDeletion[]): Promise<FoundDeletion[]> {
  const counts = planned.length === 0 ? [] : await engine.countExpired(planned.map((table) => ({target: table.target, cutoff: table.cutoff})))
  return planned.map((table, index) => {
    const left = counts[index]
    const status = table.rows === 0 || left === table.rows ? 'not deleted' : left === 0 ? 'deleted' : 'unknown'
    return {...table, left, deleted: status === 'deleted' ? table.rows : status === 'not deleted' ? 0 : null, status}
  })
}
