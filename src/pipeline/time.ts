import {UsageError} from './errors.js'

export const MICROS_PER_SECOND = 1_000_000
export const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND

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

  return micros
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
    return rel[1] === '-' ? now - amount : now + amount
  }

  return parseIsoInstant(trimmed, where)
}

/** `10m`, `2h`, `2d`, `90s` as microseconds. */
export function parseDuration(text: string, where: string): number {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text.trim())
  if (!m) throw new UsageError(`${where}: '${text}' is not a duration (e.g. 10m, 2h, 2d)`, {code: 'bad_duration'})
  return Number(m[1]) * UNIT_MICROS[m[2]] * MICROS_PER_SECOND
}

/** µs → `2024-08-08T23:55:00Z`, or `2024-08-08T23:55:00.500000Z` when there are fractional seconds (always six digits). */
export function formatMicros(micros: number): string {
  const seconds = Math.floor(micros / MICROS_PER_SECOND)
  const fraction = micros - seconds * MICROS_PER_SECOND
  const iso = new Date(seconds * 1000).toISOString().replace('.000Z', '')
  return fraction === 0 ? `${iso}Z` : `${iso}.${String(fraction).padStart(6, '0')}Z`
}
