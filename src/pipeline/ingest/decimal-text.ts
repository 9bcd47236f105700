/**
 * Strict decimal text: the only way a price or a quantity enters the warehouse. No float parsing:
 * the text is checked character by character and DuckDB casts the same text to DECIMAL exactly.
 * The SQL mirror below applies the same rules (same reasons) to values read from Parquet.
 */

/** Digits after the point that DECIMAL(…, 8) keeps; more would be silently rounded. */
export const MAX_DECIMALS = 8
/** price is DECIMAL(18,8): 10 integer digits. */
export const PRICE_INTEGER_DIGITS = 10
/** quantity is DECIMAL(38,8): 30 integer digits (meme coins trade 1e12 units at once). */
export const QUANTITY_INTEGER_DIGITS = 30

const ZERO = 48
const NINE = 57
const DOT = 46

export const reasons = {
  empty: 'is empty',
  notPositive: (text: string) => `must be > 0, got '${text}'`,
  notDecimal: (text: string) => `'${text}' is not a decimal number`,
  tooManyDecimals: (text: string) => `'${text}' has more than ${MAX_DECIMALS} decimal places`,
  tooManyIntegerDigits: (text: string, max: number) => `'${text}' has more than ${max} integer digits`,
}

/**
 * Why `text` is not a positive decimal that fits, or undefined when it is fine.
 * Accepts `61837.63000000`, `4`, `0.006`, `0001.5`; refuses `-1`, `0.000`, `1e12`, `.5`, `5.`, ` 5`.
 */
export function decimalProblem(text: string, maxIntegerDigits: number): string | undefined {
  const n = text.length
  let i = 0
  while (i < n && isDigit(text.charCodeAt(i))) i++
  const intLen = i
  let fracSignificant = 0
  if (i < n) {
    if (intLen === 0 || text.charCodeAt(i) !== DOT) return nonDecimal(text)
    i++
    const fracStart = i
    while (i < n) {
      const c = text.charCodeAt(i)
      if (!isDigit(c)) return nonDecimal(text)
      if (c !== ZERO) fracSignificant = i - fracStart + 1
      i++
    }

    if (i === fracStart) return nonDecimal(text)
  } else if (intLen === 0) {
    return text === '' ? reasons.empty : nonDecimal(text)
  }

  let leadingZeros = 0
  while (leadingZeros < intLen && text.charCodeAt(leadingZeros) === ZERO) leadingZeros++
  const intSignificant = intLen - leadingZeros
  if (intSignificant === 0 && fracSignificant === 0) return reasons.notPositive(text)
  if (fracSignificant > MAX_DECIMALS) return reasons.tooManyDecimals(text)
  if (intSignificant > maxIntegerDigits) return reasons.tooManyIntegerDigits(text, maxIntegerDigits)
  return undefined
}

function nonDecimal(text: string): string {
  if (text.charCodeAt(0) === 45 /* - */ && text.length > 1 && decimalProblem(text.slice(1), Number.MAX_SAFE_INTEGER) === undefined) {
    return reasons.notPositive(text)
  }

  return reasons.notDecimal(text)
}

export function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE
}

/** True when text is 1..n ASCII digits. */
export function isDigits(text: string): boolean {
  const n = text.length
  if (n === 0) return false
  for (let i = 0; i < n; i++) if (!isDigit(text.charCodeAt(i))) return false
  return true
}

const BIGINT_MAX = '9223372036854775807'

/** A non-negative integer that fits DuckDB's BIGINT (exchange trade ids, sequences). */
export function bigintProblem(text: string): string | undefined {
  if (text === '') return reasons.empty
  if (!isDigits(text)) return `'${text}' is not a whole number`
  if (text.length < BIGINT_MAX.length) return undefined
  const significant = text.replace(/^0+(?=\d)/, '')
  if (significant.length > BIGINT_MAX.length || (significant.length === BIGINT_MAX.length && significant > BIGINT_MAX)) {
    return `'${text}' is too large`
  }

  return undefined
}

// ---------------------------------------------------------------------------------------------
// The same rules in SQL, for Parquet values (cast to VARCHAR first). Each returns a CASE that is
// NULL when the value is fine and the reason text otherwise.

