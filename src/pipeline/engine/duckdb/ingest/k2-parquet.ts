/**
 * A k2 Parquet tape is read where it is, never copied into a staging table: one pass checks every
 * row with the same rules as for CSV rows (in SQL, on the values' text) and gathers the counts,
 * and the rows are then read again by timestamp range to be stored (store-trades.ts); with a BIGINT
 * timestamp column, row groups outside the range are skipped by their statistics. A bad row is
 * reported as `FILE:row N: FIELD: …` (N is the 1-based row number in the file).
 *
 * The text checks (regular expressions over each value's text) cost most of the time, so for
 * values whose type already guarantees most of the rules (DECIMAL with at most 8 decimals, whole
 * numbers, a BIGINT timestamp) a cheap test on the value decides, and only a value failing it
 * goes through the text checks, which then say exactly what is wrong.
 */
import {dirname} from 'node:path'

import type {IngestOptions} from '../../../ingest/ingest-types.js'
import type {RowSource, StagedTape} from './staged-types.js'
import type {Warehouse} from '../warehouse.js'

import {BadInputError, UsageError} from '../../../errors.js'
import {PRIVATE_FILE_MODE, privateDir, tighten} from '../../../private-files.js'
import {normaliseExchange, normaliseSymbol} from '../../../ingest/market-names.js'
import {rejectsPath} from '../../../ingest/rejects-file.js'
import {sqlLiteral} from './staged-sql.js'
import {HISTOGRAM_BUCKETS, TimeHistogram} from '../../../ingest/time-slices.js'
import {ParquetSql, REQUIRED} from './k2-parquet-sql.js'
import {firstLine} from '../../../words.js'

