import type {Home} from './home.js'

import {setTimeout as sleep} from 'node:timers/promises'

import {ExitCode, K2Error} from './errors.js'
import {FINAL_STATES, RunHistory, RunRecord} from './run-history.js'
import {findRun} from './run-lookup.js'
import {formatMillis} from './time.js'

export interface CancelOutcome {
  /** The run as recorded once it ended. */
  run: RunRecord
  /**
   * queued: removed from the scheduler's queue, it never started; scheduler: the daemon stopped its
   * flow process; signal: its own process (a command) took the SIGTERM and recorded it; killed: that
   * process ignored SIGTERM and was killed; already: it was Cancelled before.
   */
  how: 'queued' | 'scheduler' | 'signal' | 'killed' | 'already'
}

export interface CancelOptions {
  /** Who cancels: stored in the run record. */
  by: string
  /** How long the run may take to stop before it is killed (a command's) or reported (the scheduler's). */
  timeoutMs: number
}

/**
 * Cancels a queued or running run, wherever it runs: one of the scheduler's through its API (the
 * daemon stops the flow's process), one of a command (`k2ops backfill` in a terminal) by a SIGTERM
 * to its process, which records it Cancelled and keeps the units of work it finished; a process
 * that outlasts the timeout is killed, and the run recorded Cancelled here.
 */
export async function cancelRun(home: Home, idOrPrefix: string, options: CancelOptions): Promise<CancelOutcome> {
  const history = new RunHistory(home.runHistoryFile)
  const run = findRun(history, idOrPrefix)
  if (run.state === 'Cancelled') return {run, how: 'already'}
  if (FINAL_STATES.has(run.state)) {
    throw new K2Error(`run ${run.id} already ended ${run.state}${run.endedAt ? ` at ${run.endedAt}` : ''}: nothing to cancel`, {code: 'run_ended', exit: ExitCode.failed})
  }

  const {connectToScheduler, findDaemon} = await import('./scheduler/control.js')
  const scheduler = await connectToScheduler(home)
  if (scheduler && scheduler.pid === run.pid) {
    const {waitForRun} = await import('./scheduler/daemon-api.js')
    const asked = await scheduler.api.cancel(run.id, options.by)
    if (!asked.wasRunning) return {run: asked.flow_run, how: 'queued'}
    return {run: await waitForRun(scheduler.api, asked.flow_run, {timeoutMs: options.timeoutMs}), how: 'scheduler'}
  }

  // A run of the daemon is never cancelled by a signal to its process: that would stop the scheduler.
  const daemon = findDaemon(home)
  if (run.state === 'Scheduled' || (daemon.status === 'running' && daemon.daemon.pid === run.pid)) {
    throw new K2Error(`run ${run.id} belongs to the scheduler (pid ${run.pid}), whose API does not answer`, {code: 'scheduler_unreachable', exit: ExitCode.failed, hint: 'k2ops scheduler status says why'})
  }

  return cancelCommandRun(history, run, options)
}

async function cancelCommandRun(history: RunHistory, run: RunRecord, options: CancelOptions): Promise<CancelOutcome> {
  signal(run.pid, 'SIGTERM')
  const deadline = Date.now() + options.timeoutMs
  let how: CancelOutcome['how'] = 'signal'
  let ended = history.get(run.id)
  while (ended && !FINAL_STATES.has(ended.state) && Date.now() < deadline) {
    await sleep(100)
    ended = history.get(run.id)
  }

  if (!ended || !FINAL_STATES.has(ended.state)) {
    signal(run.pid, 'SIGKILL')
    how = 'killed'
    const why = `killed by ${options.by}: it did not stop within ${Math.round(options.timeoutMs / 1000)} s of a SIGTERM`
    ended = history.finishIfOpen(run.id, {state: 'Cancelled', error: why}) ?? history.get(run.id)
  }

  if (!ended) throw new K2Error(`run ${run.id} is gone from the run history`, {code: 'unknown_run', exit: ExitCode.failed})
  // A run that ended on its own meanwhile (Completed) keeps its state: nobody cancelled it.
  if (ended.state !== 'Cancelled' && ended.state !== 'Crashed') return {run: ended, how}
  const at = formatMillis(Date.now())
  return {run: history.write({...ended, state: 'Cancelled', cancelledBy: options.by, cancelledAt: at}), how}
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch (error) {
    // Gone already: its run reads as Crashed, or it recorded itself before it ended.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}
