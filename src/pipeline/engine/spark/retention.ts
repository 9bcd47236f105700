import type {RetentionTarget} from '../../retention-policy.js'
import type {DayCount, DeletionGuard, RetentionStats} from '../engine.js'
import type {SparkSql} from './spark-engine.js'

import {TRADES_TABLE} from '../../schema.js'
import {TIMEFRAME_SPECS} from '../../timeframes.js'
import {sqlName, sqlString} from './sql-text.js'
import {SparkTables} from './tables.js'

// Retention's Spark SQL on the Iceberg tables: what a cutoff expires, and deleting it with one
// DELETE (one commit) per table. The plan and its rules: pipeline/retention.ts. Expiring the
// snapshots that still hold the deleted files: retention-snapshots.ts.

/** How a target's table is dated: the date column the rule compares, and its rows' instant in µs (SQL). */
export interface SparkTableRule {
  table: string
  /** The table as Iceberg's procedures name it: `namespace.table`, without the catalog. */
  identifier: string
  dateColumn: 'window_date' | 'exchange_date'
  micros: string
}

const baseName = (table: string): string => table.slice(table.indexOf('.') + 1)

export function sparkTableRule(tables: SparkTables, target: RetentionTarget): SparkTableRule {
  const {namespace} = tables.target
  if (target === 'trades') return {table: tables.trades, identifier: `${namespace}.${baseName(TRADES_TABLE)}`, dateColumn: 'exchange_date', micros: '`timestamp`'}
  const {table} = TIMEFRAME_SPECS[target]
  return {table: tables.candles(target), identifier: `${namespace}.${baseName(table)}`, dateColumn: 'window_date', micros: 'unix_micros(window_start)'}
}

/** The one predicate of retention, used by the plan and by the deletion alike. */
function expired(rule: SparkTableRule, cutoff: string): string {
  return `${rule.dateColumn} < DATE ${sqlString(cutoff)}`
}

function byDaySql(rule: SparkTableRule, cutoff: string): string {
  return `SELECT CAST(${rule.dateColumn} AS STRING), count(*) FROM ${rule.table} WHERE ${expired(rule, cutoff)} GROUP BY ${rule.dateColumn} ORDER BY ${rule.dateColumn}`
}

const dayCounts = (rows: unknown[][]): DayCount[] => rows.map(([date, rows]) => ({date: String(date), rows: Number(rows)}))
const num = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value))

/**
 * The table's data files against the cutoff, from Iceberg's metadata (the files' date bounds): those
 * wholly before it (the delete drops them, metadata only) and those holding rows on both sides
 * (the delete rewrites them). A file without bounds counts as spanning.
 */
function filesSql(rule: SparkTableRule, cutoff: string): string {
  const lower = `readable_metrics.${rule.dateColumn}.lower_bound`
  const upper = `readable_metrics.${rule.dateColumn}.upper_bound`
  const date = `DATE ${sqlString(cutoff)}`
  const whole = `${upper} < ${date}`
  const spanning = `(${lower} IS NULL OR ${upper} IS NULL OR (${lower} < ${date} AND ${upper} >= ${date}))`
  return `SELECT count(*),
            sum(CASE WHEN ${whole} THEN file_size_in_bytes END), sum(CASE WHEN ${whole} THEN record_count END),
            count_if(${spanning}), sum(CASE WHEN ${spanning} THEN file_size_in_bytes END), sum(CASE WHEN ${spanning} THEN record_count END)
          FROM ${rule.table}.data_files`
}

/** engine.ts retentionStats: one request for every table. */
export async function retentionStats(session: SparkSql, tables: SparkTables, requests: Array<{target: RetentionTarget; cutoff: string}>): Promise<RetentionStats[]> {
  if (requests.length === 0) return []
  const statements = requests.flatMap(({target, cutoff}) => {
    const rule = sparkTableRule(tables, target)
    const kept = `${rule.dateColumn} >= DATE ${sqlString(cutoff)}`
    return [
      byDaySql(rule, cutoff),
      `SELECT count_if(${kept}), min(CASE WHEN ${kept} THEN ${rule.micros} END), max(CASE WHEN ${kept} THEN ${rule.micros} END) FROM ${rule.table}`,
      filesSql(rule, cutoff),
    ]
  })
  const results = await session.sql(statements)
  return requests.map(({target}, index) => {
    const [byDay, kept, files] = results.slice(index * 3, index * 3 + 3)
    const expiredByDay = dayCounts(byDay.rows)
    const rows = expiredByDay.reduce((sum, day) => sum + day.rows, 0)
    const [keptRows, oldest, newest] = kept.rows[0]
    const [dataFiles, wholeBytes, wholeRows, spanningFiles, spanningBytes, spanningRows] = files.rows[0].map(num)
    return {
      target,
      expiredByDay,
      rowsKept: num(keptRows),
      oldestKeptMicros: oldest === null ? null : Number(oldest),
      newestKeptMicros: newest === null ? null : Number(newest),
      bytesEstimate: rows === 0 ? 0 : dataFiles === 0 ? null : estimateBytes(rows, {wholeBytes, wholeRows, spanningBytes, spanningRows}),
      filesToRewrite: rows === 0 ? 0 : spanningFiles,
    }
  })
}

