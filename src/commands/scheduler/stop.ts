import {Flags} from '@oclif/core'
import {setTimeout as sleep} from 'node:timers/promises'

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
    const {daemonFiles, readDaemonState, readToken, releaseDaemonState, runningDaemon} = await import('../../pipeline/scheduler/daemon-files.js')
    const {isProcessRunning: isAlive} = await import('../../pipeline/process-owner.js')
    const files = daemonFiles(this.home.stateDir, this.home.logsDir)
    const daemon = runningDaemon(files.stateFile)
    if (!daemon) {
      const stale = readDaemonState(files.stateFile)
      if (stale) releaseDaemonState(files.stateFile, stale.pid)
      if (!this.jsonEnabled()) this.log(stale ? `The scheduler is not running (removed the pid file left by pid ${stale.pid}).` : 'The scheduler is not running.')
      return {wasRunning: false, pid: stale?.pid ?? null, stopped: null}
    }

    const token = readToken(files.tokenFile)
    let asked = false
    if (daemon.port && token) {
      const {SchedulerClient} = await import('../../pipeline/scheduler/api-client.js')
      asked = await new SchedulerClient(daemon.port, token)
        .shutdown(this.flags.timeout)
        .then(() => true)
        .catch(() => false)
    }

    if (!asked) process.kill(daemon.pid, 'SIGTERM')
    if (!this.jsonEnabled()) this.logToStderr(`Stopping the scheduler (pid ${daemon.pid}); a running flow has ${this.flags.timeout} s to finish…`)
    const deadline = Date.now() + (this.flags.timeout + 10) * 1000
    while (isAlive(daemon.pid) && Date.now() < deadline) await sleep(100)
    let stopped: SchedulerStopResult['stopped'] = 'gracefully'
    if (isAlive(daemon.pid)) {
      // The daemon leads its process group (it was started detached): its flow process goes too.
      for (const target of [-daemon.pid, daemon.pid]) {
        try {
          process.kill(target, 'SIGKILL')
        } catch {
          // Already gone, or not a group.
        }
      }

      stopped = 'killed'
      releaseDaemonState(files.stateFile, daemon.pid)
    }

    if (!this.jsonEnabled()) this.log(stopped === 'gracefully' ? `Scheduler stopped (pid ${daemon.pid}).` : `Scheduler killed (pid ${daemon.pid}) after it did not stop in time.`)
    return {wasRunning: true, pid: daemon.pid, stopped}
  }
}
