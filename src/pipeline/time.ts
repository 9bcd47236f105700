import {UsageError} from './errors.js'

export const MICROS_PER_SECOND = 1_000_000
export const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND

/**
 * The instants a command accepts: [1970-01-01, 2200-01-01). Microseconds are JS numbers, exact only
 * below 2^53 µs (mid-2255), and no trade predates the epoch; outside this range a typo (an extra
 * digit, a year 0001) would otherwise plan centuries of work or silently become another date.
 */
const EARLIEST_INSTANT_MICROS = 0
const END_OF_INSTANTS_MICROS = Date.UTC(2200, 0, 1) * 1000
const SUPPORTED_RANGE_TEXT = '1970-01-01 … 2199-12-31'

/** A usage error (exit 2) unless `micros` is a supported instant. */
function checkSupportedInstant(micros: number, text: string, where: string): number {
  if (!Number.isFinite(micros) || micros < EARLIEST_INSTANT_MICROS || micros >= END_OF_INSTANTS_MICROS) {
    throw new UsageError(`${where}: '${text}' is outside the supported range ${SUPPORTED_RANGE_TEXT} (UTC)`, {code: 'time_out_of_range'})
  }

  return micros
}

/**
 * The clock of every command, in microseconds since the epoch. `K2OPS_NOW` (an ISO-8601 instant)
 * replaces it, for tests and for replaying a past day.
 */
export function nowMicros(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = env.K2OPS_NOW
  if (fixed) return parseIsoInstant(fixed, 'K2OPS_NOW')
  return Date.now() * 1000
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i

/** ISO-8601 with up to microsecond precision; a date alone is its midnight UTC; no zone means UTC. */
export function parseIsoInstant(text: string, where: string): number {
  const m = ISO.exec(text.trim())
  if (!m) throw new UsageError(`${where}: '${text}' is not an ISO-8601 instant (e.g. 2024-08-08T23:55:00Z) or a relative time (e.g. -2h, now)`, {code: 'bad_time'})
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m
  // Checked before Date.UTC, which reads years 0–99 as 1900–1999 (0001-01-01 would become 1901).
  if (Number(y) < 1970 || Number(y) > 2200) checkSupportedInstant(Number.NaN, text.trim(), where)
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  const check = new Date(ms)
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new UsageError(`${where}: '${text}' is not a valid date and time`, {code: 'bad_time'})
  }

  let micros = ms * 1000 + Number(frac.padEnd(6, '0').slice(0, 6))
  if (zone && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1
    const digits = zone.slice(1).replace(':', '')
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))
    micros -= sign * offsetMinutes * 60 * MICROS_PER_SECOND
  }

  return checkSupportedInstant(micros, text.trim(), where)
}

const RELATIVE = /^([+-])(\d+)(s|m|h|d|w)$/
const UNIT_MICROS: Record<string, number> = {s: 1, m: 60, h: 3600, d: 86_400, w: 604_800}

/** `now`, `-2h`, `+30m`, `-7d`, or an ISO-8601 instant; relative to the command's clock. */
export function parseInstant(text: string, where: string, now: number): number {
  const trimmed = text.trim()
  if (trimmed === 'now') return now
  const rel = RELATIVE.exec(trimmed)
  if (rel) {
    const amount = Number(rel[2]) * UNIT_MICROS[rel[3]] * MICROS_PER_SECOND
    return checkSupportedInstant(rel[1] === '-' ? now - amount : now + amount, trimmed, where)
  }

  return parseIsoInstant(trimmed, where)
}

/** `10m`, `2h`, `2d`, `90s` as microseconds. */
export function parseDuration(text: string, where: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim())
  if (!m) throw new UsageError(`${where}: '${text}' is not a duration (e.g. 10m, 2h, 2d)`, {code: 'bad_duration'})
  const micros = Number(m[1]) * UNIT_MICROS[m[2]] * MICROS_PER_SECOND
  // A duration reaches back from now: longer than the supported range is a typo, not a request.
  if (micros >= END_OF_INSTANTS_MICROS - EARLIEST_INSTANT_MICROS) {
    throw new UsageError(`${where}: '${text}' is longer than the supported range ${SUPPORTED_RANGE_TEXT}`, {code: 'duration_out_of_range'})
  }

  return micros
}

/** ms since the epoch (Date.now(), a Date) in the one instant form of every --json: formatMicros. */
export function formatMillis(ms: number): string {
  return formatMicros(Math.round(ms * 1000))
}

/** µs → `2024-08-08T23:55:00Z`, or `2024-08-08T23:55:00.500000Z` when there are fractional seconds (always six digits). */
export function formatMicros(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND)
  const fraction = micros - seconds * MICROS_PER_SECOND
  const iso = new Date(seconds * 1000).toISOString().replace('.000Z', '')
  return fraction === 0 ? `${iso}Z` : `${iso}.${String(fraction).padStart(6, '0')}Z`
}
