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
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'

import type {IngestOptions, RowSource, StagedTape} from './ingest-types.js'
import type {Warehouse} from '../warehouse.js'

import {BadInputError, UsageError} from '../errors.js'
import {MAX_DECIMALS, PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS, decimalProblemSql} from './decimal-text.js'
import {NAME_PATTERN_SQL, nameReason, normaliseExchange, normaliseSymbol} from './market-names.js'
import {rejectsPath} from './rejects-file.js'
import {quantitySql, sqlLiteral} from './staged-sql.js'
import {MAX_MICROS_EXCLUSIVE, MIN_MICROS_16_DIGITS, contractMicrosProblemSql} from './time-text.js'
import {HISTOGRAM_BUCKETS, TimeHistogram} from './time-slices.js'

const REQUIRED = ['trade_id', 'symbol', 'exchange', 'timestamp', 'price', 'quantity']
const OPTIONAL = ['side', 'source_sequence']

/** Decimal digits of the largest value of each whole-number type. */
const INTEGER_DIGITS: Record<string, number> = {
  TINYINT: 3,
  SMALLINT: 5,
  INTEGER: 10,
  BIGINT: 19,
  HUGEINT: 39,
  UTINYINT: 3,
  USMALLINT: 5,
  UINTEGER: 10,
  UBIGINT: 20,
}
const SIGNED_UP_TO_BIGINT = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT'])
const BIGINT_MAX = '9223372036854775807'

