import type {RunRecord} from '../run-history.js'
import type {FailureKind, FlowExecutor, FlowOutcome} from './types.js'

import {ExitCode} from '../errors.js'

import {FLOW_FIELDS} from './types.js'

export interface ChildExecutorOptions {
  /** bin/run.js of this k2ops. */
  bin: string
  home: string
  warehouse: string
  /** Extra environment for the child (tests pin K2OPS_NOW with it). */
  env?: NodeJS.ProcessEnv
}

/**
 * Runs each attempt as a child `k2ops trigger TF --run-by-scheduler` (or `k2ops maintain`) process: a flow that hangs or
 * crashes takes only its own process with it, a timeout kills it, and the daemon itself never holds
 * the warehouse (it is opened and closed by the child, as by any other command). The child watches
 * this process: if the daemon dies (kill -9), it records the run Crashed and stops (watch-parent.ts).
 */
export function childProcessExecutor(options: ChildExecutorOptions): FlowExecutor {
  return async (deployment, run, signal) => {
    const {execa} = await import('execa')
    const lookbackSeconds = Math.max(1, Math.round(deployment.lookbackMicros / 1_000_000))
    // A flow runs with its deployment's lookback; maintenance has none.
    const lookback = deployment.timeframe === null ? [] : ['--lookback', `${lookbackSeconds}s`]
    const result = await execa(
      process.execPath,
      [options.bin, ...deployment.command, '--json', ...lookback, '--home', options.home, '--warehouse', options.warehouse, '--run-by-scheduler', '--run-id', run.id, '--scheduler-pid', String(process.pid)],
      {reject: false, cancelSignal: signal, forceKillAfterDelay: 5000, env: {...options.env, NO_COLOR: '1'}, stdin: 'ignore'},
    )
    return outcomeOf(result.stdout, result.stderr, result.exitCode, result.isCanceled)
  }
}

function outcomeOf(stdout: string, stderr: string, exitCode: number | undefined, canceled: boolean): FlowOutcome {
  if (canceled) return {state: 'Failed', error: 'the flow process was stopped'}
  let parsed: {runs?: RunRecord[]; error?: {message?: string; code?: string}} | undefined
  try {
    parsed = JSON.parse(stdout) as typeof parsed
  } catch {
    parsed = undefined
  }

  const run = parsed?.runs?.[0]
  if (exitCode === 0 && run?.state === 'Completed') {
    return {state: 'Completed', fields: Object.fromEntries(FLOW_FIELDS.map((key) => [key, run[key]]))}
  }

  // A job without flow runs (maintenance): its exit code tells.
  if (exitCode === 0 && parsed && !parsed.runs && !parsed.error) return {state: 'Completed'}

  const why = run?.error ?? parsed?.error?.message ?? (stderr.trim().split('\n').pop() || `the flow process exited ${exitCode}`)
  return {state: 'Failed', error: why, failure: failureKind(exitCode, parsed?.error?.code)}
}

/** The error codes of an engine that could not start (Java or Spark missing, the driver not coming up or lost). */
const ENGINE_START_FAILURES = new Set(['java_not_found', 'spark_not_installed', 'spark_start_failed', 'spark_start_timeout', 'spark_driver_lost'])
/** Errors in the data or the tables: another attempt would find the same. */
const DATA_ERRORS = new Set(['bad_input', 'schema_mismatch', 'spark_table_damaged', 'spark_file_missing'])

function failureKind(exitCode: number | undefined, code: string | undefined): FailureKind {
  if (exitCode === ExitCode.busy) return 'busy'
  if (code !== undefined && ENGINE_START_FAILURES.has(code)) return 'engine'
  if (code !== undefined && DATA_ERRORS.has(code)) return 'data'
  return 'other'
}
