import type {IntegrityReport} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {ExitCode, K2Error} from '../../errors.js'
import {SCHEMA_TABLES} from '../../schema.js'
import {firstLine} from '../../words.js'

/**
 * DuckDB has no `PRAGMA integrity_check`. What it does have: opening read-write replays the WAL,
 * CHECKPOINT writes it into the file, and every block read from the file is checked against its
 * stored checksum ("Corrupt database file: computed checksum … does not match"). So, on a warehouse
 * opened read-write: check the schema, CHECKPOINT, then read every column of every table to its last row.
 */
export async function verifyWarehouse(warehouse: Warehouse, startedMs = Date.now()): Promise<IntegrityReport> {
  const {path} = warehouse
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

    return {tables, durationMs: Date.now() - startedMs}
  } catch (error) {
    throw new K2Error(`${path}: ${firstLine((error as Error).message)}`, {code: 'warehouse_corrupt', exit: ExitCode.failed, cause: error})
  }
}
