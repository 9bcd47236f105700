import type {MaintenancePolicy} from '../engine.js'
import type {SparkTables} from './tables.js'

import {sqlName, sqlString} from './sql-text.js'

/** One table as maintenance addresses it. */
export interface MaintainedTable {
  /** Qualified and quoted, for SELECT (`iceberg`.`market_data`.`gold_ohlcv_1m`). */
  name: string
  /** `market_data.gold_ohlcv_1m`: the procedures' table argument, and the name people read. */
  ident: string
  /** The DATE column the table is partitioned by (undefined: not partitioned). */
  dateColumn?: string
}

/** Iceberg's default `write.target-file-size-bytes`. */
export const DEFAULT_TARGET_FILE_BYTES = 512 * 1024 * 1024
/** rewrite_data_files' default `min-file-size-bytes`: files below 75 % of the target are small. */
export const SMALL_FILE_SHARE = 0.75

/** The policy with the expiry's cut taken now: snapshots committed before expireBeforeMs may go. */
export type Cuts = MaintenancePolicy & {expireBeforeMs: number}

export function cutsNow(policy: MaintenancePolicy): Cuts {
  return {...policy, expireBeforeMs: Date.now() - policy.snapshotAgeMs}
}

/** Every table k2ops keeps: the trades, the five candle tables, the marks and the ingested files. */
export function maintainedTables(tables: SparkTables): MaintainedTable[] {
  const catalog = `${sqlName(tables.target.catalog)}.`
  return tables.definitions().map((table) => ({
    name: table.name,
    // The parts are checked identifiers (letters, digits, _): without their quotes they name the same table.
    ident: table.name.slice(catalog.length).replaceAll('`', ''),
    dateColumn: /exchange_date/.test(table.partitionedBy ?? '') ? 'exchange_date' : table.partitionedBy ? 'window_date' : undefined,
  }))
}

/** A TIMESTAMP literal of a ms instant (the session time zone is UTC): procedures take literals. */
export function sqlTimestampMillis(ms: number): string {
  return `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`
}

/** Snapshots; the current snapshot's data files and bytes; every kept snapshot's data files and bytes. */
export function figuresSql(table: MaintainedTable): string {
  return `SELECT (SELECT count(*) FROM ${table.name}.snapshots),
    (SELECT count(*) FROM ${table.name}.data_files), (SELECT coalesce(sum(file_size_in_bytes), 0) FROM ${table.name}.data_files),
    (SELECT count(*) FROM (SELECT DISTINCT file_path FROM ${table.name}.all_data_files)),
    (SELECT coalesce(sum(file_size_in_bytes), 0) FROM (SELECT DISTINCT file_path, file_size_in_bytes FROM ${table.name}.all_data_files))`
}

export function targetSizeSql(table: MaintainedTable): string {
  return `SHOW TBLPROPERTIES ${table.name} ('write.target-file-size-bytes')`
}

/**
 * The data files added since the last run, and the span of dates they hold (from their column
 * statistics): the partitions to compact. Entries of files deleted since are left out, and so are
 * the files of compactions (`replace` snapshots: the same rows, rewritten by the last run).
 */
export function writtenSinceSql(table: MaintainedTable, sinceMs: number): string {
  const span = table.dateColumn
    ? `CAST(min(readable_metrics.${table.dateColumn}.lower_bound) AS STRING), CAST(max(readable_metrics.${table.dateColumn}.upper_bound) AS STRING)`
    : 'CAST(NULL AS STRING), CAST(NULL AS STRING)'
  return `SELECT ${span}, count(*) FROM ${table.name}.entries
    WHERE status <> 2 AND data_file.content = 0
      AND snapshot_id IN (SELECT snapshot_id FROM ${table.name}.snapshots WHERE committed_at >= ${sqlTimestampMillis(sinceMs)} AND operation <> 'replace')`
}

/** The dates to compact: every partition (undefined), or those of [first, last]. */
export type Written = {first: string; last: string} | undefined

function datePredicate(column: string, written: {first: string; last: string}): string {
  return `${column} >= DATE ${sqlString(written.first)} AND ${column} <= DATE ${sqlString(written.last)}`
}

/** What a dry run reads per table: the small files to compact, the manifests, the snapshots to expire. */
export function planSql(table: MaintainedTable, written: Written, targetBytes: number, policy: Cuts, catalog: string): string[] {
  const overlap = written && table.dateColumn
    ? ` AND readable_metrics.${table.dateColumn}.upper_bound >= DATE ${sqlString(written.first)} AND readable_metrics.${table.dateColumn}.lower_bound <= DATE ${sqlString(written.last)}`
    : ''
  const group = table.dateColumn ? 'GROUP BY partition ' : ''
  return [
    `SELECT coalesce(sum(n), 0), count(*) FROM (SELECT count(*) AS n FROM ${table.name}.data_files
       WHERE file_size_in_bytes < ${Math.floor(targetBytes * SMALL_FILE_SHARE)}${overlap} ${group}HAVING count(*) >= 2)`,
    `SELECT count(*) FROM ${table.name}.manifests`,
    `SELECT count(*) FROM (SELECT committed_at, row_number() OVER (ORDER BY committed_at DESC) AS newest FROM ${table.name}.snapshots)
       WHERE newest > ${policy.retainLast} AND committed_at < ${sqlTimestampMillis(policy.expireBeforeMs)}`,
    removeOrphansSql(table, policy, catalog, true),
  ]
}

/**
 * The four procedures, in the order that frees the most: compaction and the manifest rewrite first
 * (each a new snapshot), then the expiry, which deletes the files only expired snapshots still
 * referenced, then the orphan files (written by no commit: a failed or killed write).
 */
export function stepsSql(table: MaintainedTable, written: Written, policy: Cuts, catalog: string): string[] {
  const procedure = (name: string) => `CALL ${sqlName(catalog)}.system.${name}`
  const where = written && table.dateColumn ? `, where => ${sqlString(datePredicate(table.dateColumn, written))}` : ''
  return [
    // Two small files of a partition are worth one: the same rule as the dry run's.
    `${procedure('rewrite_data_files')}(table => ${sqlString(table.ident)}${where}, options => map('min-input-files', '2'))`,
    `${procedure('rewrite_manifests')}(table => ${sqlString(table.ident)})`,
    `${procedure('expire_snapshots')}(table => ${sqlString(table.ident)}, older_than => ${sqlTimestampMillis(policy.expireBeforeMs)}, retain_last => ${policy.retainLast})`,
    removeOrphansSql(table, policy, catalog, false),
  ]
}

function removeOrphansSql(table: MaintainedTable, policy: MaintenancePolicy, catalog: string, dryRun: boolean): string {
  return `CALL ${sqlName(catalog)}.system.remove_orphan_files(table => ${sqlString(table.ident)}, older_than => ${sqlTimestampMillis(policy.orphansBeforeMs)}, dry_run => ${dryRun})`
}
