/**
 * `<rejectsDir>/<input basename>.rejected.csv` (columns line,field,reason,raw): the rows that
 * --skip-bad-rows left out, written as they are found. Created only when there is a reject.
 */
import type {WriteStream} from 'node:fs'

import {createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {basename, join} from 'node:path'

import {UsageError} from '../errors.js'
import {openPrivateFile, privateDir} from '../private-files.js'

export function rejectsPath(rejectsDir: string, file: string): string {
  return join(rejectsDir, `${basename(file)}.rejected.csv`)
}

export const REJECTS_HEADER = 'line,field,reason,raw'

export class RejectsFile {
  count = 0
  private stream?: WriteStream
  private failure?: Error

  constructor(readonly path: string) {}

  add(line: number, field: string, reason: string, raw: string): void {
    if (!this.stream) this.start()
    this.count += 1
    this.stream!.write(`${line},${csvCell(field)},${csvCell(reason)},${csvCell(raw)}\n`)
  }

  /** Waits while the file is behind (flat memory with many rejects); surfaces write errors. */
  async drained(): Promise<void> {
    this.throwIfFailed()
    if (this.stream?.writableNeedDrain) await Promise.race([once(this.stream, 'drain'), once(this.stream, 'close')])
    this.throwIfFailed()
  }

  async close(): Promise<void> {
    const stream = this.stream
    if (!stream) return
    this.stream = undefined
    if (!stream.destroyed) {
      stream.end()
      await once(stream, 'close').catch(() => {})
    }

    this.throwIfFailed()
  }

  private start(): void {
    let fd: number
    try {
      privateDir(join(this.path, '..'))
      fd = openPrivateFile(this.path, 'w')
    } catch (error) {
      throw this.writeError(error as Error)
    }

    this.stream = createWriteStream(this.path, {fd})
    this.stream.on('error', (error) => {
      this.failure = this.writeError(error)
    })
    this.stream.write(`${REJECTS_HEADER}\n`)
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure
  }

  private writeError(error: Error): UsageError {
    return new UsageError(`${this.path}: cannot write the rejected rows (${error.message})`, {code: 'rejects_unwritable'})
  }
}

export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}
