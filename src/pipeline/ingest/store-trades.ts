/**
 * Staged rows → market_data.gold_crypto_trades in one transaction and one INSERT … SELECT:
 * - a trade already stored (same exchange, symbol, trade_id and timestamp) is not inserted again;
 *   the constant timestamp range lets DuckDB skip row groups by zonemap instead of scanning all;
 * - a trade_id repeated within the file is stored once (its first row);
 * - every row of the file gets one ingestion_timestamp that never goes backwards.
 */
import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE} from '../schema.js'

export interface StoreRequest {
  /** A SELECT of the accepted rows: rn, then the contract columns up to source_sequence (staged-sql.ts). */
  parsedSql: string
  /** Range of the accepted rows' timestamps (µs). */
  minMicros: number
  maxMicros: number
  nowMicros: number
  /** The rows cannot repeat a trade_id: skip the in-file deduplication (a window over all rows). */
  uniqueIds: boolean
}

export interface StoreOutcome {
  inserted: number
  ingestionTimestamp: number
}

export async function storeTrades(warehouse: Warehouse, request: StoreRequest): Promise<StoreOutcome> {
  const {minMicros, maxMicros} = request
  for (const value of [minMicros, maxMicros]) {
    if (!Number.isSafeInteger(value)) throw new Error(`internal: timestamp bound ${value} is not an exact integer`)
  }

  return warehouse.transaction(async () => {
    const ingestionTimestamp = await nextIngestionTimestamp(warehouse, request.nowMicros)
    const dedupInFile = request.uniqueIds ? '' : 'QUALIFY row_number() OVER (PARTITION BY s.exchange, s.symbol, s.trade_id ORDER BY s.rn) = 1'
    const result = await warehouse.connection.run(`
      INSERT INTO ${TRADES_TABLE}
        (trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, ingestion_timestamp, exchange_date)
      SELECT s.trade_id, s.symbol, s.exchange, s."timestamp", s.price, s.quantity, s.side, s.source_sequence,
        ${ingestionTimestamp}, CAST(make_timestamp(s."timestamp") AS DATE)
      FROM (${request.parsedSql}) AS s
      ANTI JOIN (
        SELECT exchange, symbol, trade_id, "timestamp" FROM ${TRADES_TABLE}
        WHERE "timestamp" BETWEEN ${minMicros} AND ${maxMicros}) AS t
      ON t."timestamp" = s."timestamp" AND t.trade_id = s.trade_id AND t.symbol = s.symbol AND t.exchange = s.exchange
      ${dedupInFile}
      ORDER BY s."timestamp", s.rn`)
    return {inserted: Number(result.rowsChanged), ingestionTimestamp}
  })
}

/**
 * The ingestion_timestamp for the next file: the command's clock, but always after every value
 * already stored (candle flows use it as an exact watermark for late trades, so a clock set back,
 * or K2OPS_NOW replaying a past day, must not make new rows look old).
 */
export async function nextIngestionTimestamp(warehouse: Warehouse, nowMicros: number): Promise<number> {
  const row = await warehouse.one<{latest: bigint | null}>(`SELECT max(ingestion_timestamp) AS latest FROM ${TRADES_TABLE}`)
  const latest = row.latest === null ? undefined : Number(row.latest)
  return latest === undefined ? nowMicros : Math.max(nowMicros, latest + 1)
}
