import * as v from 'valibot'
import {createRequire} from 'node:module'

import {ALERTS_SCHEMA} from './alerts/alert-config.js'
import type {ConfigIssue} from './config-rules.js'
import {duration, integer, isPlainObject, nonEmptyText, nonNegative, number, section} from './config-rules.js'
import {MICROS_PER_DAY, MICROS_PER_SECOND, parseIsoInstant} from './time.js'
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
const BACKOFF_ALLOWED = 'a factor from 1 (the same delay every time) to 10'
/** What a failed attempt may be retried for; a data error (a bad tape, a damaged table) never is. */
export const RETRYABLE_FAILURES = ['busy', 'engine', 'other'] as const
const RETRY_ON_ALLOWED = `a list of ${RETRYABLE_FAILURES.join(', ')} (a data error is never retried)`
/** What every deployment may set; a flow's also its lookback. */
const runSettings = {
  cron: v.optional(cron),
  retries: v.optional(integer(0, 100)),
  retryDelaySeconds: v.optional(integer(0, MAX_SECONDS)),
  retryBackoff: v.optional(v.pipe(v.number(BACKOFF_ALLOWED), v.minValue(1, BACKOFF_ALLOWED), v.maxValue(10, BACKOFF_ALLOWED))),
  retryJitterSeconds: v.optional(integer(0, MAX_SECONDS)),
  retryOn: v.optional(v.array(v.picklist(RETRYABLE_FAILURES, RETRY_ON_ALLOWED), RETRY_ON_ALLOWED)),
  timeoutSeconds: v.optional(integer(0, MAX_SECONDS, `an integer from 0 (no timeout) to ${MAX_SECONDS}`)),
  paused: v.optional(v.boolean('true or false')),
}
const {cron: cronSetting, ...otherRunSettings} = runSettings
const lookback = v.optional(duration(MICROS_PER_SECOND, 366 * MICROS_PER_DAY, 'a duration such as 10m, 2h or 2d, from 1s to 366d'))
const deployment = section({cron: cronSetting, lookback, ...otherRunSettings})

/** The maintenance deployment: a flow's settings but the lookback (it recomputes no window). */
const maintenanceDeployment = section(runSettings)

/** The name of the sixth deployment, the daily table maintenance. */
export const MAINTENANCE_DEPLOYMENT = 'maintain-scheduled'
/** The five flows' deployments and the maintenance one. */
export const DEPLOYMENT_COUNT = TIMEFRAMES.length + 1

export const DEPLOYMENTS_SCHEMA = section({
  ...(Object.fromEntries(TIMEFRAMES.map((tf) => [TIMEFRAME_SPECS[tf].deployment, v.optional(deployment)])) as Record<string, v.OptionalSchema<typeof deployment, undefined>>),
  [MAINTENANCE_DEPLOYMENT]: v.optional(maintenanceDeployment),
})

/** Iceberg's own defaults: snapshots kept 5 days (and at least 1), orphan files removed after 3 days. */
export const MIN_ORPHAN_AGE_MICROS = 3 * MICROS_PER_DAY
export const MAINTENANCE_SCHEMA = section({
  snapshotAge: v.optional(duration(0, 3660 * MICROS_PER_DAY, 'a duration such as 5d or 12h, from 0s to 3660d')),
  keepSnapshots: v.optional(integer(1, 100_000, 'a whole number of snapshots from 1 to 100000')),
  orphanAge: v.optional(duration(MIN_ORPHAN_AGE_MICROS, 3660 * MICROS_PER_DAY, 'a duration of at least 3d, such as 3d or 1w (a younger file may belong to a write still in progress)')),
})

/** Days kept per candle table and for the source trades: a century is the longest policy taken. */
export const RETENTION_SCHEMA = section(
  Object.fromEntries([...TIMEFRAMES, 'trades'].map((target) => [target, v.optional(integer(1, 36_500, 'a whole number of days from 1 to 36500'))])) as Record<
    Timeframe | 'trades',
    v.OptionalSchema<ReturnType<typeof integer>, undefined>
  >,
)

const IDENTIFIER_ALLOWED = 'a SQL identifier: letters, digits and _, not starting with a digit'
const identifier = v.pipe(v.string(IDENTIFIER_ALLOWED), v.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, IDENTIFIER_ALLOWED))

