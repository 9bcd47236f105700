import type {SparkResult} from '../spark-engine.js'
import type {Timeframe} from '../../../timeframes.js'

import {sqlString} from '../sql-text.js'
import {SparkTables} from '../tables.js'

// Small pieces of Spark SQL the checks' queries share, and how their rows are read.

/** A TIMESTAMP as formatMicros prints it: seconds, and the microseconds only when there are any. */
export function isoText(timestamp: string): string {
  return `IF(unix_micros(${timestamp}) % 1000000 = 0, date_format(${timestamp}, "yyyy-MM-dd'T'HH:mm:ss'Z'"), date_format(${timestamp}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"))`
}

/** A µs BIGINT as formatMicros text. */
export function isoMicros(micros: string): string {
  return isoText(`timestamp_micros(${micros})`)
}

/** One row (closed, ingested) of a timeframe's flow mark; nulls when the flow never ran. */
export function markRow(tables: SparkTables, tf: Timeframe): string {
  return `(SELECT max(closed_through) AS closed, max(ingested_through) AS ingested FROM ${tables.marks}
     WHERE namespace = ${sqlString(tables.target.namespace)} AND timeframe = ${sqlString(tf)})`
}

/**
 * Is a window pending for its flow (mark `mk` joined)? Not closed by any run yet, or holding a
 * trade ingested after the last run. A flow that never ran has nothing pending.
 */
export function pendingSql(window: string, newestIngestion: string): string {
  return `(mk.closed IS NOT NULL AND coalesce(${window} >= mk.closed OR ${newestIngestion} > mk.ingested, false))`
}

/** A result's rows as objects keyed by column name. */
export function records(result: SparkResult): Array<Record<string, unknown>> {
  return result.rows.map((row) => Object.fromEntries(result.columns.map((column, index) => [column, row[index]])))
}

export const num = (value: unknown): number => Number(value)
export const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value))
export const text = (value: unknown): string => String(value)