/**
 * The files dropped whole count with their size; of the files rewritten, the expired rows' share of
 * their size (the rows not in whole files are in them).
 */
function estimateBytes(rows: number, files: {wholeBytes: number; wholeRows: number; spanningBytes: number; spanningRows: number}): number {
  const inSpanning = Math.max(0, rows - files.wholeRows)
  const share = files.spanningRows === 0 ? 0 : Math.min(1, inSpanning / files.spanningRows)
  return Math.round(files.wholeBytes + files.spanningBytes * share)
}

/** engine.ts countExpired: one request. */
export async function countExpired(session: SparkSql, tables: SparkTables, requests: Array<{target: RetentionTarget; cutoff: string}>): Promise<number[]> {
  if (requests.length === 0) return []
  const results = await session.sql(requests.map(({target, cutoff}) => {
    const rule = sparkTableRule(tables, target)
    return `SELECT count(*) FROM ${rule.table} WHERE ${expired(rule, cutoff)}`
  }))
  return results.map((result) => num(result.rows[0]?.[0]))
}

const currentSnapshotSql = (table: string): string =>
  `SELECT CAST(snapshot_id AS STRING), unix_micros(made_current_at) FROM ${table}.history WHERE is_current_ancestor ORDER BY made_current_at DESC LIMIT 1`

/**
 * engine.ts deleteExpired: one DELETE, one Iceberg commit. `guard.found` sees the expired rows before
 * it; `guard.deleted` the rows the commit deleted (its snapshot's summary). When the guard throws after
 * the commit, the table is put back whole: rolled back to the snapshot before it when nothing was
 * committed on top since, otherwise (an ingest beside it) by adding back the rows it deleted.
 */
export async function deleteExpired(session: SparkSql, tables: SparkTables, target: RetentionTarget, cutoff: string, guard: DeletionGuard): Promise<number> {
  const rule = sparkTableRule(tables, target)
  const [before, byDay] = await session.sql([currentSnapshotSql(rule.table), byDaySql(rule, cutoff)])
  guard.found(dayCounts(byDay.rows))
  const [beforeId, beforeAt] = before.rows[0] ?? [null, null]
  const since = beforeAt === null ? '' : `AND unix_micros(h.made_current_at) > ${Number(beforeAt)}`
  const [, commits, current] = await session.sql([
    `DELETE FROM ${rule.table} WHERE ${expired(rule, cutoff)}`,
    // The deletion's commit: the one delete or overwrite made current since (ingest only appends).
    `SELECT CAST(s.snapshot_id AS STRING), CAST(s.parent_id AS STRING), s.summary['deleted-records'], s.summary['added-records'], s.summary['added-position-deletes']
     FROM ${rule.table}.snapshots s JOIN ${rule.table}.history h ON s.snapshot_id = h.snapshot_id
     WHERE h.is_current_ancestor AND s.operation IN ('delete', 'overwrite') ${since} ORDER BY h.made_current_at`,
    currentSnapshotSql(rule.table),
  ])
  // Only another writer outside k2ops' lock could add one: the rows this deletion removed cannot be told apart then.
  if (commits.rows.length > 1) throw new Error(`${rule.table}: ${commits.rows.length} deleting commits since the plan (another writer?); the deletion is committed but not counted, check the table's snapshots`)
  const commit = commits.rows[0]
  if (!commit) {
    guard.deleted(0)
    return 0
  }

  const [snapshotId, parentId, deletedRecords, addedRecords, positionDeletes] = commit
  const deleted = num(deletedRecords) - num(addedRecords) + num(positionDeletes)
  try {
    guard.deleted(deleted)
  } catch (error) {
    await undoDeletion(session, tables, rule, {snapshotId: String(snapshotId), parentId: parentId === null ? String(beforeId) : String(parentId), current: String(current.rows[0]?.[0]), cutoff})
    throw error
  }

  return deleted
}

async function undoDeletion(session: SparkSql, tables: SparkTables, rule: SparkTableRule, commit: {snapshotId: string; parentId: string; current: string; cutoff: string}): Promise<void> {
  if (commit.current === commit.snapshotId) {
    await session.sql([`CALL ${sqlName(tables.target.catalog)}.system.rollback_to_snapshot(${sqlString(rule.identifier)}, ${commit.parentId}L)`])
    return
  }

  // Commits on top of the deletion must stay: its rows are added back instead (the parent's rows before the cutoff are exactly them).
  await session.sql([`INSERT INTO ${rule.table} SELECT * FROM ${rule.table} VERSION AS OF ${commit.parentId} WHERE ${expired(rule, commit.cutoff)}`])
}
