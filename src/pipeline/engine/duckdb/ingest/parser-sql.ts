// The DuckDB SQL twins of the tape parsers' rules (src/pipeline/ingest/): the same checks and the
// same reasons, for the rows that DuckDB's readers stage in bulk. Each sits beside nothing but its
// rule's constants, so a rule and its twin change together (the ingest tests run both).

import {MAX_DECIMALS, reasons} from '../../../ingest/decimal-text.js'
import {BINANCE_MICROS_FROM, MIN_MICROS_16_DIGITS} from '../../../ingest/time-text.js'

/** The SQL pattern of a market name (market-names.ts NAME). */
export const NAME_PATTERN_SQL = '[A-Z0-9_.:-]+'

function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}

/** `'...' || t || '...'` for a reason template whose only variable part is the value text. */
function sqlReason(template: (text: string) => string, expr: string): string {
  const marker = '\u0000'
  const [before, after] = template(marker).split(marker)
  return `(${sqlString(before)} || ${expr} || ${sqlString(after)})`
}

/** SQL twin of decimal-text.ts checkDecimal: NULL when fine, else the reason. */
export function decimalProblemSql(expr: string, maxIntegerDigits: number): string {
  const plain = `regexp_full_match(${expr}, '[0-9]+(\\.[0-9]+)?')`
  return `CASE
    WHEN ${expr} IS NULL OR ${expr} = '' THEN ${sqlString(reasons.empty)}
    WHEN regexp_full_match(${expr}, '-[0-9]+(\\.[0-9]+)?') THEN ${sqlReason(reasons.notPositive, expr)}
    WHEN NOT ${plain} THEN ${sqlReason(reasons.notDecimal, expr)}
    WHEN NOT regexp_matches(${expr}, '[1-9]') THEN ${sqlReason(reasons.notPositive, expr)}
    WHEN length(rtrim(regexp_extract(${expr}, '\\.([0-9]+)$', 1), '0')) > ${MAX_DECIMALS} THEN ${sqlReason(reasons.tooManyDecimals, expr)}
    WHEN length(ltrim(split_part(${expr}, '.', 1), '0')) > ${maxIntegerDigits} THEN ${sqlReason((t) => reasons.tooManyIntegerDigits(t, maxIntegerDigits), expr)}
  END`
}

/** The SQL twin of binanceTimeMicros for already validated text. */
export function binanceTimeMicrosSql(expr: string): string {
  return `(CASE WHEN CAST(${expr} AS BIGINT) >= ${BINANCE_MICROS_FROM} THEN CAST(${expr} AS BIGINT) ELSE CAST(${expr} AS BIGINT) * 1000 END)`
}

/** The SQL twin of unixSecondsTextMicros for already validated text. */
export function unixSecondsTextMicrosSql(expr: string): string {
  return `(CAST(split_part(${expr}, '.', 1) AS BIGINT) * 1000000 + CAST(rpad(left(split_part(${expr}, '.', 2), 6), 6, '0') AS BIGINT))`
}

/** SQL twin of contractMicros: NULL when fine, else the reason. */
export function contractMicrosProblemSql(expr: string): string {
  return `CASE
    WHEN ${expr} IS NULL OR ${expr} = '' THEN 'is empty'
    WHEN regexp_full_match(${expr}, '-[0-9]+|0+') THEN 'must be > 0, got ''' || ${expr} || ''''
    WHEN NOT regexp_full_match(${expr}, '[0-9]{1,16}') OR TRY_CAST(${expr} AS BIGINT) < ${MIN_MICROS_16_DIGITS}
      THEN '''' || ${expr} || ''' is not microseconds since the epoch (a 16-digit whole number)'
  END`
}
