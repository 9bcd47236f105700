import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'

export interface SchedulerStopResult {
  wasRunning: boolean
  pid: number | null
  /** How it ended: gracefully, or killed after the timeout. */
  stopped: 'gracefully' | 'killed' | null
}

export default class SchedulerStop extends BaseCommand<typeof SchedulerStop> {
  static override summary = 'Stop the scheduler gracefully: a running flow completes, or is cancelled at --timeout.'
  static override description = `Asks the daemon to stop (its API, or SIGTERM): it starts no new run, lets the running flow finish
within --timeout seconds and cancels it after that, then exits. If it is still there 10 s later it is killed.
Stopping a scheduler that is not running says so and exits 0.`

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

    return {wasRunning, pid, stopped}
  }
}