/** `file` names the tape in messages; `readPath` is where DuckDB reads it (literal-path.ts). */
export async function stageParquet(warehouse: Warehouse, file: string, readPath: string, fileSize: number, options: IngestOptions): Promise<StagedTape> {
  const firstLineOf = (text: string): string => firstLine(text).replaceAll(readPath, file)
  const types = await columnTypes(warehouse, file, readPath, firstLineOf)
  const symbolOverride = options.symbol === undefined ? undefined : normaliseSymbol(options.symbol)
  const exchangeOverride = options.exchange === undefined ? undefined : normaliseExchange(options.exchange)
  const missing = REQUIRED.filter((c) => !types.has(c) && !(c === 'symbol' && symbolOverride) && !(c === 'exchange' && exchangeOverride))
  if (missing.length > 0) {
    throw new UsageError(`${file}: the Parquet file has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} (a k2 tape has ${REQUIRED.join(', ')})`, {
      code: 'unknown_format',
    })
  }

  const sql = new ParquetSql(readPath, types, symbolOverride, exchangeOverride, options.timeWindow!)
  let stats: Record<string, bigint | string | null>
  try {
    stats = await warehouse.one<Record<string, bigint | string | null>>(`SELECT
        count(*) AS rows, count(*) FILTER (WHERE bad_field IS NOT NULL) AS bad,
        min(ts) FILTER (WHERE bad_field IS NULL) AS lo, max(ts) FILTER (WHERE bad_field IS NULL) AS hi,
        count(DISTINCT symbol) FILTER (WHERE bad_field IS NULL) AS symbols, min(symbol) FILTER (WHERE bad_field IS NULL) AS symbol,
        count(DISTINCT exchange) FILTER (WHERE bad_field IS NULL) AS exchanges, min(exchange) FILTER (WHERE bad_field IS NULL) AS exchange,
        min(trade_id) FILTER (WHERE bad_field IS NULL) AS id_lo, max(trade_id) FILTER (WHERE bad_field IS NULL) AS id_hi,
        min(rn) FILTER (WHERE bad_field IS NOT NULL) AS first_bad,
        arg_min(bad_field, rn) FILTER (WHERE bad_field IS NOT NULL) AS first_field,
        arg_min(bad_reason, rn) FILTER (WHERE bad_field IS NOT NULL) AS first_reason
      FROM (${sql.checked(`${sql.tsLoose} AS ts, ${sql.symbol} AS symbol, ${sql.exchange} AS exchange, ${sql.text('trade_id')} AS trade_id`)})`)
  } catch (error) {
    if (isOutOfMemory(error)) throw error
    throw new BadInputError(`${file}: cannot read the Parquet file (${firstLineOf((error as Error).message)})`)
  }

  const rowsRead = Number(stats.rows)
  const bad = Number(stats.bad)
  let rejectsFile: string | undefined
  if (bad > 0) {
    if (!options.skipBadRows) {
      throw new BadInputError(`${file}:row ${stats.first_bad}: ${stats.first_field}: ${stats.first_reason}`, {
        hint: 'Nothing from this file was stored. Fix the row, or pass --skip-bad-rows to store the good rows and list the bad ones.',
      })
    }

    rejectsFile = rejectsPath(options.rejectsDir, file)
    await writeRejects(warehouse, sql, rejectsFile)
  }

  options.onProgress?.({file, rows: rowsRead, bytesRead: fileSize, totalBytes: fileSize})
  const good = rowsRead - bad
  const lo = good > 0 ? Number(stats.lo) : undefined
  const hi = good > 0 ? Number(stats.hi) : undefined
  const goodOnly = bad > 0 ? `AND ${sql.good}` : ''
  const source: RowSource = {
    rangeSql: (from, to) => `SELECT file_row_number + 1 AS rn, ${sql.values}
      FROM ${sql.source} WHERE ${sql.tsFilter} BETWEEN ${from} AND ${to} ${goodOnly}`,
    chunksSql: sql.chunksSql,
    // Reading row groups is cheap: a 20M-row tape read 3.6 times over by 41 slices took 3.2 s,
    // cutting it into slice files 9 s.
    maxReadFactor: 8,
    histogram: async () => {
      const width = Math.max(1, Math.ceil((hi! - lo! + 1) / HISTOGRAM_BUCKETS))
      const rows = await warehouse.all<{k: bigint; n: bigint}>(`SELECT (ts - ${lo}) // ${width} AS k, count(*) AS n
        FROM (SELECT ${sql.tsLoose} AS ts FROM ${sql.source} WHERE ${sql.tsFilter} BETWEEN ${lo} AND ${hi} ${goodOnly}) GROUP BY k`)
      const histogram: TimeHistogram = {origin: lo!, width, counts: new Map()}
      for (const row of rows) histogram.counts.set(Number(row.k), Number(row.n))
      return histogram
    },
    uniqueIds: false,
    location: async (rn) => `row ${rn}`,
    idRange: good > 0 ? {lo: String(stats.id_lo), hi: String(stats.id_hi)} : undefined,
  }
  const one = (count: bigint | string | null, value: bigint | string | null): string => (Number(count) === 1 ? String(value) : '*')
  return {
    format: 'k2',
    source,
    exchange: exchangeOverride ?? one(stats.exchanges, stats.exchange),
    symbol: symbolOverride ?? one(stats.symbols, stats.symbol),
    rowsRead,
    staged: good,
    skippedNonMarket: 0,
    rejected: bad,
    rejectsFile,
    minMicros: lo,
    maxMicros: hi,
  }
}

export function isOutOfMemory(error: unknown): boolean {
  return /Out of Memory Error/i.test((error as Error)?.message ?? '')
}

/** Lower-cased column name → DuckDB type, plus `<name>\0name` → the name as written. */
export async function columnTypes(warehouse: Warehouse, file: string, readPath: string, messageOf: (text: string) => string): Promise<Map<string, string>> {
  let rows: {column_name: string; column_type: string}[]
  try {
    rows = await warehouse.all(`DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(readPath)})`)
  } catch (error) {
    throw new BadInputError(`${file}: not a readable Parquet file (${messageOf((error as Error).message)})`)
  }

  const types = new Map<string, string>()
  for (const row of rows) {
    const key = row.column_name.toLowerCase()
    types.set(key, row.column_type)
    types.set(`${key}\u0000name`, row.column_name)
  }

  return types
}

async function writeRejects(warehouse: Warehouse, sql: ParquetSql, path: string): Promise<void> {
  try {
    privateDir(dirname(path))
  } catch (error) {
    throw new UsageError(`${path}: cannot write the rejected rows (${(error as Error).message})`, {code: 'rejects_unwritable'})
  }

  await warehouse.run(`COPY (${sql.rejectsSql()}) TO ${sqlLiteral(path)} (FORMAT csv, HEADER true)`)
  // DuckDB creates the file with the umask's mode.
  tighten(path, PRIVATE_FILE_MODE)
}
