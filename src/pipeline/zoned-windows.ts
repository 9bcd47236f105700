import {DateTime, IANAZone} from 'luxon'

import {UsageError} from './errors.js'
import {Timeframe} from './timeframes.js'

// Days, weeks and months as a desk reads them: starting at a local time (`--day-start`, default
// midnight) in an IANA time zone (`--tz`), DST included, so a day is 23 or 25 hours when the clocks
// change.

export type ZonedUnit = 'day' | 'week' | 'month'

export interface ZonedCalendar {
  unit: ZonedUnit
  zone: string
  /** Minutes after local midnight at which a day starts. */
  dayStartMinutes: number
}

/** `--tz` and `--day-start` checked: an IANA zone, and HH:MM. */
export function zonedCalendar(unit: ZonedUnit, zone: string | undefined, dayStart: string | undefined): ZonedCalendar {
  const name = zone ?? 'UTC'
  if (!IANAZone.isValidZone(name)) throw new UsageError(`--tz: '${name}' is not an IANA time zone (e.g. Europe/London, America/New_York, UTC)`, {code: 'bad_time_zone'})
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(dayStart ?? '00:00')
  if (!match) throw new UsageError(`--day-start: '${dayStart}' is not a time of day (HH:MM, e.g. 08:00)`, {code: 'bad_time'})
  return {unit, zone: name, dayStartMinutes: Number(match[1]) * 60 + Number(match[2])}
}

/** The local day, week (from Monday) or month holding the instant, as [start, end) in µs. */
export function zonedWindow(calendar: ZonedCalendar, micros: number): {start: number; end: number} {
  const {zone, dayStartMinutes, unit} = calendar
  // The local date whose day (starting at day-start) holds the instant.
  const local = DateTime.fromMillis(Math.floor(micros / 1000), {zone}).minus({minutes: dayStartMinutes})
  const first = local.startOf(unit)
  const start = boundary(first, calendar)
  const end = boundary(first.plus({[`${unit}s`]: 1}), calendar)
  return {start: start * 1000, end: end * 1000}
}

/** Day-start on that local date, in epoch ms (a day-start the clocks skip moves forward). */
function boundary(date: DateTime, calendar: ZonedCalendar): number {
  const hour = Math.floor(calendar.dayStartMinutes / 60)
  return DateTime.fromObject({year: date.year, month: date.month, day: date.day, hour, minute: calendar.dayStartMinutes % 60}, {zone: calendar.zone}).toMillis()
}

/**
 * The largest stored timeframe whose windows tile the calendar's: the UTC offsets of the zone this
 * year and last (winter and summer) plus the day start must all be whole multiples of it.
 */
export function zonedSource(calendar: ZonedCalendar, nowMicros: number): Timeframe {
  const year = DateTime.fromMillis(Math.floor(nowMicros / 1000), {zone: 'UTC'}).year
  const offsets = [year - 1, year].flatMap((y) => [1, 7].map((month) => DateTime.fromObject({year: y, month, day: 1}, {zone: calendar.zone}).offset))
  const minutes = offsets.map((offset) => (((offset + calendar.dayStartMinutes) % 1440) + 1440) % 1440)
  for (const [tf, size] of [['1d', 1440], ['1h', 60], ['30m', 30], ['5m', 5]] as const) if (minutes.every((m) => m % size === 0)) return tf
  return '1m'
}
