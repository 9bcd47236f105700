import {Flags} from '@oclif/core'

import {UsageError} from './pipeline/errors.js'
import {formatMicros, parseDuration, parseInstant} from './pipeline/time.js'

/**
 * One vocabulary for time windows on every command: `--from`/`--to` (instants) or `--lookback`
 * (a duration back from `--to`). Commands spread these definitions instead of keeping copies, and
 * resolve them with `resolveTimeWindow`.
 */
export function timeWindowFlags(options: {defaultLookback?: string; from?: string} = {}) {
  const fallback = options.defaultLookback === undefined ? '' : ` Default: the last ${options.defaultLookback}.`
  return {
    from: Flags.string({
      summary: `${options.from ?? 'Start of the time window'}: ISO-8601 (2024-08-08T23:55:00Z, 2024-08-08) or relative (-2h).${fallback}`,
      exclusive: ['lookback'],
      helpGroup: 'TIME WINDOW',
    }),
    to: Flags.string({summary: 'End of the time window (exclusive): ISO-8601 or relative. Default: now.', helpGroup: 'TIME WINDOW'}),
    lookback: lookbackFlag(`The time window is this long, back from --to or now (e.g. 7d, 2h, 90m); instead of --from.${fallback}`, {exclusive: ['from'], helpGroup: 'TIME WINDOW'}),
  }
}

/** `--lookback DURATION` (also trigger's, where it reaches back from now). */
export function lookbackFlag(summary: string, options: {exclusive?: string[]; dependsOn?: string[]; helpGroup?: string} = {}) {
  return Flags.string({summary, ...options})
}

/** The deprecated flags and the flag that replaces each: "did you mean" names the replacement. */
export const REPLACED_FLAGS: Readonly<Record<string, string>> = {'lookback-days': 'lookback', since: 'from'}

/** Kept for one version: `--lookback-days N` means `--lookback Nd`. */
export const deprecatedLookbackDaysFlag = Flags.integer({
  summary: 'Deprecated: use --lookback Nd.',
  min: 1,
  exclusive: ['lookback', 'from'],
  helpGroup: 'DEPRECATED',
})

/** Kept for one version: `--since T` means `--from T`. */
export const deprecatedSinceFlag = Flags.string({summary: 'Deprecated: use --from.', exclusive: ['lookback', 'from'], helpGroup: 'DEPRECATED'})

export interface TimeWindowInput {
  from?: string
  to?: string
  lookback?: string
  'lookback-days'?: number
  since?: string
}

export interface TimeWindowOptions {
  nowMicros: number
  /** Used when neither --from nor --lookback is given; without it the window is open at the start. */
  defaultLookback?: string
  /** Without --to, the window ends now (true) or is open at the end. */
  toNow?: boolean
  /** The command's name: a window start is required (`backfill: missing --from (see --help)`). */
  requiredBy?: string
  /** Where the one-line deprecation notes go (stderr: never stdout, never into --json). */
  note: (line: string) => void
}

export interface TimeWindow {
  fromMicros?: number
  toMicros?: number
}

/** The window the flags ask for, in µs; a usage error (exit 2) when it is empty or backwards. */
export function resolveTimeWindow(flags: TimeWindowInput, options: TimeWindowOptions): TimeWindow {
  const {from, lookback, fromFlag, lookbackFlag} = renameDeprecated(flags, options.note)
  const now = options.nowMicros
  const toMicros = flags.to === undefined ? (options.toNow === false ? undefined : now) : parseInstant(flags.to, '--to', now)
  const end = toMicros ?? now
  let fromMicros: number | undefined
  if (from !== undefined) fromMicros = parseInstant(from, fromFlag, now)
  else if (lookback !== undefined) fromMicros = end - parseDuration(lookback, lookbackFlag)
  else if (options.defaultLookback !== undefined) fromMicros = end - parseDuration(options.defaultLookback, 'default lookback')
  else if (options.requiredBy !== undefined) throw new UsageError(`${options.requiredBy}: missing --from (see --help)`, {code: 'missing_flag'})
  if (fromMicros !== undefined && toMicros !== undefined && fromMicros >= toMicros) {
    throw new UsageError(`--from ${formatMicros(fromMicros)} is not before --to ${formatMicros(toMicros)}`, {code: 'bad_range'})
  }

  return {fromMicros, toMicros}
}

/** The old flags, as the new ones, with a note for each one used; errors name the flag that was typed. */
function renameDeprecated(flags: TimeWindowInput, note: (line: string) => void): {from?: string; lookback?: string; fromFlag: string; lookbackFlag: string} {
  const window = {from: flags.from, lookback: flags.lookback, fromFlag: '--from', lookbackFlag: '--lookback'}
  if (flags['lookback-days'] !== undefined) {
    Object.assign(window, {lookback: `${flags['lookback-days']}d`, lookbackFlag: '--lookback-days'})
    note(`--lookback-days is deprecated: use --lookback ${window.lookback}`)
  }

  if (flags.since !== undefined) {
    Object.assign(window, {from: flags.since, fromFlag: '--since'})
    note(`--since is deprecated: use --from ${flags.since}`)
  }

  return window
}
