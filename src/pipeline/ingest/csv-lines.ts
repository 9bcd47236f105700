/**
 * Streaming CSV for trade tapes: bytes → physical lines (exact 1-based line numbers, CRLF or LF,
 * BOM dropped) → fields. Exchange tapes never quote, so a line without `"` is split on commas;
 * a line with quotes goes through csv-parse. (csv-parse's streaming parser tops out near 165k
 * rows/s on these tapes before any other work, well under the ingest target; splitting physical
 * lines first keeps line numbers exact and leaves csv-parse for the rare quoted line.)
 * A quoted field may therefore not span lines: trade tapes have no such fields.
 */
import {StringDecoder} from 'node:string_decoder'

import {parse} from 'csv-parse/sync'

import {RowProblem, STAGED_SEPARATOR} from './row-parsers.js'
import {firstLine} from '../words.js'

/** A longer "line" means this is not a line-oriented text file. */
export const MAX_LINE_CHARS = 1 << 20

export class LineTooLongError extends Error {
  constructor(readonly lineNumber: number) {
    super(`line ${lineNumber} is longer than ${MAX_LINE_CHARS} characters`)
  }
}

/** The complete lines of one read (CR of CRLF dropped); `text` is them as read. */
export interface LineChunk {
  lines: string[]
  text: string
  /** No quote and no 0x1F anywhere in `text`: every line can take `splitPlainLine`. */
  plain: boolean
}

/** Yields the physical lines of each chunk (the last partial line waits for the next chunk). */
export async function* readLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<LineChunk> {
  const decoder = new StringDecoder('utf8')
  let rest = ''
  let first = true
  let yielded = 0
  for await (const chunk of chunks) {
    if (rest.length > MAX_LINE_CHARS) throw new LineTooLongError(yielded + 1)
    let text = rest + decoder.write(chunk)
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      first = false
    }

    const end = text.lastIndexOf('\n')
    if (end === -1) {
      rest = text
      continue
    }

    rest = text.slice(end + 1)
    const complete = text.slice(0, end)
    const lines = complete.split('\n')
    yielded += lines.length
    dropCarriageReturns(lines)
    yield {lines, text: complete, plain: isPlain(complete)}
  }

  rest += decoder.end()
  if (rest.length > MAX_LINE_CHARS) throw new LineTooLongError(yielded + 1)
  if (rest.length > 0) {
    const lines = [rest]
    dropCarriageReturns(lines)
    yield {lines, text: rest, plain: isPlain(rest)}
  }
}

function isPlain(text: string): boolean {
  return !text.includes('"') && !text.includes(STAGED_SEPARATOR)
}

function dropCarriageReturns(lines: string[]): void {
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1)
  }
}

/** An empty or whitespace-only line (skipped, but still counted for line numbers). */
export function isBlankLine(line: string): boolean {
  if (line.length === 0) return true
  const c = line.charCodeAt(0)
  return (c === 32 || c === 9) && line.trim() === ''
}

/** The fields of a line known to hold no quote (faster than String.prototype.split here). */
export function splitPlainLine(line: string): string[] {
  const fields: string[] = []
  let start = 0
  let comma = line.indexOf(',')
  while (comma !== -1) {
    fields.push(line.slice(start, comma))
    start = comma + 1
    comma = line.indexOf(',', start)
  }

  fields.push(line.slice(start))
  return fields
}

/**
 * The fields of one line: a plain split when there is no quote, csv-parse otherwise.
 * Returns a problem for malformed quoting or a control character that staging reserves.
 */
export function splitLine(line: string): string[] | RowProblem {
  if (line.includes(STAGED_SEPARATOR)) return {field: 'row', reason: 'holds a control character (0x1F)'}
  if (!line.includes('"')) return splitPlainLine(line)
  let records: string[][]
  try {
    records = parse(line, {relax_column_count: true}) as string[][]
  } catch (error) {
    return {field: 'row', reason: `malformed CSV quoting (${firstLine((error as Error).message)})`}
  }

  if (records.length !== 1) return {field: 'row', reason: 'malformed CSV quoting'}
  return records[0]
}

export function isProblem(value: unknown): value is RowProblem {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

