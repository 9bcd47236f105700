import {readdirSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {Writable} from 'node:stream'

import type {LogLevel, SchedulerLog} from './types.js'

import {PRIVATE_FILE_MODE, privateDir, tighten} from '../private-files.js'

export interface LogOptions {
  file: string
  /** Rotate when the file reaches this size. */
  maxBytes: number
  /** Rotated files kept beside the live one. */
  maxFiles: number
  /** Also write readable lines here (the foreground daemon's stderr: journald, a container log). */
  echo?: NodeJS.WritableStream
}

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
export const DEFAULT_LOG_FILES = 5

/**
 * The daemon's log: one JSON object per line in `<home>/logs/scheduler.log` (pino), rotated by size
 * into numbered files scheduler.log.<n>, of which the newest `maxFiles` are kept (rotating-file-stream), private to the home's owner.
 */
export async function openSchedulerLog(options: LogOptions): Promise<{log: SchedulerLog; close: () => Promise<void>}> {
  const [{pino}, {createStream}] = await Promise.all([import('pino'), import('rotating-file-stream')])
  const name = basename(options.file)
  const dir = dirname(options.file)
  // rotating-file-stream's mode applies to new files only: the live log and its rotations are tightened here.
  privateDir(dir)
  for (const entry of readdirSync(dir)) if (entry === name || entry.startsWith(`${name}.`)) tighten(join(dir, entry), PRIVATE_FILE_MODE)
  const file = createStream((time, index) => (time ? `${name}.${index}` : name), {
    path: dir,
    size: `${Math.max(1, Math.ceil(options.maxBytes / 1024))}K`,
    maxFiles: options.maxFiles,
    mode: PRIVATE_FILE_MODE,
  })
  const streams: Array<{stream: NodeJS.WritableStream; level: LogLevel}> = [{stream: file, level: 'debug'}]
  if (options.echo) streams.push({stream: readableLines(options.echo), level: 'info'})
  const logger = pino(
    {level: 'debug', base: {pid: process.pid}, timestamp: pino.stdTimeFunctions.isoTime, formatters: {level: (label) => ({level: label})}},
    pino.multistream(streams),
  )
  const log: SchedulerLog = (level, event, fields = {}) => logger[level]({event, ...fields})
  const close = () =>
    new Promise<void>((resolve) => {
      file.end(() => resolve())
    })
  return {log, close}
}

/** One log object as a line for people: `2026-11-26T01:00:00.000Z INFO  run.completed flow=… duration_ms=412`. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }

  const {time, level, event, msg, pid: _pid, ...fields} = entry
  const rest = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`)
    .join(' ')
  return `${String(time ?? '')} ${String(level ?? '').toUpperCase().padEnd(5)} ${String(event ?? msg ?? '')}${rest ? ` ${rest}` : ''}`
}

function readableLines(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) target.write(formatLogLine(line) + '\n')
      callback()
    },
  })
}
