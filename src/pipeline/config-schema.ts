import {distance} from 'fastest-levenshtein'
import * as v from 'valibot'
import {createRequire} from 'node:module'

import {MICROS_PER_DAY, MICROS_PER_SECOND, parseDuration, parseIsoInstant} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

// croner is needed only for a cron in the file: loaded then (it ships CommonJS), so a command whose
// config has none does not pay for it.
const require = createRequire(import.meta.url)

/*
 * The one set of rules for `<home>/config.json` and the K2OPS_* variables that feed the same
 * settings. Every rule carries the text a person reads when a value breaks it ("an integer from 0
 * to 65535"), so each failure becomes one line: the key, the value, what is allowed (config-file.ts).
 * valibot rather than zod: the same kind of schema at a tenth of the import cost (about 4 ms against
 * 40 ms on this machine), which every command that resolves its home pays.
 */

type Entries = v.ObjectEntries

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An object of the given keys, every one optional; any other key is an issue of its own. */
function section<E extends Entries>(entries: E, allowed = 'an object') {
  const known = Object.keys(entries)
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, allowed),
    v.strictObject(entries, (issue) => (isUnknownKey(issue) ? unknownKeyText(String(issue.input), known) : allowed)),
  )
}

function unknownKeyText(key: string, known: string[]): string {
  const near = nearestKey(key, known)
  return `unknown key (${near ? `did you mean '${near}'? ` : ''}known: ${known.join(', ')})`
}

/**
 * The known key a typo most likely meant: the one a few edits away; else one that the key is the
 * beginning of with a typo or two (`lockTimout` for lockTimeoutSeconds), or a part of (`1m` for
 * ohlcv-1m-scheduled, as the commands accept it).
 */
function nearestKey(key: string, known: string[]): string | undefined {
  const typed = key.toLowerCase()
  const edits = closest(known, (name) => distance(typed, name))
  // A short key may differ by less than its length: `x` is no typo of anything.
  if (edits.cost <= Math.min(Math.max(2, Math.floor(key.length / 3)), key.length - 1)) return edits.name
  const part = closest(known, (name) => (typed.length >= 2 && name.includes(typed) ? 0 : distance(typed, name.slice(0, typed.length))))
  return part.cost <= Math.floor(key.length / 4) ? part.name : undefined
}

function closest(known: string[], cost: (lowerCaseName: string) => number): {name?: string; cost: number} {
  let best: {name?: string; cost: number} = {cost: Infinity}
  for (const name of known) {
    const own = cost(name.toLowerCase())
    if (own < best.cost) best = {name, cost: own}
  }

  return best
}

function integer(min: number, max: number, allowed = `an integer from ${min} to ${max}`) {
  return v.pipe(v.number(allowed), v.integer(allowed), v.minValue(min, allowed), v.maxValue(max, allowed))
}

function number(min: number, max: number, allowed: string) {
  return v.pipe(v.number(allowed), v.finite(allowed), v.minValue(min, allowed), v.maxValue(max, allowed))
}

const nonNegative = () => number(0, Number.MAX_VALUE, 'a non-negative number')

/** A duration as the flags write it (`90s`, `10m`, `2h`, `2d`), within bounds. */
function duration(minMicros: number, maxMicros: number, allowed: string) {
  return v.pipe(
    v.string(allowed),
    v.check((text) => {
      try {
        const micros = parseDuration(text, '')
        return micros >= minMicros && micros <= maxMicros
      } catch {
        return false
      }
    }, allowed),
  )
}

const SIZE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(b|bytes?|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*$/i
const SIZE_UNITS: Record<string, number> = {b: 1, byte: 1, bytes: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3, t: 1e12, tb: 1e12, tib: 1024 ** 4}
/** DuckDB cannot even build the demo below about 16 MB; its own error for less is an out-of-memory failure. */
const MIN_MEMORY_BYTES = 16e6

/** The bytes of a DuckDB size text (`512MB`, `4GB`, `2GiB`), or undefined when DuckDB would not read it. */
function memoryBytes(text: string): number | undefined {
  const match = SIZE.exec(text)
  return match ? Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()] : undefined
}

const MEMORY_ALLOWED = 'a DuckDB memory size such as 512MB, 4GB or 2GiB (units KB MB GB TB, KiB MiB GiB TiB), at least 16MB'
const memoryLimit = v.pipe(v.string(MEMORY_ALLOWED), v.check((text) => (memoryBytes(text) ?? 0) >= MIN_MEMORY_BYTES, MEMORY_ALLOWED))

const CRON_ALLOWED = 'a five-field cron in UTC (minute hour day month weekday), e.g. */5 * * * *'
const cron = v.pipe(
  v.string(CRON_ALLOWED),
  v.check((text) => text.trim().split(/\s+/).length === 5, CRON_ALLOWED),
  v.check(
    (text) => cronProblem(text) === undefined,
    (issue) => `${CRON_ALLOWED} (${cronProblem(String(issue.input))})`,
  ),
)

