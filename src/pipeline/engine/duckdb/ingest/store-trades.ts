/**
 * Accepted rows → market_data.gold_crypto_trades, all in one transaction, after trade-conflicts.ts
 * found no key stored (or repeated in the file) with other values:
 * - a trade already stored (same exchange, symbol, trade_id, and so the same timestamp) is not inserted again;
 * - a trade_id repeated within the file is stored once (its first row);
 * - the file is logged in k2ops_meta.ingested_files under its ingestion_timestamp;
 * - every row of the file gets one ingestion_timestamp that never goes backwards;
 * - rows are stored in ("timestamp", file order) order, so zonemaps prune candle reads by time.
 *
 * Memory stays flat however large the file: the rows are stored in timestamp slices of a bounded
 * number of rows (time-slices.ts), one INSERT … SELECT per slice, in time order. Each slice is
 * sorted, deduplicated and anti-joined against the stored trades of its own timestamp range only.
 * A slice never splits a timestamp, and the rows of one trade share their timestamp, so the
 * in-file deduplication per slice is the same as over the whole file; and as the slices follow
 * each other in time, the whole file is stored in timestamp order, as one statement would.
 *
 * A slice reads its rows from the source by timestamp range (Parquet row groups, staged CSV blocks
 * whose range misses it are skipped). When the source is not in time order, so that these reads
 * would read it several times over, it is first cut into one Parquet file per slice, in one pass,
 * under DuckDB's temp directory.
 */
