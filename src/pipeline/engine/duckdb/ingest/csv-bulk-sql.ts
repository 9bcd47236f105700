/**
 * The SQL of a CSV tape read in bulk by DuckDB (csv-bulk.ts): every field read as text, and one
 * predicate per layout that holds only for rows the JS row checks (row-parsers.ts) accept. The
 * predicate is stricter where that is simpler (no leading zeros in ids, ASCII-only names): a row it
 * refuses sends the file back to the JS reader, which then names the line or accepts it.
 */
import type {TapeLayout} from '../../../ingest/tape-format.js'

import {MAX_DECIMALS, PRICE_INTEGER_DIGITS, QUANTITY_INTEGER_DIGITS} from '../../../ingest/decimal-text.js'
import {BINANCE_MICROS_FROM, MIN_MICROS_16_DIGITS} from '../../../ingest/time-text.js'
import {sqlLiteral} from './staged-sql.js'

/** Column i of the file as read_csv names it. */
export const bulkColumn = (i: number): string => `c${i}`

/** read_csv of the tape with every column as text, nothing detected, no quoting: a malformed file fails. */
export function bulkReadSql(path: string, layout: TapeLayout, gzip: boolean): string {
  const columns = Array.from({length: layout.columnCount}, (_, i) => `${bulkColumn(i)}: 'VARCHAR'`).join(', ')
  return `read_csv(${sqlLiteral(path)}, header = ${layout.hasHeader}, auto_detect = false, columns = {${columns}},
    delim = ',', quote = '', escape = '', strict_mode = true, null_padding = false, compression = '${gzip ? 'gzip' : 'none'}')`
}

const match = (expr: string, pattern: string): string => `regexp_full_match(${expr}, ${sqlLiteral(pattern)})`

/** A positive decimal of at most `digits` significant integer digits and MAX_DECIMALS significant decimals. */
function decimalPattern(digits: number): string {
  return `0*[1-9][0-9]{0,${digits - 1}}(\\.[0-9]{1,${MAX_DECIMALS}}0*)?|0+\\.[0-9]{0,${MAX_DECIMALS - 1}}[1-9]0*`
}

/**
 * Whole numbers in their canonical form (no sign, space, leading zero, exponent, …) that fit a
 * BIGINT: the text round-trips through the cast (cheaper than a pattern; the cast accepts '+5', ' 5').
 */
const canonicalWhole = (expr: string): string => `CAST(TRY_CAST(${expr} AS BIGINT) AS VARCHAR) = ${expr} AND ${expr}[1] <> '-'`
/** Milliseconds (13 digits) or µs (16 digits, from BINANCE_MICROS_FROM): binanceTimeMicros accepts both. */
const BINANCE_TIME_DIGITS = `(13, ${String(BINANCE_MICROS_FROM).length})`
/** 16 digits, from MIN_MICROS_16_DIGITS (contractMicros). */
const CONTRACT_TIME_DIGITS = String(MIN_MICROS_16_DIGITS).length
const KRAKEN_TIME_PATTERN = '[0-9]{1,12}(\\.[0-9]{1,6}0*)?'

/**
 * True for a row the JS checks accept (NULL counts as false), but for the time window, which the
 * stored rows' least and greatest time are checked against: `names` are the constant exchange
 * and symbol, when given, so that the file's own columns are not read.
 */
export function bulkRowOkSql(layout: TapeLayout, names: {exchange?: string; symbol?: string}): string {
  const c = layout.columns
  const col = (i: number | undefined): string => bulkColumn(i!)
  const checked = new Set<number>()
  const rules: string[] = []
  const rule = (i: number | undefined, sql: string): void => {
    checked.add(i!)
    rules.push(sql)
  }

  rule(c.price, match(col(c.price), decimalPattern(PRICE_INTEGER_DIGITS)))
  rule(c.qty, match(col(c.qty), decimalPattern(QUANTITY_INTEGER_DIGITS)))
  switch (layout.format) {
    case 'binance':
    case 'binance-agg': {
      const ids = layout.format === 'binance' ? [c.id!] : [c.aggId!, c.firstId!, c.lastId!]
      for (const i of ids) rule(i, canonicalWhole(col(i)))
      if (layout.format === 'binance-agg') rules.push(`CAST(${col(c.lastId)} AS BIGINT) >= CAST(${col(c.firstId)} AS BIGINT)`)
      rule(c.buyerMaker, `${col(c.buyerMaker)} IN ('True', 'False', 'true', 'false', 'TRUE', 'FALSE')`)
      rule(c.time, `${canonicalWhole(col(c.time))} AND length(${col(c.time)}) IN ${BINANCE_TIME_DIGITS}`)
      break
    }

    case 'kraken':
      rule(c.time, match(col(c.time), KRAKEN_TIME_PATTERN))
      break

    case 'k2': {
      rule(c.tradeId, `${col(c.tradeId)} IS NOT NULL AND NOT contains(${col(c.tradeId)}, '"') AND NOT contains(${col(c.tradeId)}, chr(31))`)
      if (names.symbol === undefined) rule(c.symbol, match(col(c.symbol), '[A-Za-z0-9_.:/-]*[A-Za-z0-9_.:][A-Za-z0-9_.:/-]*'))
      if (names.exchange === undefined) rule(c.exchange, match(col(c.exchange), '[A-Za-z0-9_.:-]+'))
      if (c.side !== undefined) rule(c.side, `(${col(c.side)} IS NULL OR upper(${col(c.side)}) IN ('BUY', 'SELL'))`)
      if (c.sequence !== undefined) rule(c.sequence, `(${col(c.sequence)} IS NULL OR ${match(col(c.sequence), '[0-9]{1,18}')})`)
      rule(c.time, `${canonicalWhole(col(c.time))} AND length(${col(c.time)}) = ${CONTRACT_TIME_DIGITS}`)
      break
    }
  }

  // The JS reader splits a line with a quote by CSV rules and refuses 0x1F anywhere: such a line
  // is left to it, whichever column holds the character.
  for (let i = 0; i < layout.columnCount; i++) {
    if (!checked.has(i)) rules.push(`NOT coalesce(contains(${col(i)}, '"') OR contains(${col(i)}, chr(31)), false)`)
  }

  return `coalesce(${rules.join('\n    AND ')}, false)`
}
