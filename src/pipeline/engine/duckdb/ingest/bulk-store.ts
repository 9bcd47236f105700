/**
 * Storing a whole tape in one INSERT … SELECT (csv-bulk.ts, k2-parquet-bulk.ts), and the checks
 * after it that say whether the slow way would have stored exactly the same rows: the rows come
 * in timestamp order (or a few ordered runs, as DuckDB's parallel writer stores even an ordered
 * file), their keys are distinct within the tape, and no other stored trade of their markets
 * shares their time or trade id range (nothing to skip as a duplicate, no key to conflict). When
 * any of that fails, NotInBulk rolls the caller's transaction back; the rows checked are the tape's
 * alone, since their ingestion_timestamp is new.
 */
import {resolve} from 'node:path'

import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import type {TapeFormat} from '../../../ingest/tape-format.js'
import type {TapeNames} from '../../../ingest/market-names.js'
import type {Warehouse} from '../warehouse.js'

import {INGESTED_FILES_TABLE, TRADES_TABLE} from '../../../schema.js'
import {sqlLiteral} from './staged-sql.js'
import {nextIngestionTimestamp} from './store-trades.js'

/** DuckDB's row group size: its parallel writer keeps file order within each. */
const ROW_GROUP_ROWS = 122_880

/** Thrown inside the transaction to roll it back: the tape goes the staged way. */
export class NotInBulk extends Error {}

/** What a tape in bulk is: its format and the names given for it (or read from its file name). */
export interface BulkTape {
  format: TapeFormat
  names: TapeNames
}

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

/** Whether a trade of this market is stored between these times: the tape is then likely stored already. */
export async function storedBetween(warehouse: Warehouse, market: {exchange: string; symbol: string}, lo: number, hi: number): Promise<boolean> {
  const row = await warehouse.one<{stored: boolean}>(`SELECT EXISTS (SELECT 1 FROM ${TRADES_TABLE}
    WHERE "timestamp" BETWEEN ${lo} AND ${hi} AND exchange = ${sqlLiteral(market.exchange)} AND symbol = ${sqlLiteral(market.symbol)}) AS stored`)
  return row.stored
}

/**
 * Inserts `rows` (the contract columns but ingestion_timestamp and exchange_date) and checks them;
 * call it inside a transaction. Throws NotInBulk when the tape must go the staged way.
 */
export async function storeInBulk(warehouse: Warehouse, file: string, rows: string, tape: BulkTape, options: IngestOptions): Promise<IngestResult> {
  const at = await nextIngestionTimestamp(warehouse, Math.floor(options.nowMicros))
  const inserted = await warehouse.connection.run(`
    INSERT INTO ${TRADES_TABLE}
      (trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades, ingestion_timestamp, exchange_date)
    SELECT trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades,
      ${at}, CAST(make_timestamp("timestamp") AS DATE)
    FROM (${rows})`)
  if (Number(inserted.rowsChanged) === 0) throw new NotInBulk()

  const fresh = await newRows(warehouse, at, tape.format)
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
    format: tape.format,
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
 * What the tape's rows, as stored, say of themselves. "In order" allows a descent per row group
 * (the seams of the parallel writer); a tape out of time order has descents throughout and goes
 * the staged way, which sorts it. Distinct keys mean the staged way would find no duplicate to skip
 * (for Kraken, whose ids number the trades of one timestamp, they also mean each timestamp is one
 * run of rows).
 */
async function newRows(warehouse: Warehouse, at: number, format: TapeFormat): Promise<NewRows> {
  return warehouse.one<NewRows>(`SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi, min(trade_id) AS id_lo, max(trade_id) AS id_hi,
      count(*) FILTER (WHERE ts < previous_ts) <= count(*) // ${ROW_GROUP_ROWS} + 2 AS in_order,
      ${distinctKeysSql(format)} AS unique_ids,
      count(DISTINCT exchange) AS exchanges, min(exchange) AS exchange, count(DISTINCT symbol) AS symbols, min(symbol) AS symbol
    FROM (SELECT trade_id, exchange, symbol, "timestamp" AS ts, lag("timestamp") OVER () AS previous_ts
      FROM ${TRADES_TABLE} WHERE ingestion_timestamp = ${at})`)
}

/**
 * Whether the tape's keys are distinct, in the cheapest exact test for its format: a Binance tape
 * is one market with whole-number ids; a Kraken id is `<µs>:<n>:<price>:<volume>`, n numbering the
 * trades of a run of one timestamp from 0, so the ids are distinct when there are as many runs
 * as timestamps.
 */
function distinctKeysSql(format: TapeFormat): string {
  switch (format) {
    case 'binance':
      return 'count(DISTINCT CAST(trade_id AS BIGINT)) = count(*)'
    case 'binance-agg':
      return 'count(DISTINCT CAST(trade_id[5:] AS BIGINT)) = count(*)'
    case 'kraken':
      return `count(DISTINCT ts) = count(*) FILTER (WHERE split_part(trade_id, ':', 2) = '000000')`
    default:
      // A hash collision only sends the tape the staged way.
      return 'count(DISTINCT hash(exchange, symbol, trade_id)) = count(*)'
  }
}

/** Any other stored trade of the tape's markets in its time range or trade id range. */
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
