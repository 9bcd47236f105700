import {Flags} from '@oclif/core'

import type {WarmDriversStop} from '../../pipeline/engine/warm-drivers.js'

import {BaseCommand} from '../../base-command.js'

export interface SchedulerStopResult {
  wasRunning: boolean
  pid: number | null
  /** How it ended: gracefully, or killed after the timeout. */
  stopped: 'gracefully' | 'killed' | null
  /** On Spark: the home's warm drivers, stopped with the scheduler (absent on DuckDB, which has none). */
  sparkDrivers?: WarmDriversStop
}

export default class SchedulerStop extends BaseCommand<typeof SchedulerStop> {
  static override summary = 'Stop the scheduler gracefully: a running flow completes, or is cancelled at --timeout.'
  static override description = `Asks the daemon to stop (its API, or SIGTERM): it starts no new run, lets the running flow finish
within --timeout seconds and cancels it after that, then exits. If it is still there 10 s later it is killed.
Stopping a scheduler that is not running says so and exits 0.
On the Spark engine it also stops the home's warm Spark drivers, unless a command (an ingest, a backfill) works on the
target now: they are then left up, and the command is named.`

  static override examples = ['<%= config.bin %> scheduler stop', '<%= config.bin %> scheduler stop --timeout 10']

  static override flags = {
    timeout: Flags.integer({summary: 'Seconds a running flow may take to finish before it is cancelled.', default: 60, min: 0}),
  }

  async run(): Promise<SchedulerStopResult> {
    const {stopScheduler} = await import('../../pipeline/scheduler/control.js')
    const {timeout} = this.flags
    const onStopping = (pid: number) => {
      if (!this.jsonEnabled()) this.logToStderr(`Stopping the scheduler (pid ${pid}); a running flow has ${timeout} s to finish…`)
    }

    const {wasRunning, pid, stopped, stalePidFile} = await stopScheduler(this.home, {timeoutSeconds: timeout, onStopping})
    if (!this.jsonEnabled()) {
      if (!wasRunning) this.log(stalePidFile ? `The scheduler is not running (removed the pid file left by pid ${pid}).` : 'The scheduler is not running.')
      else this.log(stopped === 'gracefully' ? `Scheduler stopped (pid ${pid}).` : `Scheduler killed (pid ${pid}) after it did not stop in time.`)
    }

    // After the scheduler, so that its last flow has finished with the driver.
    const {stopWarmDrivers} = await import('../../pipeline/engine/warm-drivers.js')
    const sparkDrivers = await stopWarmDrivers(this.home)
    if (sparkDrivers && !this.jsonEnabled()) this.log(describeDriversStop(sparkDrivers))
    return {wasRunning, pid, stopped, ...(sparkDrivers && {sparkDrivers})}
  }
}

function describeDriversStop(result: WarmDriversStop): string {
  if (result.inUseBy) {
    const pids = result.leftRunning.join(', ')
    return `Left the warm Spark driver up (pid ${pids}): pid ${result.inUseBy.pid} (${result.inUseBy.operation}) works on the target now.`
  }

  if (result.stopped === 0) return 'No warm Spark driver was running.'
  const pids = result.pids.length > 0 ? ` (pid ${result.pids.join(', ')})` : ''
  return result.stopped === 1 ? `Stopped the warm Spark driver${pids}.` : `Stopped ${result.stopped} warm Spark drivers${pids}.`
}
