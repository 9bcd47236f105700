/**
 * Trade times as text → microseconds since the epoch, exactly (integers below 2^53, no fractions
 * through floats). Each parser returns the microseconds, or a string saying what is wrong.
 */
import {isDigit, isDigits} from './decimal-text.js'

/** 2001-09-09T01:46:40Z in µs: every 16-digit µs value is at or after it. */
export const MIN_MICROS_16_DIGITS = 1e15
/** 2286-11-20 in µs: the first 17-digit value. */
export const MAX_MICROS_EXCLUSIVE = 1e16
/** Binance: a value at or above this is µs (spot files from 2025-01-01), below it ms. */
export const BINANCE_MICROS_FROM = 1e15
/** First 14-digit millisecond value (year 2286): 14- and 15-digit times are neither unit. */
const MAX_MILLIS_EXCLUSIVE = 1e13

/**
 * Binance `time`/`transact_time`: milliseconds (13 digits) or microseconds (16 digits), decided per
 * row, never per file (a 2025 spot file can follow a 2024 one in the same ingest).
 */
export function binanceTimeMicros(text: string): number | string {
  if (text === '') return 'is empty'
  if (!isDigits(text) || text.length > 17) return `'${text}' is not a whole number of ms or µs`
  const value = Number(text)
  if (value <= 0) return `must be > 0, got '${text}'`
  if (value >= BINANCE_MICROS_FROM) {
    if (value >= MAX_MICROS_EXCLUSIVE) return `'${text}' is out of range (more than 16 digits)`
    return value
  }

  if (value >= MAX_MILLIS_EXCLUSIVE) return `'${text}' is neither milliseconds (13 digits) nor microseconds (16 digits)`
  return value * 1000
}

/**
 * Kraken `unix_time_seconds` with a fractional part (`1672531436.1234`): kept to the microsecond
 * from the text. Digits beyond the sixth decimal must be zeros (no silent rounding).
 */
export function unixSecondsTextMicros(text: string): number | string {
  if (text === '') return 'is empty'
  const dot = text.indexOf('.')
  const whole = dot === -1 ? text : text.slice(0, dot)
  const fraction = dot === -1 ? '' : text.slice(dot + 1)
  if (!isDigits(whole) || (dot !== -1 && !isDigits(fraction))) return `'${text}' is not a number of seconds`
  for (let i = 6; i < fraction.length; i++) {
    if (fraction.charCodeAt(i) !== 48) return `'${text}' is finer than a microsecond`
  }

  if (whole.length > 12) return `'${text}' is out of range`
  const micros = Number(whole) * 1_000_000 + Number(fraction.slice(0, 6).padEnd(6, '0'))
  if (micros <= 0) return `must be > 0, got '${text}'`
  if (micros >= MAX_MICROS_EXCLUSIVE) return `'${text}' is out of range`
  return micros
}

const MICROS_REASON = (text: string) => `'${text}' is not microseconds since the epoch (a 16-digit whole number)`

/** The k2 contract's `timestamp`: microseconds since the epoch, 16 digits (2001 … 2286). */
export function contractMicros(text: string): number | string {
  if (text === '') return 'is empty'
  if (text.charCodeAt(0) === 45 /* - */ && isDigits(text.slice(1))) return `must be > 0, got '${text}'`
  if (!isDigits(text) || text.length > 16) return MICROS_REASON(text)
  const value = Number(text)
  if (value <= 0) return `must be > 0, got '${text}'`
  if (value < MIN_MICROS_16_DIGITS) return MICROS_REASON(text)
  return value
}

/** True when the text starts with a digit (used by format detection). */
export function startsWithDigit(text: string): boolean {
  return text.length > 0 && isDigit(text.charCodeAt(0))
}
