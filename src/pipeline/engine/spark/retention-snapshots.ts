import type {ReclaimedSpace} from '../engine.js'
import type {SparkResult, SparkSql} from './spark-engine.js'
import type {SparkTableRule} from './retention.js'
import type {SparkTables} from './tables.js'

import {sqlName, sqlString} from './sql-text.js'

// After a retention delete the deleted files are still referenced by the table's older snapshots
// (time travel), so nothing is freed yet: expiring those snapshots removes the files.

/** The bytes of every data and delete file any snapshot of the table references. */
function referencedBytesSql(table: string): string {
  return `SELECT coalesce(sum(file_size_in_bytes), 0) FROM (SELECT DISTINCT file_path, file_size_in_bytes FROM ${table}.all_files)`
}

/** engine.ts storageBytes: the statements that count the files the target's tables reference, by any snapshot. */
export function storageBytesSql(tables: SparkTables): string[] {
  return tables.definitions().map((table) => referencedBytesSql(table.name))
}

export function readStorageBytes(results: SparkResult[]): number {
  return results.reduce((sum, result) => sum + Number(result.rows[0]?.[0] ?? 0), 0)
}

/**
 * Expires every snapshot but the current one of each table retention changed (one request), so the
 * files only they referenced (the deleted rows) are removed. The current snapshot holds every row
 * that is kept, so no data is lost; what goes is the tables' history (time travel before now).
 */
export async function expireSnapshots(session: SparkSql, tables: SparkTables, changed: SparkTableRule[], nowMs: number): Promise<ReclaimedSpace> {
  if (changed.length === 0) return {tables: [], snapshotsExpired: 0, filesDeleted: 0}
  const olderThan = `TIMESTAMP ${sqlString(new Date(nowMs).toISOString().replace('T', ' ').replace('Z', ''))}`
  const statements = changed.flatMap((rule) => [
    `SELECT count(*) FROM ${rule.table}.snapshots`,
    `CALL ${sqlName(tables.target.catalog)}.system.expire_snapshots(table => ${sqlString(rule.identifier)}, older_than => ${olderThan}, retain_last => 1)`,
    `SELECT count(*) FROM ${rule.table}.snapshots`,
  ])
  const results = await session.sql(statements)
  let snapshotsExpired = 0
  let filesDeleted = 0
  for (const [index] of changed.entries()) {
    const [before, expired, after] = results.slice(index * 3, index * 3 + 3)
    snapshotsExpired += Number(before.rows[0]?.[0] ?? 0) - Number(after.rows[0]?.[0] ?? 0)
    // deleted_data_files_count, deleted_position_delete_files_count, deleted_equality_delete_files_count, then manifests.
    const counts = Object.fromEntries(expired.columns.map((column, i) => [column, Number(expired.rows[0]?.[i] ?? 0)]))
    filesDeleted += (counts.deleted_data_files_count ?? 0) + (counts.deleted_position_delete_files_count ?? 0) + (counts.deleted_equality_delete_files_count ?? 0)
  }

  return {tables: changed.map((rule) => rule.identifier), snapshotsExpired, filesDeleted}
}
