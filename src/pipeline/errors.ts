/**
 * Exit codes are part of the product: scripts and cron depend on them.
 * They are kept here, in one place, and shown in the README and in `k2ops --help`.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  busy: 4,
} as const

/** The exit-code table as shown in `--help` (and the README). */
export const EXIT_CODE_DESCRIPTIONS: Array<[ExitCodeValue, string]> = [
  [ExitCode.ok, 'all good (warnings are printed)'],
  [ExitCode.failed, 'a job failed, a check failed (or warned, with --strict), or a tape had a bad row (nothing from it was stored)'],
  [ExitCode.usage, 'usage or configuration error (unknown flag or timeframe, bad time, missing file, no warehouse)'],
  [ExitCode.busy, 'the warehouse is busy: another process held it beyond --lock-timeout (health daily: its warehouse checks were skipped)'],
]

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** An expected failure: a short message for people, a stable code for scripts, an exit code. */
export class K2Error extends Error {
  readonly code: string
  readonly exit: ExitCodeValue
  readonly hint?: string

  constructor(message: string, options: {code: string; exit: ExitCodeValue; hint?: string; cause?: unknown}) {
    super(message, {cause: options.cause})
    this.name = 'K2Error'
    this.code = options.code
    this.exit = options.exit
    this.hint = options.hint
  }
}

/** Bad flags, arguments, configuration or a missing file: exit 2. */
export class UsageError extends K2Error {
  constructor(message: string, options: {code?: string; hint?: string; cause?: unknown} = {}) {
    super(message, {code: options.code ?? 'usage', exit: ExitCode.usage, hint: options.hint, cause: options.cause})
  }
}

/** Another process holds the warehouse beyond the wait bound: exit 4. */
export class WarehouseBusyError extends K2Error {
  readonly holder?: LockHolder

  constructor(message: string, holder?: LockHolder) {
    super(message, {
      code: 'warehouse_busy',
      exit: ExitCode.busy,
      hint: 'Wait for the other k2ops command to finish, or raise --lock-timeout.',
    })
    this.holder = holder
  }
}

/** Input data that cannot be stored as it is (a bad row in a tape): exit 1, nothing stored. */
export class BadInputError extends K2Error {
  constructor(message: string, options: {hint?: string} = {}) {
    super(message, {code: 'bad_input', exit: ExitCode.failed, hint: options.hint})
  }
}

/** A job (flow run, backfill) that failed: exit 1. */
export class JobFailedError extends K2Error {
  constructor(message: string, options: {cause?: unknown; hint?: string} = {}) {
    super(message, {code: 'job_failed', exit: ExitCode.failed, cause: options.cause, hint: options.hint})
  }
}

export interface LockHolder {
  pid: number
  operation: string
  since: string
  host?: string
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
