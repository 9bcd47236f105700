/**
 * The fast way in for a plain or gzip CSV tape: DuckDB reads, checks and stores it in one
 * INSERT … SELECT (its CSV reader on every core, the checks vectorised in SQL), in one transaction.
 * It is only a shortcut for files the JS reader (csv-tape.ts) would store in the same way:
 * - every row passes csv-bulk-sql.ts's predicate, stricter than the JS checks (a row that does
 *   not makes DuckDB raise `error()`, which aborts the statement);
 * - the rows come in timestamp order, or in a few ordered runs (stored as those runs, as DuckDB's
 *   parallel writer stores even an ordered file), with keys that are distinct within the file;
 * - no stored trade of the file's markets shares its time range or trade id range, so there is
 *   nothing to skip as a duplicate and no key to conflict.
 * When any of that does not hold (or DuckDB cannot read the file as plain CSV), the transaction
 * is rolled back and undefined returned: the JS reader then reads the file as before, with its
 * exact messages (`FILE:LINE: FIELD: …`), the rejects file and the sliced, deduplicating store.
 * The rows checked after the insert are the file's alone: their ingestion_timestamp is new.
 */
import {resolve} from 'node:path'

import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import type {TapeLayout} from '../../../ingest/tape-format.js'
import type {Warehouse} from '../warehouse.js'

import {isBlankLine, readLines, splitLine} from '../../../ingest/csv-lines.js'
import {TapeNames, resolveTapeNames} from '../../../ingest/market-names.js'
import {openTapeBytes} from '../../../ingest/tape-reader.js'
import {INGESTED_FILES_TABLE, TRADES_TABLE} from '../../../schema.js'
import {bulkColumn, bulkReadSql, bulkRowOkSql} from './csv-bulk-sql.js'
import {detect} from './csv-tape.js'
import {isOutOfMemory} from './k2-parquet.js'
import {openLiteralPath} from './literal-path.js'
import {parsedFieldsSql, sqlLiteral} from './staged-sql.js'
import {nextIngestionTimestamp} from './store-trades.js'

/** DuckDB's row group size: its parallel writer keeps file order within each. */
const ROW_GROUP_ROWS = 122_880

/** Thrown inside the transaction to roll it back: the file goes to the JS reader. */
class NotInBulk extends Error {}

