/**
 * A CSV tape (plain, .gz or .zip) → the staging table: detect the layout on the first non-empty
 * line, validate every row in JS, stage the good ones, and either stop at the first bad row
 * (BadInputError `FILE:LINE: FIELD: what is wrong`) or, with skipBadRows, write it to the rejects file.
 */
import type {IngestOptions} from '../../../ingest/ingest-types.js'
import type {RowSource, StagedTape} from './staged-types.js'
import type {Staging} from './staging.js'

import {BadInputError, UsageError} from '../../../errors.js'
import {LineTooLongError, MAX_LINE_CHARS, isBlankLine, isProblem, readLines, splitLine, splitPlainLine} from '../../../ingest/csv-lines.js'
import {normaliseSymbol, resolveTapeNames} from '../../../ingest/market-names.js'
import {RejectsFile, rejectsPath} from '../../../ingest/rejects-file.js'
import {RowCheck, RowCheckContext, SKIP, STAGED_SEPARATOR, newRowCheckContext, rowCheckFor} from '../../../ingest/row-parsers.js'
import {parsedRowsSql} from './staged-sql.js'
import {TAPE_FORMATS, TapeLayout, detectLayout, preview} from '../../../ingest/tape-format.js'
import {openTapeBytes} from '../../../ingest/tape-reader.js'
import {GrowingTimeHistogram} from '../../../ingest/time-slices.js'

const PROGRESS_EVERY = 100_000
/**
 * Staged lines are appended in blocks of about this many bytes: few appender calls, yet below
 * DuckDB's 4 KiB string block limit, so the blocks stay in spillable storage (longer strings are
 * kept as in-memory "overflow strings", which ran a 10M-row tape out of memory).
 */
const BLOCK_BYTES = 3900

export async function stageCsvTape(
  file: string,
  container: 'plain' | 'gzip' | 'zip',
  fileSize: number,
  options: IngestOptions,
  staging: Staging,
): Promise<StagedTape> {
  const tape = await openTapeBytes(file, container, fileSize)
  const rejects = options.skipBadRows ? new RejectsFile(rejectsPath(options.rejectsDir, file)) : undefined
  const context: RowCheckContext = newRowCheckContext(options.timeWindow!)
  const progress = () => options.onProgress?.({file, rows: rowsRead, bytesRead: tape.bytesRead(), totalBytes: tape.totalBytes})
  let layout: TapeLayout | undefined
  let names: {exchange?: string; symbol?: string} = {}
  let check: RowCheck = () => SKIP
  let lineNumber = 0
  let rowsRead = 0
  let skippedNonMarket = 0
  let rejoined = false
  let minMicros = Number.POSITIVE_INFINITY
  let maxMicros = Number.NEGATIVE_INFINITY
  const histogram = new GrowingTimeHistogram()

  try {
    await staging.open()
    const batch: string[] = []
    const batchLines: number[] = []
    let batchChars = 0
    let batchLo = Number.POSITIVE_INFINITY
    let batchHi = Number.NEGATIVE_INFINITY
    const flushBatch = () => {
      staging.appendBlock(batch.join('\n'), batchLines, batchLo, batchHi)
      batch.length = 0
      batchLines.length = 0
      batchChars = 0
      batchLo = Number.POSITIVE_INFINITY
      batchHi = Number.NEGATIVE_INFINITY
    }

    for await (const chunk of readLines(tape.chunks)) {
      const blockChars = Buffer.byteLength(chunk.text) === chunk.text.length ? BLOCK_BYTES : Math.floor(BLOCK_BYTES / 3)
      for (const line of chunk.lines) {
        lineNumber++
        if (isBlankLine(line)) continue

        const fields = chunk.plain ? splitPlainLine(line) : splitLine(line)
        if (layout === undefined) {
          layout = detect(file, fields, options)
          names = resolveTapeNames(file, layout, options)
          context.symbolOverride = names.symbol
          context.exchangeOverride = names.exchange
          check = rowCheckFor(layout, context)
          if (layout.hasHeader) continue
        }

        rowsRead++
        const verdict = isProblem(fields) ? fields : check(fields)
        if (typeof verdict === 'number') {
          if (!chunk.plain && line.includes('"')) {
            const rec = (fields as string[]).join(STAGED_SEPARATOR)
            batch.push(rec)
            batchChars += rec.length + 1
            rejoined = true
          } else {
            batch.push(line)
            batchChars += line.length + 1
          }

          batchLines.push(lineNumber)
          if (verdict < batchLo) batchLo = verdict
          if (verdict > batchHi) batchHi = verdict
          histogram.add(verdict)
          if (batchChars >= blockChars) {
            if (batchLo < minMicros) minMicros = batchLo
            if (batchHi > maxMicros) maxMicros = batchHi
            flushBatch()
          }
        } else {
          if (verdict === SKIP) {
            skippedNonMarket++
          } else if (rejects) {
            rejects.add(lineNumber, verdict.field, verdict.reason, line)
          } else {
            throw new BadInputError(`${file}:${lineNumber}: ${verdict.field}: ${verdict.reason}`, {
              hint: 'Nothing from this file was stored. Fix the row, or pass --skip-bad-rows to store the good rows and list the bad ones.',
            })
          }
        }

        if (rowsRead % PROGRESS_EVERY === 0) progress()
      }

      if (rejects) await rejects.drained()
    }

    if (batch.length > 0) {
      if (batchLo < minMicros) minMicros = batchLo
      if (batchHi > maxMicros) maxMicros = batchHi
      flushBatch()
    }

    staging.finish()
    progress()
  } catch (error) {
    if (error instanceof LineTooLongError) {
      if (layout === undefined) throw formatError(file, `no line break in the first ${MAX_LINE_CHARS} characters: not a CSV text file`, options)
      throw new BadInputError(`${file}:${error.lineNumber}: row: longer than ${MAX_LINE_CHARS} characters`)
    }

    throw error
  } finally {
    tape.close()
    await rejects?.close()
  }

  if (layout === undefined) {
    // Only blank lines: with --format that is an empty tape, otherwise nothing tells what it is.
    if (options.format === undefined) throw formatError(file, 'the file is empty', options)
    return {...emptyTape(options.format, options), rowsRead}
  }

  const exchange = names.exchange ?? context.exchanges.value ?? '*'
  const symbol = names.symbol ?? context.symbols.value ?? '*'
  const rowLayout = layout
  const source: RowSource = {
    // The block filter keeps every row of each timestamp in range (Kraken ids number them).
    rangeSql: (lo, hi) => `SELECT * FROM (${parsedRowsSql(rowLayout, staging.linesSql(lo, hi), names, rejoined)}) WHERE "timestamp" BETWEEN ${lo} AND ${hi}`,
    chunksSql: staging.chunksSql,
    // Splitting and casting staged lines costs about a quarter of cutting them into slice files
    // (measured on a shuffled 2M-row Binance tape).
    maxReadFactor: 4,
    histogram: async () => histogram.result(),
    uniqueIds: context.uniqueIds,
    location: async (rn) => String(await staging.lineOf(rn)),
    // The stored trade_id is the id text, with 'agg:' before an aggTrade id (same order).
    idRange: context.idLo === undefined ? undefined : {lo: idPrefix(layout) + context.idLo, hi: idPrefix(layout) + context.idHi},
    valuesInIds: layout.format === 'kraken',
  }
  return {
    format: layout.format,
    source,
    exchange,
    symbol,
    rowsRead,
    staged: staging.rows,
    skippedNonMarket,
    rejected: rejects?.count ?? 0,
    rejectsFile: rejects && rejects.count > 0 ? rejects.path : undefined,
    minMicros: staging.rows > 0 ? minMicros : undefined,
    maxMicros: staging.rows > 0 ? maxMicros : undefined,
  }
}

