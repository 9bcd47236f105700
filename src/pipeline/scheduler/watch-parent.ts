import {ExitCode} from '../errors.js'
import {RunHistory} from '../run-history.js'

/**
 * Calls `onGone` once when the process that started this one has ended. Node cannot ask the kernel
 * for a signal on the parent's death (PR_SET_PDEATHSIG), but a dead parent's children are handed to
 * init (or a subreaper) at once, so the parent pid changes: polled every `everyMs`. The timer does
 * not keep the process alive.
 */
function watchParent(parentPid: number, onGone: () => void, everyMs = 250): () => void {
  const check = () => {
    if (process.ppid === parentPid) return
    clearInterval(timer)
    onGone()
  }

  const timer = setInterval(check, everyMs)
  timer.unref()
  // Spawned by a parent that died before this line: no change to wait for.
  queueMicrotask(check)
  return () => clearInterval(timer)
}

export interface SchedulerChildOptions {
  schedulerPid: number
  /** The scheduler's run this process works for, recorded Crashed when the scheduler is gone. */
  runId?: string
  historyFile: string
  /** Says why the process stops (stderr). */
  report: (line: string) => void
}

/**
 * A flow process must not outlive the scheduler that runs it (kill -9 of the daemon): when the
 * scheduler is gone, the run is recorded Crashed and the process exits. The flow's transaction never
 * committed, so the warehouse is left as it was before the run.
 */
export function endWithScheduler(options: SchedulerChildOptions): void {
  watchParent(options.schedulerPid, () => {
    const why = `the scheduler (pid ${options.schedulerPid}) ended while the run was Running; its flow process stopped`
    try {
      if (options.runId) new RunHistory(options.historyFile).finishIfOpen(options.runId, {state: 'Crashed', error: why})
    } finally {
      options.report(`k2ops: ${why}`)
      process.exit(ExitCode.failed)
    }
  })
}
