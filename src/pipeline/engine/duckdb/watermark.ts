import type {FlowMark} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {TRADES_TABLE, WATERMARKS_TABLE} from '../../schema.js'
import {Timeframe} from '../../timeframes.js'
import {NOTHING_INGESTED} from '../engine.js'

// The flow marks' SQL (engine.ts FlowMark: what a mark says).

export async function readMark(warehouse: Warehouse, tf: Timeframe): Promise<FlowMark> {
  const rows = await warehouse.all<{ingested: bigint; closed: bigint | null}>(
    `SELECT ingested_through AS ingested, closed_through AS closed FROM ${WATERMARKS_TABLE} WHERE timeframe = $tf`,
    {tf},
  )
  if (rows.length === 0) return {ingestedThrough: NOTHING_INGESTED, closedThrough: null}
  return {ingestedThrough: Number(rows[0].ingested), closedThrough: rows[0].closed === null ? null : Number(rows[0].closed)}
}

export async function writeMark(warehouse: Warehouse, tf: Timeframe, mark: FlowMark, nowMicros: number): Promise<void> {
  await warehouse.run(`DELETE FROM ${WATERMARKS_TABLE} WHERE timeframe = $tf`, {tf})
  await warehouse.run(`INSERT INTO ${WATERMARKS_TABLE} VALUES ($tf, $ingested::BIGINT, $closed::BIGINT, make_timestamp($now::BIGINT))`, {
    tf,
    ingested: BigInt(mark.ingestedThrough),
    closed: mark.closedThrough === null ? null : BigInt(mark.closedThrough),
    now: BigInt(nowMicros),
  })
}

export async function newestIngestion(warehouse: Warehouse): Promise<number> {
  const row = await warehouse.one<{newest: bigint | null}>(`SELECT max(ingestion_timestamp) AS newest FROM ${TRADES_TABLE}`)
  return row.newest === null ? NOTHING_INGESTED : Number(row.newest)
}

/** Were all trades ingested in (after, through] inside [from, to)? */
export async function allIngestedWithin(warehouse: Warehouse, span: {after: number; through: number; fromMicros: number; toMicros: number}): Promise<boolean> {
  const row = await warehouse.one<{outside: boolean}>(
    `SELECT EXISTS (SELECT 1 FROM ${TRADES_TABLE}
       WHERE ingestion_timestamp > $after::BIGINT AND ingestion_timestamp <= $through::BIGINT
         AND NOT ("timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT)) AS outside`,
    {after: BigInt(span.after), through: BigInt(span.through), from: BigInt(span.fromMicros), to: BigInt(span.toMicros)},
  )
  return !row.outside
}
