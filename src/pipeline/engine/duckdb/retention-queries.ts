import type {RetentionTarget} from '../../retention-policy.js'
import type {DayCount, DeletionGuard, RetentionStats} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {existsSync, statSync} from 'node:fs'

import {TRADES_TABLE} from '../../schema.js'
import {TIMEFRAME_SPECS} from '../../timeframes.js'

// Retention's SQL: what a cutoff expires, and deleting it (the plan and its rules: pipeline/retention.ts).

/** How a target's table is dated: the date column the rule compares, and its rows' instant in µs (SQL). */
interface TableRule {
  table: string
  dateColumn: 'window_date' | 'exchange_date'
  micros: string
}

function tableRule(target: RetentionTarget): TableRule {
  if (target === 'trades') return {table: TRADES_TABLE, dateColumn: 'exchange_date', micros: '"timestamp"'}
  return {table: TIMEFRAME_SPECS[target].table, dateColumn: 'window_date', micros: 'epoch_us(window_start)'}
}

/** The one predicate of retention, used by the plan and by the deletion alike. */
function expiredCondition(rule: TableRule): string {
  return `${rule.dateColumn} < $cutoff::DATE`
}

/** engine.ts retentionStats. */
export async function retentionStats(warehouse: Warehouse, tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<RetentionStats[]> {
  const stats: RetentionStats[] = []
  for (const {target, cutoff} of tables) {
    const rule = tableRule(target)
    const expiredByDay = await expiredByDayOf(warehouse, rule, cutoff)
    const kept = await warehouse.one<{rows: bigint; oldest: bigint | null; newest: bigint | null; total: bigint}>(
      `SELECT count(*) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS rows,
              min(${rule.micros}) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS oldest,
              max(${rule.micros}) FILTER (WHERE ${rule.dateColumn} >= $cutoff::DATE) AS newest,
              count(*) AS total
       FROM ${rule.table}`,
      {cutoff},
    )
    const rows = expiredByDay.reduce((sum, day) => sum + day.rows, 0)
    stats.push({
      target,
      expiredByDay,
      rowsKept: Number(kept.rows),
      oldestKeptMicros: kept.oldest === null ? null : Number(kept.oldest),
      newestKeptMicros: kept.newest === null ? null : Number(kept.newest),
      bytesEstimate: rows === 0 ? 0 : await estimateBytes(warehouse, rule.table, rows, Number(kept.total)),
      filesToRewrite: 0,
    })
  }

  return stats
}

async function expiredByDayOf(warehouse: Warehouse, rule: TableRule, cutoff: string): Promise<DayCount[]> {
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

/** engine.ts deleteExpired: one transaction, rolled back when `guard` throws. */
export async function deleteExpired(warehouse: Warehouse, target: RetentionTarget, cutoff: string, guard: DeletionGuard): Promise<number> {
  const rule = tableRule(target)
  return warehouse.transaction(async () => {
    guard.found(await expiredByDayOf(warehouse, rule, cutoff))
    const result = await warehouse.connection.run(`DELETE FROM ${rule.table} WHERE ${expiredCondition(rule)}`, {cutoff})
    const deleted = Number(result.rowsChanged)
    guard.deleted(deleted)
    return deleted
  })
}

/** engine.ts countExpired. */
export async function countExpired(warehouse: Warehouse, tables: Array<{target: RetentionTarget; cutoff: string}>): Promise<number[]> {
  const counts: number[] = []
  for (const {target, cutoff} of tables) {
    const rule = tableRule(target)
    const {rows} = await warehouse.one<{rows: bigint}>(`SELECT count(*) AS rows FROM ${rule.table} WHERE ${expiredCondition(rule)}`, {cutoff})
    counts.push(Number(rows))
  }

  return counts
}

/** CHECKPOINT: DuckDB can then reuse (and at the file's end, give back) the space of deleted rows. */
export async function checkpoint(warehouse: Warehouse): Promise<void> {
  await warehouse.run('CHECKPOINT')
}

/** The warehouse's size on disk with its write-ahead log. */
export function fileBytes(path: string): number {
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0)
  return size(path) + size(`${path}.wal`)
}
