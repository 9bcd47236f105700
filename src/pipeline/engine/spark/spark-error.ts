import {ExitCode, K2Error} from '../../errors.js'

/** What the driver answers for a statement that failed. */
export interface DriverFailure {
  error: string
  /** The exception's class: AnalysisException, ParseException, ValidationException, … */
  kind: string
  /** Spark's error class (TABLE_OR_VIEW_NOT_FOUND, …) and SQL state, where Spark gives them. */
  errorClass?: string
  sqlState?: string
}

/**
 * A Spark statement or the Spark driver failed: exit 1, one line for people. The stack trace stays
 * in the driver's log, which the hint names; the fields let callers tell one failure from another
 * (a missing table is errorClass TABLE_OR_VIEW_NOT_FOUND).
 */
export class SparkError extends K2Error {
  readonly kind: string
  readonly errorClass?: string
  readonly sqlState?: string
  readonly logFile: string

  constructor(failure: DriverFailure, logFile: string, options: {code?: string} = {}) {
    super(`Spark: ${oneLine(failure.error)}`, {code: options.code ?? 'spark_failed', exit: ExitCode.failed, hint: `The Spark driver's log has the details: ${logFile}`})
    this.name = 'SparkError'
    this.kind = failure.kind
    this.errorClass = failure.errorClass
    this.sqlState = failure.sqlState
    this.logFile = logFile
  }
}

export function oneLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'unknown error'
  )
}
