import {Flags} from '@oclif/core'

import {BaseCommand} from '../../base-command.js'

export interface SchedulerStartResult {
  pid: number
  port: number | null
  logFile: string
  foreground: boolean
}

export default class SchedulerStart extends BaseCommand<typeof SchedulerStart> {
  static override summary = 'Start the scheduler: the six deployments (five flows, maintenance) on their crons, one at a time, with a local API.'
  static override description = `Starts a daemon in the background (--foreground stays attached, for systemd and containers). One
scheduler per home: a second start is refused, naming the pid that runs; a pid file left by a crash is recovered,
and runs it left Running are marked Crashed. After downtime each flow whose ticks were missed runs once (catch-up),
unless --no-catch-up. Logs: k2ops scheduler logs.`

  static override examples = [
    '<%= config.bin %> scheduler start',
    '<%= config.bin %> scheduler start --no-catch-up',
    '<%= config.bin %> scheduler start --foreground',
  ]

  static override flags = {
    foreground: Flags.boolean({summary: 'Run the daemon in this process (for systemd and containers); logs also go to stderr.', default: false}),
    'catch-up': Flags.boolean({summary: 'After downtime, run each flow whose ticks were missed once.', default: true, allowNo: true}),
  }

  async run(): Promise<SchedulerStartResult> {
    const {runSchedulerInForeground, startScheduler} = await import('../../pipeline/scheduler/control.js')
    const options = {bin: process.argv[1], catchUp: this.flags['catch-up']}
    if (this.flags.foreground) {
      const {pid, logFile} = await runSchedulerInForeground(this.home, {...options, version: this.config.version, echo: process.stderr})
      return {pid, port: null, logFile, foreground: true}
    }

    const {pid, port, logFile} = await startScheduler(this.home, options)
    if (!this.jsonEnabled()) {
      this.log(`Scheduler started: pid ${pid}, API http://127.0.0.1:${port}`)
      this.log(`Logs: k2ops scheduler logs -f (${logFile})`)
    }

    return {pid, port, logFile, foreground: false}
  }
}
