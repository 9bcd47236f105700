/**
 * The trade times an ingest accepts: from `ingest.earliestTime` (default 2009-01-01, before any
 * crypto exchange traded) to the command's clock plus `ingest.maxFuture` (default 1d, for clock
 * skew), both in the home's config.json. A row outside is a bad row like any other, which also
 * keeps every stored timestamp an exact integer in JavaScript (below 2^53 µs).
 */
import type {FileConfig} from '../home.js'

import {UsageError} from '../errors.js'
import {MICROS_PER_DAY, formatMicros, parseDuration, parseIsoInstant} from '../time.js'
import {plural} from '../words.js'

export interface TimeWindow {
  /** Inclusive bounds, µs since the epoch. */
  earliestMicros: number
  latestMicros: number
  /** `2009-01-01 … now + 1 day`, for messages. */
  label: string
}

const DEFAULT_EARLIEST_TIME = '2009-01-01T00:00:00Z'
const DEFAULT_MAX_FUTURE = '1d'

const UNIT_NAMES: Record<string, string> = {s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week'}

/**
 * The window for a command whose clock reads `nowMicros`, from the config's `ingest` section. The
 * config schema has already checked each value's form; what is left is how they relate to the clock.
 */
export function ingestTimeWindow(config: FileConfig['ingest'], nowMicros: number, configFile = 'config.json'): TimeWindow {
  const earliestText = config?.earliestTime?.trim() ?? DEFAULT_EARLIEST_TIME
  const maxFutureText = config?.maxFuture?.trim() ?? DEFAULT_MAX_FUTURE
  const earliest = parseIsoInstant(earliestText, `${configFile}: ingest.earliestTime`)
  const future = parseDuration(maxFutureText, `${configFile}: ingest.maxFuture`)
  // Beyond 2^53 µs a timestamp is no longer an exact number here; no trade is that far out anyway.
  const latest = Math.min(nowMicros + future, Number.MAX_SAFE_INTEGER)
  if (earliest > latest) {
    throw new UsageError(`${configFile}: ingest.earliestTime: '${earliestText}' is after now + ingest.maxFuture (${formatMicros(latest)})`, {code: 'bad_config'})
  }

  return {earliestMicros: earliest, latestMicros: latest, label: `${instantLabel(earliest)} … now + ${durationLabel(maxFutureText)}`}
}

/** The reason a time outside the window gets: `2100-01-01T00:00:00Z is outside 2009-01-01 … now + 1 day`. */
export function outsideWindowReason(micros: number, window: TimeWindow): string {
  return `${formatMicros(micros)} is outside ${window.label}`
}

function instantLabel(micros: number): string {
  return micros % MICROS_PER_DAY === 0 ? formatMicros(micros).slice(0, 10) : formatMicros(micros)
}

function durationLabel(text: string): string {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text)!
  return plural(Number(m[1]), UNIT_NAMES[m[2]])
}
