import type {ZonedCalendar} from './zoned-windows.js'

import {UsageError} from './errors.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe, isTimeframe} from './timeframes.js'
import {zonedCalendar, zonedSource, zonedWindow} from './zoned-windows.js'

// The timeframes a reader asks for (`candles --timeframe`): any Nm, Nh, Nd, 1w or 1M, built from
// the stored timeframe whose windows tile it.

const MINUTE = 60_000_000
const DAY = 1440 * MINUTE
/** 1970-01-05, the first Monday after the epoch: weeks start on Mondays at 00:00 UTC. */
const FIRST_MONDAY = 4 * DAY

export type ReadTimeframe =
  | {name: string; kind: 'stored'; stored: Timeframe}
  /** Epoch-aligned windows of `micros` (weeks: Monday-aligned), tiled by the stored `source`. */
  | {name: string; kind: 'fixed'; micros: number; offsetMicros: number; source: Timeframe}
  /** Calendar months (UTC), tiled by the stored 1d. */
  | {name: string; kind: 'month'; source: '1d'}
  /** Local days, weeks or months of a time zone from a day start (`--tz`, `--day-start`). */
  | {name: string; kind: 'zoned'; calendar: ZonedCalendar; source: Timeframe}

/** `--tz` and `--day-start`: days (and weeks, months) in a time zone, from a local time. */
export interface CalendarOptions {
  tz?: string
  dayStart?: string
  nowMicros: number
}

/** `15m`, `4h`, `2d`, `1w`, `1M`, or a stored timeframe; anything else is a usage error naming the flag. */
export function parseReadTimeframe(text: string, calendar?: CalendarOptions, where = '--timeframe'): ReadTimeframe {
  const value = text.trim()
  if (calendar && (calendar.tz !== undefined || calendar.dayStart !== undefined)) {
    const unit = ({'1d': 'day', '1w': 'week', '1M': 'month'} as const)[value as '1d' | '1w' | '1M']
    if (!unit) throw new UsageError(`--tz and --day-start apply to 1d, 1w and 1M, not to ${where} ${value}`, {code: 'usage'})
    const zoned = zonedCalendar(unit, calendar.tz, calendar.dayStart)
    return {name: value, kind: 'zoned', calendar: zoned, source: zonedSource(zoned, calendar.nowMicros)}
  }

  if (isTimeframe(value)) return {name: value, kind: 'stored', stored: value}
  if (value === '1M') return {name: value, kind: 'month', source: '1d'}
  if (value === '1w') return {name: value, kind: 'fixed', micros: 7 * DAY, offsetMicros: FIRST_MONDAY, source: '1d'}
  const match = /^([1-9]\d{0,4})([mhd])$/.exec(value)
  if (!match) throw new UsageError(`${where}: '${text}' is not a timeframe (expected Nm, Nh, Nd, 1w or 1M, e.g. 15m, 4h, 1w)`, {code: 'unknown_timeframe'})
  const micros = Number(match[1]) * {m: MINUTE, h: 60 * MINUTE, d: DAY}[match[2] as 'm' | 'h' | 'd']
  // The largest stored timeframe whose windows tile this one (every stored size divides a day).
  const source = [...TIMEFRAMES].reverse().find((tf) => micros % TIMEFRAME_SPECS[tf].micros === 0)!
  return {name: value, kind: 'fixed', micros, offsetMicros: 0, source}
}

/** The stored timeframe a read timeframe is built from. */
export function sourceOf(tf: ReadTimeframe): Timeframe {
  return tf.kind === 'stored' ? tf.stored : tf.source
}

/** The window of `tf` holding the instant: [start, end) in µs. */
export function windowOf(tf: ReadTimeframe, micros: number): {start: number; end: number} {
  if (tf.kind === 'stored') {
    const size = TIMEFRAME_SPECS[tf.stored].micros
    const start = Math.floor(micros / size) * size
    return {start, end: start + size}
  }

  if (tf.kind === 'fixed') {
    const start = Math.floor((micros - tf.offsetMicros) / tf.micros) * tf.micros + tf.offsetMicros
    return {start, end: start + tf.micros}
  }

  if (tf.kind === 'zoned') return zonedWindow(tf.calendar, micros)
  const day = new Date(Math.floor(micros / 1000))
  const start = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), 1) * 1000
  const end = Date.UTC(day.getUTCFullYear(), day.getUTCMonth() + 1, 1) * 1000
  return {start, end}
}

/** How many windows of the source one window of `tf` holds at most. */
export function sourcesPerWindow(tf: ReadTimeframe): number {
  if (tf.kind === 'stored') return 1
  if (tf.kind === 'fixed') return tf.micros / TIMEFRAME_SPECS[tf.source].micros
  const days = tf.kind === 'month' || tf.calendar.unit === 'month' ? 31 : tf.calendar.unit === 'week' ? 7 : 1
  // A local day is at most 25 hours.
  return tf.kind === 'month' ? days : Math.ceil((days * 25 * 60 * 60_000_000) / TIMEFRAME_SPECS[tf.source].micros)
}
