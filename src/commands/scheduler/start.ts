import {Flags} from '@oclif/core'
import {closeSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'

import {BaseCommand} from '../../base-command.js'
import {ExitCode, K2Error} from '../../pipeline/errors.js'

export interface SchedulerStartResult {
  pid: number
  port: number | null
  logFile: string
  foreground: boolean
}

const START_WAIT_MS = 15_000

export default class SchedulerStart extends BaseCommand<typeof SchedulerStart> {
  static override summary = 'Start the scheduler: the five deployments on their crons, one flow at a time, with a local API.'
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
    const home = this.home
    const {daemonFiles, runningDaemon} = await import('../../pipeline/scheduler/daemon-files.js')
    const files = daemonFiles(home.stateDir, home.logsDir)
    const running = runningDaemon(files.stateFile)
    if (running) {
      throw new K2Error(`a scheduler already runs on this home: pid ${running.pid}, since ${running.startedAt}`, {
        code: 'already_running',
        exit: ExitCode.failed,
        hint: 'k2ops scheduler status shows it; k2ops scheduler stop stops it',
      })
    }

    if (this.flags.foreground) {
      const {runDaemon} = await import('../../pipeline/scheduler/daemon.js')
      await runDaemon({home, bin: process.argv[1], version: this.config.version, catchUp: this.flags['catch-up'], echo: process.stderr})
      return {pid: process.pid, port: null, logFile: files.logFile, foreground: true}
    }

    const {pid, port} = await this.startDetached(files)
    if (!this.jsonEnabled()) {
      this.log(`Scheduler started: pid ${pid}, API http://127.0.0.1:${port}`)
      this.log(`Logs: k2ops scheduler logs -f (${files.logFile})`)
    }

    return {pid, port, logFile: files.logFile, foreground: false}
  }

  /** Spawns `scheduler start --foreground` detached, and waits until its API answers. */
  private async startDetached(files: {stateFile: string; logFile: string}): Promise<{pid: number; port: number}> {
    const {spawn} = await import('node:child_process')
    const {readDaemonState} = await import('../../pipeline/scheduler/daemon-files.js')
    const home = this.home
    const {openPrivateFile, privateDir} = await import('../../pipeline/private-files.js')
    privateDir(home.logsDir)
    // What the daemon prints before its log is open (a bad config, a port in use) lands here.
    const outFile = join(home.logsDir, 'scheduler.out')
    const out = openPrivateFile(outFile, 'w')
    const args = [process.argv[1], 'scheduler', 'start', '--foreground', '--home', home.dir, '--warehouse', home.warehouse]
    if (!this.flags['catch-up']) args.push('--no-catch-up')
    const child = spawn(process.execPath, args, {detached: true, stdio: ['ignore', out, out], env: {...process.env, NO_COLOR: '1'}})
    closeSync(out)
    let exited: number | null = null
    child.once('exit', (code) => {
      exited = code ?? 1
    })
    child.unref()
    const deadline = Date.now() + START_WAIT_MS
    while (Date.now() < deadline) {
      if (exited !== null) break
      const state = readDaemonState(files.stateFile)
      if (state && state.pid === child.pid && state.port) return {pid: state.pid, port: state.port}
      await sleep(100)
    }

    const why = readFileSync(outFile, 'utf8').trim().split('\n').filter((line) => line.startsWith('k2ops:')).pop()
    if (exited === null) child.kill('SIGTERM')
    throw new K2Error(why ? why.replace(/^k2ops: /, 'the scheduler did not start: ') : `the scheduler did not start within ${START_WAIT_MS / 1000} s`, {
      code: 'start_failed',
      exit: ExitCode.failed,
      hint: `see ${outFile} and k2ops scheduler logs`,
    })
  }
}