function idPrefix(layout: TapeLayout): string {
  return layout.format === 'binance-agg' ? 'agg:' : ''
}

/** The layout of a tape from its first line, or the UsageError that says why there is none. */
export function detect(file: string, fields: string[] | {field: string; reason: string}, options: IngestOptions): TapeLayout {
  if (isProblem(fields)) throw formatError(file, `first line: ${fields.reason}`, options)
  const detection = detectLayout(fields, options.format)
  if ('klines' in detection) {
    throw new UsageError(`${file}: a klines (candles) file, not trades (${detection.klines})`, {
      code: 'klines_file',
      hint: 'k2ops builds the candles itself from trades: ingest the trades or aggTrades file of the same market and day (e.g. BTCUSDT-trades-2024-08-08.zip).',
    })
  }

  if ('problem' in detection) throw formatError(file, detection.problem, options)
  return detection.layout
}

function formatError(file: string, seen: string, options: IngestOptions): UsageError {
  if (options.format !== undefined) {
    return new UsageError(`${file}: not a ${options.format} tape (${preview(seen, 200)})`, {code: 'unknown_format'})
  }

  return new UsageError(`${file}: cannot tell the tape format (${preview(seen, 200)}); pass --format one of ${TAPE_FORMATS.join(', ')}`, {
    code: 'unknown_format',
  })
}

function emptyTape(format: TapeLayout['format'], options: IngestOptions): StagedTape {
  return {
    format,
    source: {rangeSql: () => '', maxReadFactor: 1, histogram: async () => ({origin: 0, width: 1, counts: new Map()}), uniqueIds: true, location: async (rn) => String(rn)},
    exchange: options.exchange?.toUpperCase() ?? '*',
    symbol: options.symbol === undefined ? '*' : normaliseSymbol(options.symbol),
    rowsRead: 0,
    staged: 0,
    skippedNonMarket: 0,
    rejected: 0,
  }
}
