import {createWriteStream, existsSync, renameSync, rmSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {finished} from 'node:stream/promises'

import type {Engine} from './engine/engine.js'
import type {FillMode, FilledCandle} from './gap-fill.js'
import type {ReadTimeframe} from './read-timeframe.js'
import type {ReadCandle} from './resample.js'

import {UsageError} from './errors.js'
import {pauseForTest} from './test-hooks.js'
import {fillGaps} from './gap-fill.js'
import {readTimeframeCandles} from './candle-read.js'
import {sourceOf, sourcesPerWindow, windowOf} from './read-timeframe.js'
import {formatMicros, parseIsoInstant} from './time.js'

// `k2ops candles export`: the candles of many markets over a range, to one file, a chunk of windows
// at a time (memory stays flat whatever the range), written beside the final name and renamed
// over it at the end, so a partial file never appears under that name.

export const EXPORT_FORMATS = ['parquet', 'csv', 'jsonl'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/** Stored candles read per chunk, about: 10,000 keep the peak memory flat (50,000 more than doubled it). */
const CHUNK_SOURCE_ROWS = 10_000

/** The columns of an export, with their types in Parquet (those of the candle tables). */
const COLUMNS = [
  {name: 'symbol', type: 'VARCHAR'},
  {name: 'exchange', type: 'VARCHAR'},
  {name: 'window_start', type: 'TIMESTAMP'},
  {name: 'window_end', type: 'TIMESTAMP'},
  {name: 'open_price', type: 'DECIMAL(18,8)'},
  {name: 'high_price', type: 'DECIMAL(18,8)'},
  {name: 'low_price', type: 'DECIMAL(18,8)'},
  {name: 'close_price', type: 'DECIMAL(18,8)'},
  {name: 'volume', type: 'DECIMAL(38,8)'},
  {name: 'trade_count', type: 'BIGINT'},
  {name: 'vwap', type: 'DECIMAL(18,8)'},
  {name: 'quote_volume', type: 'DECIMAL(38,16)'},
  {name: 'taker_buy_volume', type: 'DECIMAL(38,8)'},
  {name: 'taker_buy_quote_volume', type: 'DECIMAL(38,16)'},
] as const

export interface ExportRequest {
  timeframe: ReadTimeframe
  fromMicros: number
  toMicros: number
  /** These symbols (absent: every one). */
  symbols?: string[]
  exchange?: string
  fill: FillMode
  format: ExportFormat
  out: string
  /** Replace a file already at `out`. */
  force: boolean
  /** Now: windows that have not started are never filled. */
  nowMicros: number
  onChunk?: (progress: {chunk: number; chunks: number; rows: number}) => void
}

export interface ExportResult {
  out: string
  format: ExportFormat
  timeframe: string
  builtFrom: string
  from: string
  to: string
  markets: number
  rows: number
  bytes: number
  durationMs: number
}

/** Refuses what would lose data or cannot work, before anything is read. */
export function checkExportTarget(out: string, force: boolean): void {
  if (!existsSync(dirname(out))) throw new UsageError(`--out: ${dirname(out)} does not exist`, {code: 'bad_path'})
  if (existsSync(out) && !force) throw new UsageError(`--out: ${out} already exists; pass --force to replace it`, {code: 'file_exists'})
}

export async function exportCandles(engine: Pick<Engine, 'readCandles' | 'knownMarkets'>, request: ExportRequest): Promise<ExportResult> {
  checkExportTarget(request.out, request.force)
  const started = Date.now()
  const {timeframe: tf} = request
  const source = sourceOf(tf)
  const markets = (await engine.knownMarkets(source, 1_000_000)).filter(
    (m) => (request.symbols === undefined || request.symbols.includes(m.symbol)) && (request.exchange === undefined || m.exchange === request.exchange),
  )
  const from = windowOf(tf, request.fromMicros).start
  const to = windowOf(tf, request.toMicros - 1).end
  const perChunk = Math.max(1, Math.floor(CHUNK_SOURCE_ROWS / Math.max(1, markets.length) / sourcesPerWindow(tf)))
  const spans = chunkSpans(tf, from, to, perChunk)
  // Every stored candle a chunk can hold: the read never stops short.
  const limit = Math.max(1, markets.length) * perChunk * sourcesPerWindow(tf) + 1000
  const partial = `${request.out}.partial-${process.pid}`
  const csv = request.format === 'parquet' ? `${partial}.csv` : partial
  const cleanup = () => {
    for (const file of [partial, csv]) rmSync(file, {force: true})
  }

  const stop = (signal: NodeJS.Signals) => {
    cleanup()
    process.kill(process.pid, signal)
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop)
  let rows = 0
  try {
    const writer = await openWriter(request.format === 'jsonl' ? 'jsonl' : 'csv', csv, request.fill !== 'none')
    // The last candle of each market so far: what --fill previous carries into the next chunk.
    const carry = new Map<string, ReadCandle>()
    for (const [index, span] of spans.entries()) {
      const traded = markets.length === 0 ? [] : ((await readTimeframeCandles(engine, {symbol: request.symbols, exchange: request.exchange, timeframe: tf, fromMicros: span.start, toMicros: span.end, limit, nowMicros: request.nowMicros})) as ReadCandle[])
      const candles = request.fill === 'none' ? traded : fillChunk(traded, carry, tf, request.fill, {start: span.start, end: Math.min(span.end, windowOf(tf, request.nowMicros).start)})
      for (const candle of candles) writer.write(candle)
      for (const candle of traded) carry.set(`${candle.symbol}\u0000${candle.exchange}`, candle)
      rows += candles.length
      request.onChunk?.({chunk: index + 1, chunks: spans.length, rows})
      await writer.drained()
      await pauseForTest('after-export-chunk')
    }

    await writer.close()
    if (request.format === 'parquet') {
      const {csvToParquet} = await import('./engine/duckdb/csv-to-parquet.js')
      await csvToParquet(csv, partial, [...COLUMNS, ...(request.fill === 'none' ? [] : [{name: 'filled', type: 'BOOLEAN'}])], dirname(request.out))
      rmSync(csv, {force: true})
    }

    renameSync(partial, request.out)
  } catch (error) {
    cleanup()
    throw error
  } finally {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.removeListener(signal, stop)
  }

  const result = {out: request.out, format: request.format, timeframe: tf.name, builtFrom: source, from: formatMicros(from), to: formatMicros(to), markets: markets.length, rows}
  return {...result, bytes: statSync(request.out).size, durationMs: Date.now() - started}
}

/** The chunk's candles with its gaps filled, carrying each market's last close from the chunks before. */
function fillChunk(traded: ReadCandle[], carry: Map<string, ReadCandle>, tf: ReadTimeframe, mode: Exclude<FillMode, 'none'>, span: {start: number; end: number}): FilledCandle[] {
  const seeded = [...carry.values(), ...traded]
  return fillGaps(seeded, tf, mode, span.end).filter((c) => parseIsoInstant(c.window_start, 'candle') >= span.start)
}

/** [from, to) cut into spans of `perChunk` windows of `tf`. */
function chunkSpans(tf: ReadTimeframe, from: number, to: number, perChunk: number): Array<{start: number; end: number}> {
  const spans: Array<{start: number; end: number}> = []
  let start = from
  while (start < to) {
    let end = start
    for (let n = 0; n < perChunk && end < to; n++) end = windowOf(tf, end).end
    spans.push({start, end})
    start = end
  }

  return spans
}

interface RowWriter {
  write(candle: ReadCandle | FilledCandle): void
  /** Resolves once what was written has gone to the file (back-pressure). */
  drained(): Promise<void>
  close(): Promise<void>
}

async function openWriter(format: 'csv' | 'jsonl', file: string, filled: boolean): Promise<RowWriter> {
  const names = [...COLUMNS.map((c) => c.name), ...(filled ? ['filled'] : [])]
  const out = createWriteStream(file, {mode: 0o600})
  const values = (candle: ReadCandle | FilledCandle) => names.map((name) => (candle as unknown as Record<string, string | boolean | null>)[name] ?? null)
  if (format === 'jsonl') {
    return streamWriter(out, (candle) => {
      const all = values(candle)
      const row = Object.fromEntries(names.map((name, i) => [name, all[i]]))
      // Counts are numbers; decimals stay exact text.
      if (row.trade_count !== null) row.trade_count = Number(row.trade_count) as unknown as string
      return JSON.stringify(row) + '\n'
    })
  }

  const {stringify} = await import('csv-stringify/sync')
  out.write(stringify([names]))
  return streamWriter(out, (candle) => stringify([values(candle).map((value) => (value === null ? '' : String(value)))]))
}

function streamWriter(out: NodeJS.WritableStream & {writableNeedDrain: boolean; end(): void}, line: (candle: ReadCandle | FilledCandle) => string): RowWriter {
  return {
    write: (candle) => void out.write(line(candle)),
    drained: () => (out.writableNeedDrain ? new Promise((resolve) => out.once('drain', () => resolve())) : Promise.resolve()),
    close: async () => {
      out.end()
      await finished(out as unknown as NodeJS.WritableStream)
    },
  }
}
