import {UsageError} from '../errors.js'

/** What the Spark engine does not run yet: retention and recover. */
export type SparkGap = 'retention' | 'recover'

const WHAT: Record<SparkGap, string> = {
  retention: 'retention does not',
  recover: 'recover does not',
}

/** The refusal (exit 2) of an operation the Spark engine does not run yet. */
export function notOnSpark(gap: SparkGap): UsageError {
  return new UsageError(`${WHAT[gap]} run on the Spark engine yet`, {code: 'engine_unsupported', hint: 'Use a home on the DuckDB engine for it (engine: duckdb).'})
}

/** Refuses before anything is opened (no Spark start for a command that would be refused). */
export function refuseOnSpark(home: {engine: string}, gap: SparkGap): void {
  if (home.engine === 'spark') throw notOnSpark(gap)
}
