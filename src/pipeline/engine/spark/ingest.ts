import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import type {IngestOptions, IngestResult} from '../../ingest/ingest-types.js'
import type {SparkSql} from './spark-engine.js'

import {BadInputError} from '../../errors.js'
import {describedColumns} from './adopt.js'
import {sqlBigint, sqlInstant, sqlName, sqlString} from './sql-text.js'
import {SparkTables} from './tables.js'

// Appending a validated tape to the Iceberg trades table: the rows were checked by the strict
// parsers and written to a Parquet file (deduplicated within the file); here they are joined with
// the stored trades of the same keys, a key stored with other values rejects the file, and the
// rest is appended in one commit. Ingesting a file again adds nothing; a failure leaves the table
// as it was.

const FILE_VIEW = 'k2_ingest_file'
const MATCHES_VIEW = 'k2_ingest_matches'

/** Columns of the validated Parquet file; the table's other columns are derived or NULL. */
const FILE_COLUMNS = ['trade_id', 'symbol', 'exchange', 'timestamp', 'price', 'quantity', 'side', 'source_sequence', 'covered_trades', 'exchange_date']

export interface AppendRequest {
  /** The tape, for messages and the ingested-files record. */
  file: string
  parquet: string
  rows: number
  /** ingestion_timestamp of every row: after every stored one (callers take max(now, newest + 1)). */
  ingestionTimestamp: number
  nowMicros: number
}

function dropSql(): string[] {
  return [`UNCACHE TABLE IF EXISTS ${MATCHES_VIEW}`, `DROP VIEW IF EXISTS ${MATCHES_VIEW}`, `DROP VIEW IF EXISTS ${FILE_VIEW}`]
}

/** Appends the new trades of a validated file; returns how many were new. */
export async function appendValidated(session: SparkSql, tables: SparkTables, request: AppendRequest): Promise<number> {
  const keys = (a: string, b: string) => `${b}.exchange = ${a}.exchange AND ${b}.symbol = ${a}.symbol AND ${b}.trade_id = ${a}.trade_id`
  const results = await session.sql([
    ...dropSql(),
    `DESCRIBE TABLE ${tables.trades}`,
    `CREATE TEMPORARY VIEW ${FILE_VIEW} AS SELECT * FROM parquet.${sqlName(pathToFileURL(request.parquet).href)}`,
    `CACHE TABLE ${MATCHES_VIEW} AS
     SELECT f.exchange, f.symbol, f.trade_id,
            CASE WHEN f.\`timestamp\` <> t.\`timestamp\` THEN 'time' WHEN f.price <> t.price THEN 'price'
                 WHEN f.quantity <> t.quantity THEN 'quantity' END AS differs
     FROM ${FILE_VIEW} f JOIN ${tables.trades} t ON ${keys('f', 't')}`,
    `SELECT count(*), max_by(trade_id, differs IS NOT NULL), max_by(differs, differs IS NOT NULL) FROM ${MATCHES_VIEW}`,
  ])
  const columns = [...describedColumns(results.at(-4)!.rows).values()].map((column) => column.name)
  const [matched, conflictId, differs] = results.at(-1)!.rows[0]
  if (differs !== null && differs !== undefined) {
    await session.sql(dropSql())
    throw new BadInputError(`${request.file}: trade_id: ${String(conflictId)} already stored with a different ${String(differs)}; nothing from this file was stored`)
  }

  const inserted = request.rows - Number(matched)
  const statements: string[] = []
  if (inserted > 0) {
    const select = columns.map((name) => `${columnValue(name, request.ingestionTimestamp)} AS ${sqlName(name)}`).join(', ')
    statements.push(`INSERT INTO ${tables.trades} SELECT ${select} FROM ${FILE_VIEW} f LEFT ANTI JOIN ${MATCHES_VIEW} m ON ${keys('f', 'm')}`)
  }

  statements.push(`INSERT INTO ${tables.ingestedFiles} VALUES (${sqlString(tables.target.namespace)}, ${sqlBigint(request.ingestionTimestamp)},
    ${sqlString(request.file)}, ${sqlBigint(inserted)}, ${sqlInstant(request.nowMicros)})`)
  await session.sql([...statements, ...dropSql()])
  return inserted
}

/** What a trades-table column gets: the file's value, the derived ones, or NULL (an adopted table's own extra columns). */
function columnValue(name: string, ingestionTimestamp: number): string {
  const lower = name.toLowerCase()
  if (FILE_COLUMNS.includes(lower)) return `f.${sqlName(lower)}`
  if (lower === 'ingestion_timestamp') return sqlBigint(ingestionTimestamp)
  if (lower === 'exchange_hour') return 'hour(timestamp_micros(f.`timestamp`))'
  return 'NULL'
}

/** A tape checked by the strict parsers and written to Parquet (the embedded engine's exportValidated). */
export interface ValidatedTape extends Pick<IngestResult, 'file' | 'format' | 'exchange' | 'symbol' | 'rowsRead' | 'skippedNonMarket' | 'rejected' | 'rejectsFile'> {
  parquet: string
  rows: number
  duplicates: number
  minMicros?: number
  maxMicros?: number
}

export type TapeValidator = (file: string, options: IngestOptions, parquetOut: string) => Promise<ValidatedTape>

/**
 * engine.ts ingestFile on Spark: the tape is validated into a private scratch Parquet file, then
 * appended. Its ingestion_timestamp is after every stored one, so the flows see its trades as new.
 */
export async function ingestTape(session: SparkSql, tables: SparkTables, newestIngestion: () => Promise<number>, validate: TapeValidator, file: string, options: IngestOptions): Promise<IngestResult> {
  const scratch = mkdtempSync(join(tmpdir(), 'k2ops-ingest-'))
  try {
    const tape = await validate(file, options, join(scratch, 'validated.parquet'))
    const nowMicros = Math.floor(options.nowMicros)
    const ingestionTimestamp = Math.max(nowMicros, (await newestIngestion()) + 1)
    const inserted = tape.rows > 0 ? await appendValidated(session, tables, {file: resolve(file), parquet: tape.parquet, rows: tape.rows, ingestionTimestamp, nowMicros}) : 0
    return {
      file,
      format: tape.format,
      exchange: tape.exchange,
      symbol: tape.symbol,
      rowsRead: tape.rowsRead,
      inserted,
      duplicates: tape.duplicates + tape.rows - inserted,
      skippedNonMarket: tape.skippedNonMarket,
      rejected: tape.rejected,
      rejectsFile: tape.rejectsFile,
      firstTradeMicros: tape.minMicros,
      lastTradeMicros: tape.maxMicros,
      ingestionTimestamp,
    }
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}
