import {Flags} from '@oclif/core'
import {closeSync, existsSync, openSync, readFileSync, readSync, statSync} from 'node:fs'
import {setTimeout as sleep} from 'node:timers/promises'

import {BaseCommand} from '../../base-command.js'
import {UsageError} from '../../pipeline/errors.js'
import {formatMillis, parseDuration, parseInstant} from '../../pipeline/time.js'

const LEVELS = ['debug', 'info', 'warn', 'error'] as const

export interface SchedulerLogsResult {
  file: string
  /** The last lines, as logged (one JSON object each). */
  entries: Array<Record<string, unknown>>
}

export default class SchedulerLogs extends BaseCommand<typeof SchedulerLogs> {
  static override summary = "Show the scheduler's log: readable lines here, one JSON object per line on disk."
  static override description = `The log is <home>/logs/scheduler.log, rotated by size into scheduler.log.<n> (the newest few are kept; set scheduler.logMaxBytes
and scheduler.logFiles in config.json). --json gives the entries as logged.`

  static override examples = [
    '<%= config.bin %> scheduler logs',
    '<%= config.bin %> scheduler logs -n 100',
    '<%= config.bin %> scheduler logs -f',
    '<%= config.bin %> scheduler logs --since 2h --level warn',
    '<%= config.bin %> scheduler logs --run 3f2a9c1e -n 1000',
  ]

  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'Keep printing new lines as they are logged (Ctrl-C to stop).', default: false, exclusive: ['json']}),
    lines: Flags.integer({char: 'n', summary: 'How many of the last matching lines to show.', default: 20, min: 0}),
    since: Flags.string({summary: 'Only lines logged at or after this instant: ISO-8601, relative (-2h), or a duration back from now (2h).'}),
    level: Flags.option({summary: 'Only lines of this level or worse.', options: LEVELS})(),
    run: Flags.string({summary: 'Only the lines about this run: its id, or its first 8 characters or more (k2ops runs shows them).'}),
  }

  async run(): Promise<SchedulerLogsResult> {
    const {daemonFiles} = await import('../../pipeline/scheduler/daemon-files.js')
    const {formatLogLine} = await import('../../pipeline/scheduler/scheduler-log.js')
    const {logFile} = daemonFiles(this.home.stateDir, this.home.logsDir)
    const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []
    const wanted = this.lineFilter()
    const matching = wanted ? lines.filter(wanted) : lines
    const last = this.flags.lines === 0 ? [] : matching.slice(-this.flags.lines)
    if (this.jsonEnabled()) return {file: logFile, entries: last.map(parseEntry)}
    if (lines.length === 0 && !this.flags.follow) this.log(`No scheduler log yet (${logFile}): k2ops scheduler start writes it.`)
    else if (matching.length === 0 && !this.flags.follow) this.log(`No line of ${logFile} matches (${lines.length} lines in it).`)
    for (const line of last) this.log(formatLogLine(line))
    if (this.flags.follow) await this.follow(logFile, existsSync(logFile) ? statSync(logFile).size : 0, (line) => (!wanted || wanted(line) ? formatLogLine(line) : undefined))
    return {file: logFile, entries: last.map(parseEntry)}
  }

  /** --since, --level and --run as one test of a logged line; undefined when none is given. */
  private lineFilter(): ((line: string) => boolean) | undefined {
    const {since, level, run} = this.flags
    if (since === undefined && level === undefined && run === undefined) return undefined
    const sinceMs = since === undefined ? undefined : parseSince(since)
    const minLevel = level === undefined ? 0 : LEVELS.indexOf(level)
    const runId = run?.trim().toLowerCase()
    if (runId !== undefined && runId.length < 8) throw new UsageError(`--run: '${run}': give at least 8 characters of the run id`, {code: 'unknown_run'})
    return (line) => {
      const entry = parseEntry(line)
      if (sinceMs !== undefined && !(Date.parse(String(entry.time)) >= sinceMs)) return false
      if (LEVELS.indexOf(entry.level as (typeof LEVELS)[number]) < minLevel) return false
      if (runId === undefined) return true
      return [entry.runId, entry.id].some((id) => typeof id === 'string' && id.startsWith(runId))
    }
  }

  /** Prints what is appended; a file that shrank was rotated: read the new one from its start. */
  private async follow(file: string, from: number, format: (line: string) => string | undefined): Promise<never> {
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
      for (const line of lines) {
        const text = line.trim() ? format(line) : undefined
        if (text !== undefined) this.log(text)
      }
    }
  }
}

/** Log times are the machine's clock: `--since` is read against it, not K2OPS_NOW. */
function parseSince(text: string): number {
  const nowMicros = Date.now() * 1000
  const micros = /^\d+[smhdw]$/.test(text.trim()) ? nowMicros - parseDuration(text, '--since') : parseInstant(text, '--since', nowMicros)
  return Math.floor(micros / 1000)
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