export async function stageParquet(warehouse: Warehouse, file: string, fileSize: number, options: IngestOptions): Promise<StagedTape> {
  const types = await columnTypes(warehouse, file)
  const symbolOverride = options.symbol === undefined ? undefined : normaliseSymbol(options.symbol)
  const exchangeOverride = options.exchange === undefined ? undefined : normaliseExchange(options.exchange)
  const missing = REQUIRED.filter((c) => !types.has(c) && !(c === 'symbol' && symbolOverride) && !(c === 'exchange' && exchangeOverride))
  if (missing.length > 0) {
    throw new UsageError(`${file}: the Parquet file has no ${missing.join(', ')} column${missing.length > 1 ? 's' : ''} (a k2 tape has ${REQUIRED.join(', ')})`, {
      code: 'unknown_format',
    })
  }

  const sql = new ParquetSql(file, types, symbolOverride, exchangeOverride)
  let stats: Record<string, bigint | string | null>
  try {
    stats = await warehouse.one<Record<string, bigint | string | null>>(`SELECT
        count(*) AS rows, count(*) FILTER (WHERE bad_field IS NOT NULL) AS bad,
        min(ts) FILTER (WHERE bad_field IS NULL) AS lo, max(ts) FILTER (WHERE bad_field IS NULL) AS hi,
        count(DISTINCT symbol) FILTER (WHERE bad_field IS NULL) AS symbols, min(symbol) FILTER (WHERE bad_field IS NULL) AS symbol,
        count(DISTINCT exchange) FILTER (WHERE bad_field IS NULL) AS exchanges, min(exchange) FILTER (WHERE bad_field IS NULL) AS exchange,
        min(rn) FILTER (WHERE bad_field IS NOT NULL) AS first_bad,
        arg_min(bad_field, rn) FILTER (WHERE bad_field IS NOT NULL) AS first_field,
        arg_min(bad_reason, rn) FILTER (WHERE bad_field IS NOT NULL) AS first_reason
      FROM (${sql.checked(`${sql.tsLoose} AS ts, ${sql.symbol} AS symbol, ${sql.exchange} AS exchange`)})`)
  } catch (error) {
    if (isOutOfMemory(error)) throw error
    throw new BadInputError(`${file}: cannot read the Parquet file (${firstLine((error as Error).message)})`)
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

/** The SQL pieces over one Parquet file's columns. */
class ParquetSql {
  readonly source: string
  readonly symbol: string
  readonly exchange: string
  /** The checks in the order row-parsers.ts applies them to a k2 CSV row: [field, NULL or why]. */
  private readonly checks: [string, string][]

  constructor(
    private readonly file: string,
    private readonly types: Map<string, string>,
    symbolOverride: string | undefined,
    exchangeOverride: string | undefined,
  ) {
    this.source = `read_parquet(${sqlLiteral(file)}, file_row_number = true)`
    this.symbol = symbolOverride === undefined ? `upper(replace(replace(${this.text('symbol')}, '/', ''), '-', ''))` : sqlLiteral(symbolOverride)
    this.exchange = exchangeOverride === undefined ? `upper(${this.text('exchange')})` : sqlLiteral(exchangeOverride)
    const side = this.text('side')
    const sequence = this.text('source_sequence')
    this.checks = [
      ['trade_id', `CASE WHEN ${this.text('trade_id')} IS NULL OR ${this.text('trade_id')} = '' THEN 'is empty' END`],
      ['symbol', symbolOverride === undefined ? nameProblemSql(this.text('symbol'), this.symbol) : 'NULL'],
      ['exchange', exchangeOverride === undefined ? nameProblemSql(this.text('exchange'), this.exchange) : 'NULL'],
      ['price', this.quick(this.decimalFast('price', PRICE_INTEGER_DIGITS), decimalProblemSql(this.text('price'), PRICE_INTEGER_DIGITS))],
      ['quantity', this.quick(this.decimalFast('quantity', QUANTITY_INTEGER_DIGITS), decimalProblemSql(this.text('quantity'), QUANTITY_INTEGER_DIGITS))],
      [
        'side',
        this.types.has('side') ? `CASE WHEN ${side} <> '' AND upper(${side}) NOT IN ('BUY', 'SELL') THEN 'expected BUY, SELL or nothing, got ''' || ${side} || '''' END` : 'NULL',
      ],
      [
        'source_sequence',
        this.types.has('source_sequence')
          ? this.quick(
              this.sequenceFast(),
              `CASE WHEN ${sequence} IS NULL OR ${sequence} = '' THEN NULL
                WHEN NOT regexp_full_match(${sequence}, '[0-9]+') THEN '''' || ${sequence} || ''' is not a whole number'
                WHEN TRY_CAST(${sequence} AS BIGINT) IS NULL THEN '''' || ${sequence} || ''' is too large' END`,
            )
          : 'NULL',
      ],
      ['timestamp', this.quick(this.timestampFast(), contractMicrosProblemSql(this.text('timestamp')))],
    ]
  }

  /** `rn`, `bad_field`, `bad_reason` and `extra` (expressions over the file's columns) for every row. */
  checked(extra: string): string {
    const problems = this.checks.map(([name, sql]) => `(${sql}) AS "problem_${name}"`).join(', ')
    return `SELECT rn, * EXCLUDE (rn),
        CASE ${this.checks.map(([name]) => `WHEN "problem_${name}" IS NOT NULL THEN '${name}'`).join(' ')} END AS bad_field,
        coalesce(${this.checks.map(([name]) => `"problem_${name}"`).join(', ')}) AS bad_reason
      FROM (SELECT file_row_number + 1 AS rn, ${extra}, ${problems} FROM ${this.source})`
  }

  /** True for a row that passes every check. */
  get good(): string {
    return `(${this.checks.map(([, sql]) => `(${sql}) IS NULL`).join(' AND ')})`
  }

  /** The contract columns of a good row. */
  get values(): string {
    const side = this.types.has('side') ? `NULLIF(upper(${this.text('side')}), '')` : 'CAST(NULL AS VARCHAR)'
    const sequenceType = this.types.get('source_sequence')
    const sequence =
      sequenceType === undefined
        ? 'CAST(NULL AS BIGINT)'
        : sequenceType in INTEGER_DIGITS
          ? `CAST(${this.column('source_sequence')} AS BIGINT)`
          : `CAST(NULLIF(${this.text('source_sequence')}, '') AS BIGINT)`
    return `${this.text('trade_id')} AS trade_id, ${this.symbol} AS symbol, ${this.exchange} AS exchange,
      CAST(${this.tsValue} AS BIGINT) AS "timestamp",
      ${this.exactDecimal('price') ? `CAST(${this.column('price')} AS DECIMAL(18,8))` : `CAST(${this.text('price')} AS DECIMAL(18,8))`} AS price,
      ${this.exactDecimal('quantity') ? `CAST(${this.column('quantity')} AS DECIMAL(38,8))` : quantitySql(this.text('quantity'))} AS quantity,
      ${side} AS side, ${sequence} AS source_sequence`
  }

  /** The timestamp in µs as a number (the text for other types), without failing on a bad row. */
  get tsLoose(): string {
    return `TRY_CAST(${this.tsValue} AS BIGINT)`
  }

  /**
   * What a timestamp range filters on: the column itself when it holds whole numbers (DuckDB
   * then skips row groups by their statistics), else the value.
   */
  get tsFilter(): string {
    return this.wholeNumber('timestamp') ? this.column('timestamp') : this.tsLoose
  }

  /** Row groups with their timestamp range, when the column is whole numbers with statistics. */
  get chunksSql(): string | undefined {
    if (!this.wholeNumber('timestamp')) return undefined
    return `SELECT row_group_num_rows AS n,
        coalesce(TRY_CAST(stats_min_value AS BIGINT), -9223372036854775807) AS lo,
        coalesce(TRY_CAST(stats_max_value AS BIGINT), 9223372036854775807) AS hi
      FROM parquet_metadata(${sqlLiteral(this.file)}) WHERE path_in_schema = ${sqlLiteral(this.name('timestamp'))}`
  }

  /** The column's values as text (NULL when the file has no such column). */
  text(name: string): string {
    const type = this.types.get(name)
    if (type === undefined) return 'CAST(NULL AS VARCHAR)'
    return type.startsWith('TIMESTAMP') ? `CAST(epoch_us(${this.column(name)}) AS VARCHAR)` : `CAST(${this.column(name)} AS VARCHAR)`
  }

  private get tsValue(): string {
    const type = this.types.get('timestamp')!
    if (type.startsWith('TIMESTAMP')) return `epoch_us(${this.column('timestamp')})`
    return this.wholeNumber('timestamp') ? this.column('timestamp') : this.text('timestamp')
  }

  private column(name: string): string {
    return `"${this.name(name).replaceAll('"', '""')}"`
  }

  private name(name: string): string {
    return this.types.get(`${name}\u0000name`)!
  }

  private wholeNumber(name: string): boolean {
    return (this.types.get(name) ?? '') in INTEGER_DIGITS
  }

  /** DECIMAL with at most 8 decimals, or a whole number: its text is plain digits, a value cast is exact. */
  private exactDecimal(name: string): boolean {
    const type = this.types.get(name) ?? ''
    const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type)
    return decimal ? Number(decimal[2]) <= MAX_DECIMALS : type in INTEGER_DIGITS
  }

  /** NULL for a value passing `fast` (which implies that `full` is NULL), else `full`. */
  private quick(fast: string | undefined, full: string): string {
    return fast === undefined ? full : `CASE WHEN ${fast} THEN NULL ELSE (${full}) END`
  }

  /** A test that implies decimalProblemSql(text, maxIntegerDigits) is NULL. */
  private decimalFast(name: string, maxIntegerDigits: number): string | undefined {
    const type = this.types.get(name)!
    const column = this.column(name)
    const decimal = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type)
    if (decimal) {
      // The text is [-]digits[.exactly scale digits]: positive and small enough is all to check.
      const [precision, scale] = [Number(decimal[1]), Number(decimal[2])]
      if (scale > MAX_DECIMALS) return undefined
      return precision - scale > maxIntegerDigits ? `${column} > 0 AND ${column} < CAST('1${'0'.repeat(maxIntegerDigits)}' AS ${type})` : `${column} > 0`
    }

    if (type in INTEGER_DIGITS) return INTEGER_DIGITS[type] > maxIntegerDigits ? `${column} > 0 AND ${column} < CAST('1${'0'.repeat(maxIntegerDigits)}' AS HUGEINT)` : `${column} > 0`
    if (type === 'VARCHAR') {
      // Digits (at most maxIntegerDigits after leading zeros), then maybe a point and digits with at
      // most 8 before trailing zeros, and not all zeros.
      return `regexp_full_match(${column}, '0*[0-9]{1,${maxIntegerDigits}}(\\.[0-9]{1,${MAX_DECIMALS}}0*)?') AND regexp_matches(${column}, '[1-9]')`
    }

    return undefined
  }

  /** A test that implies contractMicrosProblemSql(text) is NULL: 16 digits, no leading zero. */
  private timestampFast(): string | undefined {
    const type = this.types.get('timestamp')!
    const range = `BETWEEN ${MIN_MICROS_16_DIGITS} AND ${MAX_MICROS_EXCLUSIVE - 1}`
    if (type in INTEGER_DIGITS) return `${this.column('timestamp')} ${range}`
    if (type.startsWith('TIMESTAMP')) return `epoch_us(${this.column('timestamp')}) ${range}`
    if (type === 'VARCHAR') return `regexp_full_match(${this.column('timestamp')}, '[1-9][0-9]{15}')`
    return undefined
  }

  /** A test that implies the source_sequence check is NULL: empty, or a whole number that fits BIGINT. */
  private sequenceFast(): string | undefined {
    const type = this.types.get('source_sequence')!
    const column = this.column('source_sequence')
    if (SIGNED_UP_TO_BIGINT.has(type)) return `${column} IS NULL OR ${column} >= 0`
    if (type in INTEGER_DIGITS) return `${column} IS NULL OR ${column} BETWEEN 0 AND ${BIGINT_MAX}`
    if (type === 'VARCHAR') return `${column} IS NULL OR ${column} = '' OR regexp_full_match(${column}, '[0-9]{1,18}')`
    return undefined
  }

  /** The bad rows as the rejects file shows them. */
  rejectsSql(): string {
    const columns = [...REQUIRED, ...OPTIONAL]
    const raw = `concat_ws(',', ${columns.map((c) => `coalesce(${this.text(c)}, '')`).join(', ')})`
    return `SELECT rn AS line, bad_field AS field, bad_reason AS reason, raw
      FROM (${this.checked(`${raw} AS raw`)}) WHERE bad_field IS NOT NULL ORDER BY rn`
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

async function writeRejects(warehouse: Warehouse, sql: ParquetSql, path: string): Promise<void> {
  try {
    mkdirSync(dirname(path), {recursive: true})
  } catch (error) {
    throw new UsageError(`${path}: cannot write the rejected rows (${(error as Error).message})`, {code: 'rejects_unwritable'})
  }

  await warehouse.run(`COPY (${sql.rejectsSql()}) TO ${sqlLiteral(path)} (FORMAT csv, HEADER true)`)
}

function firstLine(text: string): string {
  return text.split('\n')[0]
}