interface NewRows {
  n: bigint
  lo: bigint | null
  hi: bigint | null
  id_lo: string | null
  id_hi: string | null
  in_order: boolean | null
  unique_ids: boolean | null
  exchanges: bigint
  exchange: string | null
  symbols: bigint
  symbol: string | null
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
  const tape = await tapeOf(file, container, fileSize, options)
  if (tape === undefined) return undefined

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
    const result = await warehouse.transaction(() => store(warehouse, file, rows, tape, options))
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

async function store(warehouse: Warehouse, file: string, rows: string, tape: {layout: TapeLayout; names: TapeNames}, options: IngestOptions): Promise<IngestResult> {
  const at = await nextIngestionTimestamp(warehouse, Math.floor(options.nowMicros))
  const inserted = await warehouse.connection.run(`
    INSERT INTO ${TRADES_TABLE}
      (trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades, ingestion_timestamp, exchange_date)
    SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades,
      ${at}, CAST(make_timestamp("timestamp") AS DATE)
    FROM (${rows})`)
  if (Number(inserted.rowsChanged) === 0) throw new NotInBulk()

  const fresh = await newRows(warehouse, at, tape.layout)
  const window = options.timeWindow!
  if (Number(fresh.lo) < window.earliestMicros || Number(fresh.hi) > window.latestMicros) throw new NotInBulk()
  if (!fresh.in_order || !fresh.unique_ids) throw new NotInBulk()
  if (await storedNearby(warehouse, at, fresh, tape.names)) throw new NotInBulk()

  await warehouse.run(`INSERT INTO ${INGESTED_FILES_TABLE} VALUES ($at::BIGINT, $file, $trades::BIGINT, make_timestamp($now::BIGINT))`, {
    at: BigInt(at),
    file: resolve(file),
    trades: fresh.n,
    now: BigInt(Math.floor(options.nowMicros)),
  })
  const count = Number(fresh.n)
  const one = (n: bigint, value: string | null): string => (Number(n) === 1 && value !== null ? value : '*')
  return {
    file,
    format: tape.layout.format,
    exchange: tape.names.exchange ?? one(fresh.exchanges, fresh.exchange),
    symbol: tape.names.symbol ?? one(fresh.symbols, fresh.symbol),
    rowsRead: count,
    skippedNonMarket: 0,
    rejected: 0,
    rejectsFile: undefined,
    inserted: count,
    duplicates: 0,
    firstTradeMicros: Number(fresh.lo),
    lastTradeMicros: Number(fresh.hi),
    ingestionTimestamp: at,
  }
}

/**
 * What the file's rows, as stored, say of themselves. DuckDB's parallel writer keeps file order
 * up to a seam between some of its row groups, so "in order" allows one descent per row group;
 * a file out of time order has descents throughout and goes to the JS reader, which sorts it.
 * Distinct keys within the file mean the JS reader would find no duplicate to skip (for Kraken,
 * whose ids number the trades of one timestamp, they also mean each timestamp is one run of rows).
 */
async function newRows(warehouse: Warehouse, at: number, layout: TapeLayout): Promise<NewRows> {
  return warehouse.one<NewRows>(`SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi, min(trade_id) AS id_lo, max(trade_id) AS id_hi,
      count(*) FILTER (WHERE ts < previous_ts) <= count(*) // ${ROW_GROUP_ROWS} + 2 AS in_order,
      ${distinctKeysSql(layout)} AS unique_ids,
      count(DISTINCT exchange) AS exchanges, min(exchange) AS exchange, count(DISTINCT symbol) AS symbols, min(symbol) AS symbol
    FROM (SELECT trade_id, exchange, symbol, "timestamp" AS ts, lag("timestamp") OVER () AS previous_ts
      FROM ${TRADES_TABLE} WHERE ingestion_timestamp = ${at})`)
}

/**
 * Whether the file's keys are distinct, in the cheapest exact test for its layout: a Binance tape
 * is one market with whole-number ids; a Kraken id is `<µs>:<n>:<price>:<volume>`, n numbering the
 * trades of a run of one timestamp from 0, so the ids are distinct when there are as many runs
 * as timestamps.
 */
function distinctKeysSql(layout: TapeLayout): string {
  switch (layout.format) {
    case 'binance':
      return 'count(DISTINCT CAST(trade_id AS BIGINT)) = count(*)'
    case 'binance-agg':
      return 'count(DISTINCT CAST(trade_id[5:] AS BIGINT)) = count(*)'
    case 'kraken':
      return `count(DISTINCT ts) = count(*) FILTER (WHERE split_part(trade_id, ':', 2) = '000000')`
    default:
      // A hash collision only sends the file to the JS reader.
      return 'count(DISTINCT hash(exchange, symbol, trade_id)) = count(*)'
  }
}

/** Any other stored trade of the file's markets in its time range or trade id range. */
async function storedNearby(warehouse: Warehouse, at: number, fresh: NewRows, names: TapeNames): Promise<boolean> {
  const markets =
    names.exchange !== undefined && names.symbol !== undefined
      ? `exchange = ${sqlLiteral(names.exchange)} AND symbol = ${sqlLiteral(names.symbol)}`
      : `(exchange, symbol) IN (SELECT DISTINCT exchange, symbol FROM ${TRADES_TABLE} WHERE ingestion_timestamp = ${at})`
  const row = await warehouse.one<{nearby: boolean}>(`SELECT EXISTS (SELECT 1 FROM ${TRADES_TABLE}
    WHERE ingestion_timestamp <> ${at} AND ${markets}
      AND ("timestamp" BETWEEN ${fresh.lo} AND ${fresh.hi} OR trade_id BETWEEN ${sqlLiteral(fresh.id_lo!)} AND ${sqlLiteral(fresh.id_hi!)})) AS nearby`)
  return row.nearby
}

/** The layout and names from the first line, when the file starts with a line that can be one. */
async function tapeOf(file: string, container: 'plain' | 'gzip', fileSize: number, options: IngestOptions): Promise<{layout: TapeLayout; names: TapeNames} | undefined> {
  const bytes = await openTapeBytes(file, container, fileSize)
  let first: string | undefined
  try {
    for await (const chunk of readLines(bytes.chunks)) {
      first = chunk.lines[0]
      break
    }
  } catch {
    return undefined
  } finally {
    bytes.close()
  }

  if (first === undefined || isBlankLine(first) || first.includes('"')) return undefined
  try {
    const layout = detect(file, splitLine(first), options)
    // A `type` column means rows to skip and count: the JS reader does that.
    if (layout.columns.type !== undefined) return undefined
    return {layout, names: resolveTapeNames(file, layout, options)}
  } catch {
    return undefined
  }
}