// Secrets come from the environment (SparkSession's driver reads them there), never from a file
// that a backup or a support ticket may carry along.
const SECRET_KEY = /secret|password|token|credential|access[.-]?key/i
const SECRET_ALLOWED = 'no secrets here: give the REST catalog\'s credential or token in K2OPS_SPARK_CATALOG_CREDENTIAL or K2OPS_SPARK_CATALOG_TOKEN, S3 keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'
const CONF_VALUE_ALLOWED = 'a string, number or boolean'
/** Spark or catalog properties: text values (numbers and booleans are written as Spark reads them). */
function properties(keyRule: v.GenericSchema<string, string>) {
  return v.pipe(
    v.custom<Record<string, unknown>>(isPlainObject, 'an object of property names and values'),
    v.record(keyRule, v.union([v.string(), v.number(), v.boolean()], CONF_VALUE_ALLOWED)),
  )
}

const propertyName = v.pipe(v.string(), v.nonEmpty('a property name'), v.check((key) => !SECRET_KEY.test(key), SECRET_ALLOWED))
/** k2ops sets these itself: candles are UTC and exact (ANSI mode turns overflows into errors). */
const FIXED_CONF = new Set(['spark.sql.session.timeZone', 'spark.sql.ansi.enabled'])
const sparkConfName = v.pipe(
  propertyName,
  v.check((key) => key.startsWith('spark.'), 'a Spark property name (spark.…)'),
  v.check((key) => !FIXED_CONF.has(key), 'a property k2ops does not set itself (the session time zone is UTC, ANSI mode is on)'),
  v.check((key) => !key.startsWith('spark.sql.catalog.'), 'not a catalog property: give those in spark.catalog (name, type, warehouse, uri, properties)'),
)

export const SPARK_SCHEMA = section({
  master: v.optional(nonEmptyText('a Spark master such as local[2], spark://host:7077, yarn or k8s://https://host:443')),
  sparkHome: v.optional(nonEmptyText('a folder path (a Spark installation, with bin/spark-submit)')),
  jars: v.optional(v.array(nonEmptyText('a jar path or URL'), 'a list of jar paths or URLs')),
  catalog: v.optional(
    section({
      name: v.optional(identifier),
      type: v.optional(v.picklist(['hadoop', 'rest', 'hive'], 'one of hadoop, rest, hive')),
      warehouse: v.optional(nonEmptyText('a warehouse location such as file:///data/iceberg or s3a://bucket/warehouse')),
      uri: v.optional(nonEmptyText('the catalog service URI, such as http://host:8181 (rest) or thrift://host:9083 (hive)')),
      properties: v.optional(properties(propertyName)),
    }),
  ),
  namespace: v.optional(identifier),
  conf: v.optional(properties(sparkConfName)),
  idleTimeout: v.optional(duration(10 * MICROS_PER_SECOND, 7 * MICROS_PER_DAY, 'a duration such as 15m or 1h, from 10s to 7d')),
  startTimeout: v.optional(duration(MICROS_PER_SECOND, MICROS_PER_DAY, 'a duration such as 3m, from 1s to 1d')),
})

export const ENGINE = v.picklist(['duckdb', 'spark'], 'duckdb or spark')

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
        /** How often the daemon runs the freshness checks between runs, for alerts and /metrics (0: never). */
        freshnessSeconds: v.optional(integer(0, 86_400, 'a whole number of seconds from 0 (never) to 86400')),
      }),
    ),
    retention: v.optional(RETENTION_SCHEMA),
    /** Table maintenance (`k2ops maintain`): what Iceberg's snapshot expiry keeps, when orphan files go. */
    maintenance: v.optional(MAINTENANCE_SCHEMA),
    /** What ingest accepts as a trade's time: from earliestTime to now + maxFuture. */
    ingest: v.optional(
      section({
        earliestTime: v.optional(instant),
        maxFuture: v.optional(duration(0, 30 * MICROS_PER_DAY, 'a duration such as 1h or 1d, from 0s to 30d')),
      }),
    ),
    /** Which engine holds the trades and candles: DuckDB (the embedded default) or Spark on Iceberg tables. */
    engine: v.optional(ENGINE),
    spark: v.optional(SPARK_SCHEMA),
    /** Where the scheduler sends alerts (webhook, Slack, PagerDuty), and which. */
    alerts: v.optional(ALERTS_SCHEMA),
  },
  'a JSON object',
)

/** Settings read from `<home>/config.json`, as the schema guarantees them. */
export type FileConfig = v.InferOutput<typeof CONFIG_SCHEMA>

export {isUnknownKey} from './config-rules.js'
export type {ConfigIssue} from './config-rules.js'

/** The value as the schema guarantees it, or every issue found (the first of each pipe only). */
export function validate<S extends v.GenericSchema>(schema: S, value: unknown): {output: v.InferOutput<S>; issues?: undefined} | {output?: undefined; issues: ConfigIssue[]} {
  const result = v.safeParse(schema, value, {abortPipeEarly: true})
  return result.success ? {output: result.output} : {issues: result.issues as ConfigIssue[]}
}
