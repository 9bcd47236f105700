import {appendFileSync} from 'node:fs'

/**
 * An opt-in record of the SQL k2ops sends to Spark, for replaying it by hand (`spark-sql -f FILE`)
 * and for seeing where a command's time goes. With K2OPS_SPARK_SQL_LOG=FILE every request's
 * statements are appended to FILE, each ended by `;`, after one comment line with the request's
 * outcome and timings. Off unless the variable is set; nothing else reads the file.
 */
export function statementLogFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.K2OPS_SPARK_SQL_LOG || undefined
}

export interface LoggedRequest {
  statements: string[]
  /** When it was sent (ms since the epoch). */
  sentAt: number
  /** Time in the driver, as it reported it (undefined when it failed or was lost). */
  driverMs?: number
  /** Time from sending to the answer, in this process. */
  roundTripMs: number
  /** Undefined when it succeeded; else the error's first line. */
  failed?: string
}

/** The entry of one request: a `--` comment line (no `;` in it), then the statements, `;`-terminated. */
export function statementLogEntry(request: LoggedRequest): string {
  const outcome = request.failed === undefined ? 'ok' : `failed: ${request.failed.split('\n')[0].replaceAll(';', ',')}`
  const driver = request.driverMs === undefined ? '' : `, driver ${request.driverMs} ms`
  const head = `-- k2ops pid ${process.pid} request at ${new Date(request.sentAt).toISOString()}: ${request.statements.length} statement(s), ${outcome}${driver}, round trip ${Math.round(request.roundTripMs)} ms`
  return [head, ...request.statements.map((statement) => `${statement.trim().replace(/;+$/, '')};`)].join('\n') + '\n'
}

/** Appends one request to the log (one write: entries of processes sharing a file do not interleave). */
export function logStatements(file: string, request: LoggedRequest): void {
  try {
    appendFileSync(file, statementLogEntry(request), {mode: 0o600})
  } catch {
    // A log that cannot be written never fails the command it describes.
  }
}
