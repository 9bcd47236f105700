/**
 * A k2 Parquet tape: DuckDB reads it (`read_parquet`) into the staging table as text, and the same
 * rules as for CSV rows are checked in SQL; a bad row is reported as `FILE:row N: FIELD: …`
 * (N is the 1-based row number in the file).
 */
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import type {IngestOptions, StagedTape} from './ingest-types.js'
import type {Warehouse} from '../warehouse.js'
import type {Staging} from './staging.js'

import {BadInputError, UsageError} from '../errors.js'
import {PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS, decimalProblemSql} from './decimal-text.js'
import {NAME_PATTERN_SQL, nameReason, normaliseExchange, normaliseSymbol} from './market-names.js'
import {rejectsPath} from './rejects-file.js'
import {quantitySql, sqlLiteral} from './staged-sql.js'
import {contractMicrosProblemSql} from './time-text.js'

const REQUIRED = ['trade_id', 'symbol', 'exchange', 'timestamp', 'price', 'quantity']
const OPTIONAL = ['side', 'source_sequence']

export async function stageParquet(warehouse: Warehouse, file: string, fileSize: number, options: IngestOptions, staging: Staging): Promise<StagedTape> {
  const source = `read_parquet(${sqlLiteral(file)}, file_row_number = true)`
  const types = await columnTypes(warehouse, file)
  const symbolOverride = options.symbol === undefined ? undefined : normaliseSymbol(options.symbol)
  const exchangeOverride = options.exchange === undefined ? undefined : normaliseExchange(options.exchange)
  const missing = REQUIRED.filter((c) => !types.has(c) && !(c === 'symbol' && symbolOverride) && !(c === 'exchange' && exchangeOverride))
  if (missing.length > 0) {
    throw new UsageError(`${file}: the Parquet file has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} (a k2 tape has ${REQUIRED.join(', ')})`, {
      code: 'unknown_format',
    })
  }

  const text = (name: string): string => {
    const type = types.get(name)
    if (type === undefined) return 'CAST(NULL AS VARCHAR)'
    const column = `"${types.get(`${name}\u0000name`)!.replaceAll('"', '""')}"`
    return type.startsWith('TIMESTAMP') ? `CAST(epoch_us(${column}) AS VARCHAR)` : `CAST(${column} AS VARCHAR)`
  }

  const symbol = symbolOverride === undefined ? `upper(replace(replace(symbol, '/', ''), '-', ''))` : sqlLiteral(symbolOverride)
  const exchange = exchangeOverride === undefined ? 'upper(exchange)' : sqlLiteral(exchangeOverride)
  // The same checks, in the same order, as row-parsers.ts does for a k2 CSV row.
  const checks: [string, string][] = [
    ['trade_id', `CASE WHEN trade_id IS NULL OR trade_id = '' THEN 'is empty' END`],
    ['symbol', symbolOverride === undefined ? nameProblemSql('symbol', symbol) : 'NULL'],
    ['exchange', exchangeOverride === undefined ? nameProblemSql('exchange', exchange) : 'NULL'],
    ['price', decimalProblemSql('price', PRICE_INTEGER_DIGITS)],
    ['quantity', decimalProblemSql('quantity', QUANTITY_INTEGER_DIGITS)],
    ['side', `CASE WHEN side <> '' AND upper(side) NOT IN ('BUY', 'SELL') THEN 'expected BUY, SELL or nothing, got ''' || side || '''' END`],
    [
      'source_sequence',
      `CASE WHEN source_sequence IS NULL OR source_sequence = '' THEN NULL
        WHEN NOT regexp_full_match(source_sequence, '[0-9]+') THEN '''' || source_sequence || ''' is not a whole number'
        WHEN TRY_CAST(source_sequence AS BIGINT) IS NULL THEN '''' || source_sequence || ''' is too large' END`,
    ],
    ['timestamp', contractMicrosProblemSql('"timestamp"')],
  ]
  const columns = [...REQUIRED, ...OPTIONAL]
  try {
    await warehouse.run(`CREATE OR REPLACE TEMP TABLE ${staging.name} AS
      WITH texts AS (
        SELECT file_row_number + 1 AS rn, ${columns.map((c) => `${text(c)} AS "${c}"`).join(', ')} FROM ${source}
      ), checked AS (
        SELECT *, ${checks.map(([name, sql]) => `(${sql}) AS "problem_${name}"`).join(', ')} FROM texts
      )
      SELECT ${['rn', ...columns].map((c) => `"${c}"`).join(', ')},
        CASE ${checks.map(([name]) => `WHEN "problem_${name}" IS NOT NULL THEN '${name}'`).join(' ')} END AS bad_field,
        coalesce(${checks.map(([name]) => `"problem_${name}"`).join(', ')}) AS bad_reason
      FROM checked`)
  } catch (error) {
    throw new BadInputError(`${file}: cannot read the Parquet file (${firstLine((error as Error).message)})`)
  }

  const stats = await warehouse.one<Record<string, bigint | string | null>>(`SELECT
      count(*) AS rows, count(*) FILTER (WHERE bad_field IS NOT NULL) AS bad,
      min(TRY_CAST("timestamp" AS BIGINT)) FILTER (WHERE bad_field IS NULL) AS lo,
      max(TRY_CAST("timestamp" AS BIGINT)) FILTER (WHERE bad_field IS NULL) AS hi,
      count(DISTINCT ${symbol}) FILTER (WHERE bad_field IS NULL) AS symbols, min(${symbol}) FILTER (WHERE bad_field IS NULL) AS symbol,
      count(DISTINCT ${exchange}) FILTER (WHERE bad_field IS NULL) AS exchanges, min(${exchange}) FILTER (WHERE bad_field IS NULL) AS exchange
    FROM ${staging.table}`)
  const rowsRead = Number(stats.rows)
  const bad = Number(stats.bad)
  let rejectsFile: string | undefined
  if (bad > 0) {
    if (!options.skipBadRows) {
      const first = await warehouse.one<{rn: bigint; bad_field: string; bad_reason: string}>(
        `SELECT rn, bad_field, bad_reason FROM ${staging.table} WHERE bad_field IS NOT NULL ORDER BY rn LIMIT 1`,
      )
      throw new BadInputError(`${file}:row ${first.rn}: ${first.bad_field}: ${first.bad_reason}`, {
        hint: 'Nothing from this file was stored. Fix the row, or pass --skip-bad-rows to store the good rows and list the bad ones.',
      })
    }

    rejectsFile = rejectsPath(options.rejectsDir, file)
    await writeRejects(warehouse, staging.table, columns, rejectsFile)
  }

  options.onProgress?.({file, rows: rowsRead, bytesRead: fileSize, totalBytes: fileSize})
  const good = rowsRead - bad
  const one = (count: bigint | string | null, value: bigint | string | null): string => (Number(count) === 1 ? String(value) : '*')
  return {
    format: 'k2',
    parsedSql: `SELECT rn, trade_id, ${symbol} AS symbol, ${exchange} AS exchange, CAST("timestamp" AS BIGINT) AS "timestamp",
        CAST(price AS DECIMAL(18,8)) AS price, ${quantitySql('quantity')} AS quantity,
        NULLIF(upper(side), '') AS side, CAST(NULLIF(source_sequence, '') AS BIGINT) AS source_sequence
      FROM ${staging.table} WHERE bad_field IS NULL`,
    uniqueIds: false,
    exchange: exchangeOverride ?? one(stats.exchanges, stats.exchange),
    symbol: symbolOverride ?? one(stats.symbols, stats.symbol),
    rowsRead,
    staged: good,
    skippedNonMarket: 0,
    rejected: bad,
    rejectsFile,
    minMicros: good > 0 ? Number(stats.lo) : undefined,
    maxMicros: good > 0 ? Number(stats.hi) : undefined,
  }
}

