import {Flags} from '@oclif/core'
import {closeSync, existsSync, openSync, readFileSync, readSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {BaseCommand} from '../../base-command.js'
import {formatMillis} from '../../pipeline/time.js'

export interface SchedulerLogsResult {
  file: string
  /** The last lines, as logged (one JSON object each). */
  entries: Array<Record<string, unknown>>
}

export default class SchedulerLogs extends BaseCommand<typeof SchedulerLogs> {
  static override summary = "Show the scheduler's log: readable lines here, one JSON object per line on disk."
  static override description = `The log is <home>/logs/scheduler.log, rotated by size into scheduler.log.<n> (the newest few are kept; set scheduler.logMaxBytes
and scheduler.logFiles in config.json). --json gives the entries as logged.`

  static override examples = ['<%= config.bin %> scheduler logs', '<%= config.bin %> scheduler logs -n 100', '<%= config.bin %> scheduler logs -f']

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines as they are logged (Ctrl-C to stop).', default: false, exclusive: ['json']}),
    lines: Flags.integer({char: 'n', summary: 'How many of the last lines to show.', default: 20, min: 0}),
  }

  async run(): Promise<SchedulerLogsResult> {
    const {daemonFiles} = await import('../../pipeline/scheduler/daemon-files.js')
    const {formatLogLine} = await import('../../pipeline/scheduler/scheduler-log.js')
    const {logFile} = daemonFiles(this.home.stateDir, this.home.logsDir)
    const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []
    const last = this.flags.lines === 0 ? [] : lines.slice(-this.flags.lines)
    if (this.jsonEnabled()) return {file: logFile, entries: last.map(parseEntry)}
    if (lines.length === 0 && !this.flags.follow) this.log(`No scheduler log yet (${logFile}): k2ops scheduler start writes it.`)
    for (const line of last) this.log(formatLogLine(line))
    if (this.flags.follow) await this.follow(logFile, existsSync(logFile) ? statSync(logFile).size : 0, formatLogLine)
    return {file: logFile, entries: last.map(parseEntry)}
  }

  /** Prints what is appended; a file that shrank was rotated: read the new one from its start. */
  private async follow(file: string, from: number, format: (line: string) => string): Promise<never> {
    let position = from
    let partial = ''
    for (;;) {
      await sleep(300)
      if (!existsSync(file)) continue
      const size = statSync(file).size
      if (size < position) position = 0
      if (size === position) continue
      const fd = openSync(file, 'r')
      const buffer = Buffer.alloc(size - position)
      readSync(fd, buffer, 0, buffer.length, position)
      closeSync(fd)
      position = size
      const text = partial + buffer.toString('utf8')
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) if (line.trim()) this.log(format(line))
    }
  }
}

function parseEntry(line: string): Record<string, unknown> {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>
    // pino stamps `2024-08-08T23:55:00.123Z`; --json prints every instant as formatMicros does.
    const time = typeof entry.time === 'string' ? Date.parse(entry.time) : Number.NaN
    return Number.isNaN(time) ? entry : {...entry, time: formatMillis(time)}
  } catch {
    return {msg: line}
  }
}