import {existsSync, mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'

import type {RowSource} from './staged-types.js'
import type {Warehouse} from '../warehouse.js'

import {INGESTED_FILES_TABLE, TRADES_TABLE} from '../../../schema.js'
import {NOTHING_INGESTED} from '../../engine.js'
import {newestIngestion} from '../watermark.js'
import {sqlLiteral} from './staged-sql.js'
import {TimeSlice, timeSlices} from '../../../ingest/time-slices.js'

export interface StoreRequest {
  /** Logged as the source of the stored rows. */
  file: string
  source: RowSource
  /** Accepted rows and the range of their timestamps (µs). */
  rows: number
  minMicros: number
  maxMicros: number
  nowMicros: number
  /** The one exchange / symbol of every row, when the file has one: narrows the anti-join. */
  exchange?: string
  symbol?: string
  /** Rows per slice; default from DuckDB's memory_limit (sliceRowsFor). */
  sliceRows?: number
}

export interface StoreOutcome {
  inserted: number
  ingestionTimestamp: number
}

/** Rows per slice for each byte of memory_limit (1 GB → 500k rows: a slice needs a few hundred bytes per row), within bounds. */
const SLICE_ROWS_PER_BYTE = 1 / 2000
const MIN_SLICE_ROWS = 50_000
const DEFAULT_SLICE_ROWS = 500_000
const MAX_SLICE_ROWS = 4_000_000

let scratchCounter = 0

export async function storeTrades(warehouse: Warehouse, request: StoreRequest): Promise<StoreOutcome> {
  const {minMicros, maxMicros, source} = request
  for (const value of [minMicros, maxMicros]) {
    if (!Number.isSafeInteger(value)) throw new Error(`internal: timestamp bound ${value} is not an exact integer`)
  }

  const sliceRows = request.sliceRows ?? sliceRowsFor(await memoryLimitBytes(warehouse))
  const slices =
    request.rows <= sliceRows ? [{lo: minMicros, hi: maxMicros, rows: request.rows}] : timeSlices(await source.histogram(), minMicros, maxMicros, sliceRows)
  let read = (slice: TimeSlice, _index: number): string | undefined => source.rangeSql(slice.lo, slice.hi)
  let scratch: string | undefined
  try {
    if (slices.length > 1 && (await rowsToRead(warehouse, source, slices)) > source.maxReadFactor * request.rows) {
      scratch = await scratchDirectory(warehouse)
      await cutIntoSlices(warehouse, source, slices, minMicros, maxMicros, scratch)
      read = (_slice, index) => {
        const dir = join(scratch!, `k2ops_slice=${index}`)
        return existsSync(dir) ? `SELECT * FROM read_parquet(${sqlLiteral(join(dir, '*.parquet'))}, hive_partitioning = false)` : undefined
      }
    }

    return await warehouse.transaction(async () => {
      const ingestionTimestamp = await nextIngestionTimestamp(warehouse, request.nowMicros)
      let inserted = 0
      for (const [index, slice] of slices.entries()) {
        const rowsSql = read(slice, index)
        if (rowsSql !== undefined) inserted += await insertSlice(warehouse, request, slice, rowsSql, ingestionTimestamp)
      }

      if (inserted > 0) {
        await warehouse.run(`INSERT INTO ${INGESTED_FILES_TABLE} VALUES ($at::BIGINT, $file, $trades::BIGINT, make_timestamp($now::BIGINT))`, {
          at: BigInt(ingestionTimestamp),
          file: request.file,
          trades: BigInt(inserted),
          now: BigInt(request.nowMicros),
        })
      }

      return {inserted, ingestionTimestamp}
    })
  } finally {
    if (scratch) rmSync(scratch, {recursive: true, force: true})
  }
}

/**
 * The ingestion_timestamp for the next file: the command's clock, but always after every value
 * already stored (candle flows use it as an exact watermark for late trades, so a clock set back,
 * or K2OPS_NOW replaying a past day, must not make new rows look old).
 */
export async function nextIngestionTimestamp(warehouse: Warehouse, nowMicros: number): Promise<number> {
  // The log too: each logged value names one file, even after trade retention deleted its rows.
  const logged = await warehouse.one<{newest: bigint | null}>(`SELECT max(ingestion_timestamp) AS newest FROM ${INGESTED_FILES_TABLE}`)
  const latest = Math.max(await newestIngestion(warehouse), logged.newest === null ? NOTHING_INGESTED : Number(logged.newest))
  return latest === NOTHING_INGESTED ? nowMicros : Math.max(nowMicros, latest + 1)
}

/** DuckDB's memory_limit in bytes (`953.6 MiB`, `4.0 GiB`, …), or undefined when unreadable. */
export async function memoryLimitBytes(warehouse: Warehouse): Promise<number | undefined> {
  const row = await warehouse.one<{limit: string}>(`SELECT current_setting('memory_limit') AS "limit"`)
  const m = /^\s*([\d.]+)\s*([KMGT]i?B|bytes?)\s*$/i.exec(String(row.limit))
  if (!m) return undefined
  const unit = m[2].toUpperCase()
  const power = unit.startsWith('B') ? 0 : 'KMGT'.indexOf(unit[0]) + 1
  return Number(m[1]) * (unit.includes('I') ? 1024 : 1000) ** power
}

export function sliceRowsFor(memoryLimit: number | undefined): number {
  if (memoryLimit === undefined) return DEFAULT_SLICE_ROWS
  return Math.min(MAX_SLICE_ROWS, Math.max(MIN_SLICE_ROWS, Math.floor(memoryLimit * SLICE_ROWS_PER_BYTE)))
}

async function insertSlice(warehouse: Warehouse, request: StoreRequest, slice: TimeSlice, rowsSql: string, ingestionTimestamp: number): Promise<number> {
  const narrow = [
    request.exchange === undefined ? '' : `AND exchange = ${sqlLiteral(request.exchange)}`,
    request.symbol === undefined ? '' : `AND symbol = ${sqlLiteral(request.symbol)}`,
  ].join(' ')
  // The first row of each trade id (rn is unique). Not `row_number() … = 1`: DuckDB 1.5's top-N
  // window optimizer fails on it here ("Failed to cast expression to type").
  const dedupInFile = request.source.uniqueIds ? '' : 'QUALIFY s.rn = min(s.rn) OVER (PARTITION BY s.exchange, s.symbol, s.trade_id)'
  const result = await warehouse.connection.run(`
    INSERT INTO ${TRADES_TABLE}
      (trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades, ingestion_timestamp, exchange_date)
    SELECT s.trade_id, s.symbol, s.exchange, s."timestamp", s.price, s.quantity, s.side, s.source_sequence, s.covered_trades,
      ${ingestionTimestamp}, CAST(make_timestamp(s."timestamp") AS DATE)
    FROM (${rowsSql}) AS s
    ANTI JOIN (
      SELECT exchange, symbol, trade_id, "timestamp" FROM ${TRADES_TABLE}
      WHERE "timestamp" BETWEEN ${slice.lo} AND ${slice.hi} ${narrow}) AS t
    ON t."timestamp" = s."timestamp" AND t.trade_id = s.trade_id AND t.symbol = s.symbol AND t.exchange = s.exchange
    ${dedupInFile}
    ORDER BY s."timestamp", s.rn`)
  return Number(result.rowsChanged)
}

/** Source rows the range reads of these slices read (chunks missing a slice's range are skipped). */
async function rowsToRead(warehouse: Warehouse, source: RowSource, slices: TimeSlice[]): Promise<number> {
  if (source.chunksSql === undefined) return Number.POSITIVE_INFINITY
  const ranges = slices.map((s) => `(${s.lo}, ${s.hi})`).join(', ')
  const row = await warehouse.one<{n: bigint | null}>(`SELECT CAST(sum(c.n) AS BIGINT) AS n
    FROM (${source.chunksSql}) AS c JOIN (VALUES ${ranges}) AS s(lo, hi) ON c.hi >= s.lo AND c.lo <= s.hi`)
  return Number(row.n ?? 0)
}

/** One pass over the source: the rows of slice i → <dir>/k2ops_slice=i/*.parquet. */
async function cutIntoSlices(warehouse: Warehouse, source: RowSource, slices: TimeSlice[], lo: number, hi: number, dir: string): Promise<void> {
  const starts = slices.map((s) => s.lo)
  // Slice index by binary search over the slice starts: a CASE tree of depth log2(slices).
  const index = (from: number, to: number): string => {
    if (to - from === 1) return String(from)
    const mid = (from + to) >> 1
    return `CASE WHEN "timestamp" < ${starts[mid]} THEN ${index(from, mid)} ELSE ${index(mid, to)} END`
  }

  await warehouse.run(`COPY (SELECT *, ${index(0, slices.length)} AS k2ops_slice FROM (${source.rangeSql(lo, hi)}))
    TO ${sqlLiteral(dir)} (FORMAT parquet, PARTITION_BY (k2ops_slice))`)
}

/** A fresh directory name under DuckDB's temp directory (<warehouse>.tmp unless configured). */
async function scratchDirectory(warehouse: Warehouse): Promise<string> {
  const row = await warehouse.one<{dir: string | null}>(`SELECT current_setting('temp_directory') AS dir`)
  const tempDirectory = row.dir || `${warehouse.path}.tmp`
  mkdirSync(tempDirectory, {recursive: true})
  scratchCounter += 1
  return join(tempDirectory, `k2ops-ingest-${process.pid}-${scratchCounter}`)
}
