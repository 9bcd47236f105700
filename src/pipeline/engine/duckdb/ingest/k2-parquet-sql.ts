/**
 * The SQL over one k2 Parquet file's columns: each value checked with the same rules as a k2 CSV
 * row (see k2-parquet.ts for how it is read and stored).
 */
import {MAX_DECIMALS, PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS} from '../../../ingest/decimal-text.js'
import {nameReason} from '../../../ingest/market-names.js'
import {ONE_TRADE, quantitySql, sqlLiteral} from './staged-sql.js'
import {MIN_MICROS_16_DIGITS} from '../../../ingest/time-text.js'
import {NAME_PATTERN_SQL, contractMicrosProblemSql, decimalProblemSql} from './parser-sql.js'
import {TimeWindow} from '../../../ingest/time-window.js'
import {outsideWindowSql} from './time-window-sql.js'

export const REQUIRED = ['trade_id', 'symbol', 'exchange', 'timestamp', 'price', 'quantity']
export const OPTIONAL = ['side', 'source_sequence']

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

/** The SQL pieces over one Parquet file's columns. */
export class ParquetSql {
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
    private readonly window: TimeWindow,
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
      ['timestamp', this.quick(this.timestampFast(), this.timestampProblem())],
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
      ${side} AS side, ${sequence} AS source_sequence, ${ONE_TRADE}`
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

  /**
   * Why a timestamp cannot be stored: a number or text must be 16-digit µs (as in a k2 CSV); a
   * TIMESTAMP value is an instant whatever its digits. Either must lie in the time window.
   */
  private timestampProblem(): string {
    const window = outsideWindowSql(this.tsLoose, this.window)
    if (this.types.get('timestamp')!.startsWith('TIMESTAMP')) return `CASE WHEN ${this.column('timestamp')} IS NULL THEN 'is empty' ELSE ${window} END`
    return `coalesce(${contractMicrosProblemSql(this.text('timestamp'))}, ${window})`
  }

  /** A test that implies the timestamp check is NULL: 16 digits, no leading zero, inside the time window. */
  private timestampFast(): string | undefined {
    const type = this.types.get('timestamp')!
    const lo = Math.max(MIN_MICROS_16_DIGITS, this.window.earliestMicros)
    // latestMicros is below 2^53, so below MAX_MICROS_EXCLUSIVE too.
    const hi = this.window.latestMicros
    const inRange = (value: string) => `${value} BETWEEN ${lo} AND ${hi}`
    if (type in INTEGER_DIGITS) return inRange(this.column('timestamp'))
    if (type.startsWith('TIMESTAMP')) return inRange(`epoch_us(${this.column('timestamp')})`)
    if (type === 'VARCHAR') return `regexp_full_match(${this.column('timestamp')}, '[1-9][0-9]{15}') AND ${inRange(`TRY_CAST(${this.column('timestamp')} AS BIGINT)`)}`
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

function nameProblemSql(raw: string, normalised: string): string {
  const [before, after] = nameReason('\u0000').split('\u0000')
  return `CASE WHEN ${raw} IS NULL OR ${normalised} = '' THEN 'is empty'
    WHEN NOT regexp_full_match(${normalised}, '${NAME_PATTERN_SQL}') THEN ${sqlLiteral(before)} || ${raw} || ${sqlLiteral(after)} END`
}
