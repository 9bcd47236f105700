import type {Warehouse} from './warehouse.js'

import {loadDuckDB} from './duckdb-module.js'
import {parseIsoInstant} from './time.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

/** A planned range as the intent of a recover run recorded it. */
export interface RecordedRange {
  timeframe: Timeframe
  from: string
  to: string
}

/** What the warehouse shows of a killed recover run. */
export interface RecoverFound {
  /** Candles in its planned ranges that it wrote (their updated_at is its instant). */
  candlesRebuilt: number
  /** Planned ranges with at least one such candle. */
  rangesTouched: number
  ranges: number
}

/**
 * What a recover run killed before its outcome did: a rebuilt candle whose values changed carries
 * the run's instant as updated_at (an unchanged one keeps its old one and needs no repair), so the
 * candles of its planned ranges updated at that instant are the ones it repaired.
 */
export async function findRebuilt(warehouse: Warehouse, ranges: RecordedRange[], at: string): Promise<RecoverFound> {
  const {listValue} = loadDuckDB()
  const atMicros = parseIsoInstant(at, 'audit record')
  let candlesRebuilt = 0
  let rangesTouched = 0
  for (const tf of TIMEFRAMES) {
    const own = ranges.filter((range) => range.timeframe === tf)
    if (own.length === 0) continue
    const rows = await warehouse.all<{lo: bigint; candles: bigint}>(
      `SELECT r.lo, count(c.window_start) AS candles
       FROM (SELECT unnest($lo::BIGINT[]) AS lo, unnest($hi::BIGINT[]) AS hi) r
       JOIN ${TIMEFRAME_SPECS[tf].table} c ON epoch_us(c.window_start) >= r.lo AND epoch_us(c.window_start) < r.hi AND c.updated_at = make_timestamp($at::BIGINT)
       GROUP BY r.lo`,
      {
        lo: listValue(own.map((range) => BigInt(parseIsoInstant(range.from, 'audit record')))),
        hi: listValue(own.map((range) => BigInt(parseIsoInstant(range.to, 'audit record')))),
        at: BigInt(atMicros),
      },
    )
    for (const row of rows) {
      candlesRebuilt += Number(row.candles)
      rangesTouched++
    }
  }

  return {candlesRebuilt, rangesTouched, ranges: ranges.length}
}
