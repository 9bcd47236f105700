/**
 * The fast way in for a plain or gzip CSV tape: DuckDB reads, checks and stores it in one
 * INSERT … SELECT (its CSV reader on every core, the checks vectorised in SQL), in one transaction
 * (bulk-store.ts). It is only a shortcut for files the JS reader (csv-tape.ts) would store in the
 * same way: every row passes csv-bulk-sql.ts's predicate, stricter than the JS checks (a row that
 * does not makes DuckDB raise `error()`, which aborts the statement), and bulk-store.ts's checks
 * after the insert hold. Otherwise the transaction is rolled back and undefined returned: the JS
 * reader then reads the file as before, with its exact messages (`FILE:LINE: FIELD: …`), the
 * rejects file and the sliced, deduplicating store. The first lines are checked in JS first, so
 * that a file with a bad row or out of order there, or stored already, is not read twice.
 */
import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import type {TapeLayout} from '../../../ingest/tape-format.js'
import type {Warehouse} from '../warehouse.js'

import {isBlankLine, readLines, splitLine} from '../../../ingest/csv-lines.js'
import {TapeNames, resolveTapeNames} from '../../../ingest/market-names.js'
import {newRowCheckContext, rowCheckFor} from '../../../ingest/row-parsers.js'
import {openTapeBytes} from '../../../ingest/tape-reader.js'
import {NotInBulk, storeInBulk, storedBetween} from './bulk-store.js'
import {bulkColumn, bulkReadSql, bulkRowOkSql} from './csv-bulk-sql.js'
import {detect} from './csv-tape.js'
import {isOutOfMemory} from './k2-parquet.js'
import {openLiteralPath} from './literal-path.js'
import {parsedFieldsSql} from './staged-sql.js'

/** The lines checked in JS before the bulk read (at most, within the first chunk read). */
const SAMPLE_LINES = 1000

interface CsvTape {
  layout: TapeLayout
  names: TapeNames
  /** The first row's market and time. */
  first: {exchange: string; symbol: string; micros: number}
}

/**
 * The file stored in bulk, or undefined when it must go through the JS reader (see above).
 * Expects the options withStagedTape checks (format, names) to be valid and timeWindow set; throws
 * only what storing would throw on the JS path too (out of memory, a failing disk).
 */
export async function ingestCsvInBulk(
  warehouse: Warehouse,
  file: string,
  container: 'plain' | 'gzip',
  fileSize: number,
  options: IngestOptions,
): Promise<IngestResult | undefined> {
  const tape = await sampleTape(file, container, fileSize, options)
  if (tape === undefined || (await storedBetween(warehouse, tape.first, tape.first.micros, tape.first.micros))) return undefined

  const literal = await openLiteralPath(file)
  const time = bulkColumn(tape.layout.columns.time!)
  try {
    const rows = parsedFieldsSql(
      tape.layout,
      // The check is a column, not a WHERE: DuckDB then keeps the rows in file order as it stores them.
      `SELECT ${tape.layout.format === 'kraken' ? 'row_number() OVER ()' : 'CAST(NULL AS BIGINT)'} AS rn,
          * REPLACE (CASE WHEN ${bulkRowOkSql(tape.layout, tape.names)} THEN ${time} ELSE error('k2ops: not a bulk row') END AS ${time})
        FROM ${bulkReadSql(literal.path, tape.layout, container === 'gzip')}`,
      bulkColumn,
      tape.names,
      true,
    )
    const result = await warehouse.transaction(() => storeInBulk(warehouse, file, rows, {format: tape.layout.format, names: tape.names}, options))
    options.onProgress?.({file, rows: result.rowsRead, bytesRead: fileSize, totalBytes: fileSize})
    return result
  } catch (error) {
    if (error instanceof NotInBulk) return undefined
    if (isOutOfMemory(error)) throw error
    // Whatever DuckDB's reader or the checks refused, the JS reader says exactly (or stores); a
    // failing disk fails there again.
    return undefined
  } finally {
    await literal.close()
  }
}

/**
 * The layout and names from the first line, when the first lines of the first chunk are rows the
 * JS checks accept, without quotes, in time order.
 */
async function sampleTape(file: string, container: 'plain' | 'gzip', fileSize: number, options: IngestOptions): Promise<CsvTape | undefined> {
  const bytes = await openTapeBytes(file, container, fileSize)
  let lines: string[] = []
  try {
    for await (const chunk of readLines(bytes.chunks)) {
      lines = chunk.lines.slice(0, SAMPLE_LINES + 1)
      break
    }
  } catch {
    return undefined
  } finally {
    bytes.close()
  }

  if (lines.length === 0 || isBlankLine(lines[0]) || lines.some((line) => line.includes('"'))) return undefined
  try {
    const layout = detect(file, splitLine(lines[0]), options)
    // A `type` column means rows to skip and count: the JS reader does that.
    if (layout.columns.type !== undefined) return undefined
    const names = resolveTapeNames(file, layout, options)
    const context = {...newRowCheckContext(options.timeWindow!), symbolOverride: names.symbol, exchangeOverride: names.exchange}
    const check = rowCheckFor(layout, context)
    let first: number | undefined
    let last = -Infinity
    for (const line of layout.hasHeader ? lines.slice(1) : lines) {
      if (isBlankLine(line)) continue
      const fields = splitLine(line)
      const micros = Array.isArray(fields) ? check(fields) : undefined
      if (typeof micros !== 'number' || micros < last) return undefined
      first ??= micros
      last = micros
    }

    const exchange = names.exchange ?? context.exchanges.first
    const symbol = names.symbol ?? context.symbols.first
    if (first === undefined || exchange === undefined || symbol === undefined) return undefined
    return {layout, names, first: {exchange, symbol, micros: first}}
  } catch {
    return undefined
  }
}
