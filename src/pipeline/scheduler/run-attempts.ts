import type {Deployment} from '../deployments.js'
import type {RunRecord} from '../run-history.js'
import type {RunRecorder} from './run-records.js'
import type {Clock, FailureKind, FlowExecutor, FlowOutcome} from './types.js'

import {errorMessage} from '../errors.js'

/** Why an attempt's signal was aborted (AbortSignal.reason). */
const TIMED_OUT = 'timed out'
export const STOPPED = 'scheduler stopped'
const CANCELLED = 'cancelled'

const NOT_RETRIED = 'not retried: the scheduler stopped'

/** How one attempt ended, as recorded. */
export interface AttemptResult {
  state: 'Completed' | 'Failed' | 'TimedOut' | 'Cancelled'
  error?: string
  fields?: FlowOutcome['fields']
  /** A run cancelled by someone (not by a scheduler stop): who and when. */
  cancelled?: Cancellation
  failure?: FailureKind
}

export interface Cancellation {
  by: string
  atMs: number
}

/** The run in the runner's one slot. */
export interface CurrentRun {
  record: RunRecord
  /** The running attempt's signal; null between attempts (waiting to retry). */
  attempt: AbortController | null
  /** Set by cancelRun. */
  cancelled?: Cancellation
  /** Aborted by cancelRun: ends a wait to retry. */
  cancelSignal?: AbortController
}

/**
 * Cancels the run in the slot: its attempt is aborted (the executor stops the flow's process) and
 * the run is recorded Cancelled, by `by`, once the executor has let go; a run waiting to retry ends at once.
 */
export function cancelRun(current: CurrentRun, cancellation: Cancellation): void {
  current.cancelled ??= cancellation
  current.attempt?.abort(CANCELLED)
  current.cancelSignal?.abort()
}

/** What a run's attempts need of the runner. */
export interface AttemptContext {
  executor: FlowExecutor
  clock: Clock
  records: RunRecorder
  /** Interrupts the retry waits when stopping. */
  stopSignal: AbortSignal
  stopping: () => boolean
  /** The runner's slot: kept up to date with the run's record and its running attempt. */
  current: CurrentRun
}

/** Runs a queued run's attempts (retrying failures as its deployment says) and records how it ended. */
export async function runAttempts(context: AttemptContext, deployment: Deployment, queued: RunRecord): Promise<void> {
  const {records} = context
  let record = queued
  let note = queued.note
  const cancelSignal = new AbortController()
  context.current.cancelSignal = cancelSignal
  for (let attempt = 1; ; attempt++) {
    record = records.running(record, attempt, note)
    context.current.record = record
    context.current.attempt = null
    const result = await attemptOnce(context, deployment, record)
    const retry = result.state === 'Failed' && attempt <= deployment.retries && isRetryable(deployment, result.failure)
    if (!retry || context.stopping() || context.current.cancelled) {
      records.finish(record, result, retry ? NOT_RETRIED : undefined)
      return
    }

    const delayMs = retryDelayMs(deployment, attempt)
    records.logRun('warn', 'run.retry', record, {error: result.error, failure: result.failure ?? 'other', delaySeconds: delayMs / 1000})
    note = `attempt ${attempt} failed: ${result.error ?? 'no reason given'}`
    // The runner keeps the slot while it waits: nothing else runs meanwhile. Simple and
    // predictable (the flow's retry comes before the ticks queued behind it), at the cost of up
    // to retries × retryDelaySeconds of delay for the other flows.
    await context.clock.sleep(delayMs, AbortSignal.any([context.stopSignal, cancelSignal.signal]))
    const {cancelled} = context.current
    if (cancelled) {
      records.finish(record, cancelledResult(cancelled, result.fields))
      return
    }

    if (context.stopping()) {
      records.finish(record, result, NOT_RETRIED)
      return
    }
  }
}

/**
 * One call of the executor, aborted after timeoutSeconds (0: no timeout). The executor's promise
 * is always awaited, even after the abort, so the next flow starts only when this one has let go
 * of the warehouse.
 */
async function attemptOnce(context: AttemptContext, deployment: Deployment, record: RunRecord): Promise<AttemptResult> {
  const abort = new AbortController()
  context.current.attempt = abort
  const timer = new AbortController()
  if (deployment.timeoutSeconds > 0) {
    void context.clock.sleep(deployment.timeoutSeconds * 1000, timer.signal).then(() => {
      if (!timer.signal.aborted) abort.abort(TIMED_OUT)
    })
  }

  try {
    const outcome = await callExecutor(context.executor, deployment, record, abort.signal)
    return attemptResult(outcome, abort.signal, deployment, context.current.cancelled)
  } finally {
    timer.abort()
    context.current.attempt = null
  }
}

async function callExecutor(executor: FlowExecutor, deployment: Deployment, record: RunRecord, signal: AbortSignal): Promise<FlowOutcome> {
  try {
    return await executor(deployment, {...record}, signal)
  } catch (error) {
    return {state: 'Failed', error: errorMessage(error)}
  }
}

function attemptResult(outcome: FlowOutcome, signal: AbortSignal, deployment: Deployment, cancelled: Cancellation | undefined): AttemptResult {
  // A flow that managed to complete did its work, whatever happened to the signal meanwhile.
  if (outcome.state === 'Completed' || !signal.aborted) return outcome
  if (signal.reason === CANCELLED && cancelled) return cancelledResult(cancelled, outcome.fields)
  if (signal.reason === TIMED_OUT) {
    // Final, no retry: a hung flow would hang again and block every other flow meanwhile.
    return {state: 'TimedOut', error: `timed out after ${deployment.timeoutSeconds} s (timeoutSeconds of ${deployment.name}); the flow was stopped`, fields: outcome.fields}
  }

  return {state: 'Cancelled', error: 'the scheduler stopped and the flow did not finish within the stop timeout', fields: outcome.fields}
}

function cancelledResult(cancelled: Cancellation, fields: FlowOutcome['fields']): AttemptResult {
  return {state: 'Cancelled', error: `cancelled by ${cancelled.by}`, fields, cancelled}
}

/** A data error is never retried; the others as the deployment's retryOn says (absent kind: other). */
function isRetryable(deployment: Deployment, failure: FailureKind | undefined): boolean {
  const kind = failure ?? 'other'
  return kind !== 'data' && deployment.retryOn.includes(kind)
}

/** retryDelaySeconds × retryBackoff^(attempt − 1), plus a random jitter up to retryJitterSeconds. */
export function retryDelayMs(deployment: Pick<Deployment, 'retryDelaySeconds' | 'retryBackoff' | 'retryJitterSeconds'>, attempt: number): number {
  const base = deployment.retryDelaySeconds * deployment.retryBackoff ** (attempt - 1)
  return Math.round((base + Math.random() * deployment.retryJitterSeconds) * 1000)
}
