import type {IntegrityReport} from '../engine.js'
import type {SparkSql} from './spark-engine.js'
import type {SparkTables, TableDefinition} from './tables.js'

import {ExitCode, K2Error} from '../../errors.js'
import {firstLine} from '../../words.js'

/** Iceberg's answer when a file of the snapshot being read is gone (`NotFoundException: File does not exist: file:/…`). */
const MISSING_FILE = /File does not exist: (\S+?)(?=[\s)]|$)/

/**
 * Checks an Iceberg target as Spark reads it: every table loads (its metadata and manifests), and
 * the current snapshot's data and delete files are there. Spark answers `count(*)` from the
 * manifests alone, so each table is read whole (a hash of every column of every row): every data
 * file is opened, and every delete file with it. The check runs in the driver, where the catalog's
 * files are (a cluster's s3a:// included), not in this process.
 */
export async function verifySparkTarget(session: SparkSql, tables: SparkTables, startedMs = Date.now()): Promise<IntegrityReport & {files: number}> {
  const definitions = tables.definitions()
  const files = await listFiles(session, tables, definitions)
  let counts: Array<{columns: string[]; rows: unknown[][]}>
  try {
    counts = await session.sql(definitions.map((table) => `SELECT count(*), bit_xor(xxhash64(*)) FROM ${table.name}`))
  } catch (error) {
    const missing = MISSING_FILE.exec((error as Error).message)?.[1]
    if (!missing) throw damaged(tables, await failingTable(session, definitions, (table) => `SELECT count(*), bit_xor(xxhash64(*)) FROM ${table.name}`), error)
    const owner = files.find((entry) => entry.paths.has(missing))
    const kind = owner?.deletes.has(missing) ? 'delete file' : 'data file'
    throw new K2Error(`${owner ? label(tables, owner.table) : 'a table'}: ${kind} missing: ${missing}`, {
      code: 'spark_file_missing',
      exit: ExitCode.failed,
      hint: owner
        ? `The table cannot be read until the file is back: restore it from a backup, or roll the table back to an earlier snapshot (CALL ${tables.target.catalog}.system.rollback_to_snapshot('${label(tables, owner.table)}', SNAPSHOT_ID)) and rebuild what it lost (k2ops recover, k2ops backfill).`
        : 'The table cannot be read until the file is back: restore it from a backup.',
      cause: error,
    })
  }

  return {
    tables: definitions.map((table, index) => ({table: label(tables, table), rows: Number(counts[index].rows[0]?.[0] ?? 0)})),
    files: files.reduce((sum, entry) => sum + entry.paths.size, 0),
    durationMs: Date.now() - startedMs,
  }
}

interface TableFiles {
  table: TableDefinition
  /** Every data and delete file of the current snapshot. */
  paths: Set<string>
  deletes: Set<string>
}

/** The current snapshot's files of every table (Iceberg's `files` metadata table: data and delete files, `content` > 0 for deletes). */
async function listFiles(session: SparkSql, tables: SparkTables, definitions: TableDefinition[]): Promise<TableFiles[]> {
  const list = (table: TableDefinition) => `SELECT content, file_path FROM ${table.name}.files`
  let results: Array<{rows: unknown[][]}>
  try {
    results = await session.sql(definitions.map(list))
  } catch (error) {
    throw damaged(tables, await failingTable(session, definitions, list), error)
  }

  return definitions.map((table, index) => {
    const rows = results[index].rows
    return {table, paths: new Set(rows.map((row) => String(row[1]))), deletes: new Set(rows.filter((row) => Number(row[0]) > 0).map((row) => String(row[1])))}
  })
}

/** The first table whose statement fails alone (a batch stops at its first failure without saying which). */
async function failingTable(session: SparkSql, definitions: TableDefinition[], statement: (table: TableDefinition) => string): Promise<{table: TableDefinition; error: unknown} | undefined> {
  for (const table of definitions) {
    try {
      await session.sql([statement(table)])
    } catch (error) {
      return {table, error}
    }
  }

  return undefined
}

/** A table as people know it: `market_data.gold_ohlcv_1m`, `k2ops_meta.flow_watermarks`. */
function label(tables: SparkTables, table: TableDefinition): string {
  return table.short.includes('.') ? table.short : `${tables.target.namespace}.${table.short}`
}

function damaged(tables: SparkTables, failure: {table: TableDefinition; error: unknown} | undefined, batchError: unknown): K2Error {
  const error = failure?.error ?? batchError
  const message = firstLine((error as Error).message).replace(/^Spark: /, '')
  return new K2Error(`${failure ? `${label(tables, failure.table)}: ` : ''}cannot be loaded: ${message}`, {
    code: 'spark_table_damaged',
    exit: ExitCode.failed,
    hint: (error as K2Error).hint,
    cause: error,
  })
}