/** Lower-cased column name → DuckDB type, plus `<name>\0name` → the name as written. */
async function columnTypes(warehouse: Warehouse, file: string): Promise<Map<string, string>> {
  let rows: {column_name: string; column_type: string}[]
  try {
    rows = await warehouse.all(`DESCRIBE SELECT * FROM read_parquet(${sqlLiteral(file)})`)
  } catch (error) {
    throw new BadInputError(`${file}: not a readable Parquet file (${firstLine((error as Error).message)})`)
  }

  const types = new Map<string, string>()
  for (const row of rows) {
    const key = row.column_name.toLowerCase()
    types.set(key, row.column_type)
    types.set(`${key}\u0000name`, row.column_name)
  }

  return types
}

function nameProblemSql(raw: string, normalised: string): string {
  const [before, after] = nameReason('\u0000').split('\u0000')
  return `CASE WHEN ${raw} IS NULL OR ${normalised} = '' THEN 'is empty'
    WHEN NOT regexp_full_match(${normalised}, '${NAME_PATTERN_SQL}') THEN ${sqlLiteral(before)} || ${raw} || ${sqlLiteral(after)} END`
}

async function writeRejects(warehouse: Warehouse, table: string, columns: string[], path: string): Promise<void> {
  try {
    mkdirSync(dirname(path), {recursive: true})
  } catch (error) {
    throw new UsageError(`${path}: cannot write the rejected rows (${(error as Error).message})`, {code: 'rejects_unwritable'})
  }

  const raw = `concat_ws(',', ${columns.map((c) => `coalesce("${c}", '')`).join(', ')})`
  await warehouse.run(`COPY (SELECT rn AS line, bad_field AS field, bad_reason AS reason, ${raw} AS raw
      FROM ${table} WHERE bad_field IS NOT NULL ORDER BY rn) TO ${sqlLiteral(path)} (FORMAT csv, HEADER true)`)
}

function firstLine(text: string): string {
  return text.split('\n')[0]
}
