import type {OpenOptions} from './engine/duckdb/warehouse.js'

import {ExitCode, K2Error} from './errors.js'
import {SCHEMA_TABLES} from './schema.js'
import {withWarehouse} from './engine/duckdb/warehouse.js'
import {firstLine} from './words.js'

export interface IntegrityReport {
  tables: Array<{table: string; rows: number}>
  durationMs: number
}

/**
 * DuckDB has no `PRAGMA integrity_check`. What it does have: opening read-write replays the WAL,
 * CHECKPOINT writes it into the file, and every block read from the file is checked against its
 * stored checksum ("Corrupt database file: computed checksum … does not match"). So: open, check
 * the schema, CHECKPOINT, then read every column of every table to its last row.
 */
export async function verifyWarehouse(path: string, options: OpenOptions): Promise<IntegrityReport> {
  const started = Date.now()
  return withWarehouse(path, options, async (warehouse) => {
    const present = new Set(
      (await warehouse.all<{name: string}>(`SELECT schema_name || '.' || table_name AS name FROM duckdb_tables() WHERE database_name = current_database()`)).map((row) => row.name),
    )
    const missing = SCHEMA_TABLES.filter((table) => !present.has(table))
    if (missing.length > 0) {
      throw new K2Error(`${path}: the warehouse lacks ${missing.join(', ')}`, {code: 'warehouse_schema', exit: ExitCode.failed})
    }

    try {
      await warehouse.run('CHECKPOINT')
      const tables: IntegrityReport['tables'] = []
      for (const table of SCHEMA_TABLES) {
        // hash() of every value of every column: DuckDB reads (and checksums) each block of the table.
        const row = await warehouse.one<{rows: bigint}>(`SELECT count(*) AS rows, bit_xor(hash(COLUMNS(*))) FROM ${table}`)
        tables.push({table, rows: Number(row.rows)})
      }

      return {tables, durationMs: Date.now() - started}
    } catch (error) {
      throw new K2Error(`${path}: ${firstLine((error as Error).message)}`, {code: 'warehouse_corrupt', exit: ExitCode.failed, cause: error})
    }
  })
}
