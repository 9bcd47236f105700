import type {Warehouse} from './warehouse.js'

import {TRADES_TABLE, WATERMARKS_TABLE} from './schema.js'
import {Timeframe} from './timeframes.js'

/** No trade has been reflected yet: every stored trade is new to the flow. */
export const NOTHING_INGESTED = -1

/** Every trade with ingestion_timestamp ≤ the returned value is reflected in `tf`'s candles. */
export async function readWatermark(warehouse: Warehouse, tf: Timeframe): Promise<number> {
  const rows = await warehouse.all<{through: bigint}>(`SELECT ingested_through AS through FROM ${WATERMARKS_TABLE} WHERE timeframe = $tf`, {tf})
  return rows.length > 0 ? Number(rows[0].through) : NOTHING_INGESTED
}

export async function newestIngestion(warehouse: Warehouse): Promise<number> {
  const row = await warehouse.one<{newest: bigint | null}>(`SELECT max(ingestion_timestamp) AS newest FROM ${TRADES_TABLE}`)
  return row.newest === null ? NOTHING_INGESTED : Number(row.newest)
}

/**
 * After a run recomputed every window of trades in [coveredFrom, coveredTo), move the watermark as
 * far as it stays exact: up to `newest` if every trade ingested since `previous` lies in the covered
 * range, else to just before the first trade that still waits (e.g. one in a window not closed yet).
 */
export async function advanceWatermark(
  warehouse: Warehouse,
  tf: Timeframe,
  span: {previous: number; newest: number; coveredFrom: number; coveredTo: number; nowMicros: number},
): Promise<number> {
  const waiting = await warehouse.one<{first: bigint | null}>(
    `SELECT min(ingestion_timestamp) AS first FROM ${TRADES_TABLE}
     WHERE ingestion_timestamp > $previous::BIGINT AND ingestion_timestamp <= $newest::BIGINT
       AND NOT ("timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT)`,
    {previous: BigInt(span.previous), newest: BigInt(span.newest), from: BigInt(span.coveredFrom), to: BigInt(span.coveredTo)},
  )
  const through = waiting.first === null ? span.newest : Math.max(span.previous, Number(waiting.first) - 1)
  if (through === span.previous) return through
  await warehouse.run(`DELETE FROM ${WATERMARKS_TABLE} WHERE timeframe = $tf`, {tf})
  await warehouse.run(`INSERT INTO ${WATERMARKS_TABLE} VALUES ($tf, $through::BIGINT, make_timestamp($now::BIGINT))`, {
    tf,
    through: BigInt(through),
    now: BigInt(span.nowMicros),
  })
  return through
}