function cronProblem(text: string): string | undefined {
  try {
    const {Cron} = require('croner') as typeof import('croner')
    // eslint-disable-next-line no-new
    new Cron(text, {timezone: 'UTC', paused: true})
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

const EARLIEST_ALLOWED = 'an ISO-8601 instant such as 2009-01-01T00:00:00Z, from 1970-01-01 to 2100-01-01'
const EARLIEST_MAX_MICROS = Date.UTC(2100, 0, 1) * 1000
const instant = v.pipe(
  v.string(EARLIEST_ALLOWED),
  v.check((text) => {
    try {
      const micros = parseIsoInstant(text, '')
      return micros >= 0 && micros <= EARLIEST_MAX_MICROS
    } catch {
      return false
    }
  }, EARLIEST_ALLOWED),
)

// Each threshold keeps the rule it always had (a non-negative number), narrowed where its meaning
// bounds it: a share is 0..1, a percentage 0..100, a count is whole.
const limits = (rule: () => v.GenericSchema<unknown, number>) => section({warn: v.optional(rule()), fail: v.optional(rule())}, 'an object of warn and fail')
const share = () => number(0, 1, 'a number from 0 to 1')
const percent = () => number(0, 100, 'a number from 0 to 100')
const count = () => integer(0, Number.MAX_SAFE_INTEGER, 'a whole number ≥ 0')

export const THRESHOLDS_SCHEMA = section({
  candleLagMinutes: v.optional(section(Object.fromEntries(TIMEFRAMES.map((tf) => [tf, v.optional(limits(nonNegative))])) as Record<Timeframe, v.OptionalSchema<ReturnType<typeof limits>, undefined>>)),
  sourceLagMinutes: v.optional(limits(nonNegative)),
  runSuccessRate: v.optional(limits(share)),
  consecutiveFailures: v.optional(count()),
  durationRatio: v.optional(nonNegative()),
  ingestGapMinutes: v.optional(nonNegative()),
  ingestGapExpectedTrades: v.optional(count()),
  futureToleranceSeconds: v.optional(nonNegative()),
  diskFreePercent: v.optional(limits(percent)),
})

const MAX_SECONDS = 86_400
const deployment = section({
  cron: v.optional(cron),
  lookback: v.optional(duration(MICROS_PER_SECOND, 366 * MICROS_PER_DAY, 'a duration such as 10m, 2h or 2d, from 1s to 366d')),
  retries: v.optional(integer(0, 100)),
  retryDelaySeconds: v.optional(integer(0, MAX_SECONDS)),
  timeoutSeconds: v.optional(integer(0, MAX_SECONDS, `an integer from 0 (no timeout) to ${MAX_SECONDS}`)),
  paused: v.optional(v.boolean('true or false')),
})

export const DEPLOYMENTS_SCHEMA = section(
  Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].deployment, v.optional(deployment)])) as Record<string, v.OptionalSchema<typeof deployment, undefined>>,
)

/** Days kept per candle table and for the source trades: a century is the longest policy taken. */
export const RETENTION_SCHEMA = section(
  Object.fromEntries([...TIMEFRAMES, 'trades'].map((target) => [target, v.optional(integer(1, 36_500, 'a whole number of days from 1 to 36500'))])) as Record<
    Timeframe | 'trades',
    v.OptionalSchema<ReturnType<typeof integer>, undefined>
  >,
)

/** Settings that a K2OPS_* variable may also give; the variable takes precedence over the file. */
export const LOCK_TIMEOUT = integer(0, MAX_SECONDS)
export const THREADS = integer(1, 1024)
export const MEMORY_LIMIT = memoryLimit

export const CONFIG_SCHEMA = section(
  {
    warehouse: v.optional(v.pipe(v.string('a file path'), v.nonEmpty('a file path'))),
    lockTimeoutSeconds: v.optional(LOCK_TIMEOUT),
    memoryLimit: v.optional(MEMORY_LIMIT),
    threads: v.optional(THREADS),
    thresholds: v.optional(THRESHOLDS_SCHEMA),
    deployments: v.optional(DEPLOYMENTS_SCHEMA),
    /** The scheduler daemon: its API port on 127.0.0.1 (0: any free port), log rotation. */
    scheduler: v.optional(
      section({
        port: v.optional(integer(0, 65_535)),
        logMaxBytes: v.optional(integer(1024, 1024 ** 4, 'an integer number of bytes from 1024 to 1099511627776 (1 TiB)')),
        logFiles: v.optional(integer(1, 1000)),
      }),
    ),
    retention: v.optional(RETENTION_SCHEMA),
    /** What ingest accepts as a trade's time: from earliestTime to now + maxFuture. */
    ingest: v.optional(
      section({
        earliestTime: v.optional(instant),
        maxFuture: v.optional(duration(0, 30 * MICROS_PER_DAY, 'a duration such as 1h or 1d, from 0s to 30d')),
      }),
    ),
  },
  'a JSON object',
)

/** Settings read from `<home>/config.json`, as the schema guarantees them. */
export type FileConfig = v.InferOutput<typeof CONFIG_SCHEMA>

export type ConfigIssue = v.BaseIssue<unknown>

/** A key the schema does not know (strictObject's issue), as opposed to a bad value. */
export function isUnknownKey(issue: ConfigIssue): boolean {
  return issue.type === 'strict_object' && issue.expected === 'never'
}

/** The value as the schema guarantees it, or every issue found (the first of each pipe only). */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown): {output: v.InferOutput<S>; issues?: undefined} | {output?: undefined; issues: ConfigIssue[]} {
  const result = v.safeParse(schema, value, {abortPipeEarly: true})
  return result.success ? {output: result.output} : {issues: result.issues as ConfigIssue[]}
}
