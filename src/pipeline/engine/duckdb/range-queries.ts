import type {MarketScope, TimeframeRange} from '../engine.js'
import type {SqlParams, Warehouse} from './warehouse.js'

import {TRADES_TABLE} from '../../schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'
import {loadDuckDB} from './duckdb-module.js'

// What backfill and recover ask about ranges of windows before (and after) they rebuild them.

/** engine.ts tradeSpan. */
export async function tradeSpan(warehouse: Warehouse, fromMicros: number, toMicros: number, market?: MarketScope): Promise<{firstMicros: number; lastMicros: number} | undefined> {
  const scope = marketFilter('t', market)
  const row = await warehouse.one<{first: bigint | null; last: bigint | null}>(
    `SELECT min("timestamp") AS first, max("timestamp") AS last FROM ${TRADES_TABLE} t WHERE "timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT${scope.sql}`,
    {from: BigInt(fromMicros), to: BigInt(toMicros), ...scope.params},
  )
  return row.first === null || row.last === null ? undefined : {firstMicros: Number(row.first), lastMicros: Number(row.last)}
}

/** engine.ts measureRanges: one query per timeframe. */
export async function measureRanges(warehouse: Warehouse, ranges: TimeframeRange[]): Promise<Array<{candles: number; trades: number}>> {
  const {listValue} = loadDuckDB()
  const measured = new Map<TimeframeRange, {candles: number; trades: number}>()
  for (const tf of TIMEFRAMES) {
    const own = ranges.filter((range) => range.timeframe === tf)
    if (own.length === 0) continue
    await warehouse.run('CREATE OR REPLACE TEMP TABLE k2_recover_ranges AS SELECT unnest($lo::BIGINT[]) AS lo, unnest($hi::BIGINT[]) AS hi', {
      lo: listValue(own.map((range) => BigInt(range.fromMicros))),
      hi: listValue(own.map((range) => BigInt(range.toMicros))),
    })
    // The ranges of one call share a market (a backfill's), if any.
    const [candleScope, tradeScope] = [marketFilter('c', own[0].market), marketFilter('t', own[0].market)]
    const rows = await warehouse.all<{lo: bigint; candles: bigint; trades: bigint}>(
      `SELECT r.lo,
              (SELECT count(*) FROM ${TIMEFRAME_SPECS[tf].table} c WHERE c.window_start >= make_timestamp(r.lo) AND c.window_start < make_timestamp(r.hi)${candleScope.sql}) AS candles,
              (SELECT count(*) FROM ${TRADES_TABLE} t WHERE t."timestamp" >= r.lo AND t."timestamp" < r.hi${tradeScope.sql}) AS trades
       FROM k2_recover_ranges r`,
      candleScope.params,
    )
    await warehouse.run('DROP TABLE k2_recover_ranges')
    const byStart = new Map(rows.map((row) => [Number(row.lo), row]))
    for (const range of own) {
      const row = byStart.get(range.fromMicros)
      measured.set(range, {candles: Number(row?.candles ?? 0), trades: Number(row?.trades ?? 0)})
    }
  }

  return ranges.map((range) => measured.get(range)!)
}

/** engine.ts candlesUpdatedAt: the candles of each range whose updated_at is `atMicros`. */
export async function candlesUpdatedAt(warehouse: Warehouse, ranges: TimeframeRange[], atMicros: number): Promise<Array<{timeframe: Timeframe; fromMicros: number; candles: number}>> {
  const {listValue} = loadDuckDB()
  const found: Array<{timeframe: Timeframe; fromMicros: number; candles: number}> = []
  for (const tf of TIMEFRAMES) {
    const own = ranges.filter((range) => range.timeframe === tf)
    if (own.length === 0) continue
    const rows = await warehouse.all<{lo: bigint; candles: bigint}>(
      `SELECT r.lo, count(c.window_start) AS candles
       FROM (SELECT unnest($lo::BIGINT[]) AS lo, unnest($hi::BIGINT[]) AS hi) r
       JOIN ${TIMEFRAME_SPECS[tf].table} c ON epoch_us(c.window_start) >= r.lo AND epoch_us(c.window_start) < r.hi AND c.updated_at = make_timestamp($at::BIGINT)
       GROUP BY r.lo`,
      {
        lo: listValue(own.map((range) => BigInt(range.fromMicros))),
        hi: listValue(own.map((range) => BigInt(range.toMicros))),
        at: BigInt(atMicros),
      },
    )
    for (const row of rows) found.push({timeframe: tf, fromMicros: Number(row.lo), candles: Number(row.candles)})
  }

  return found
}

/** ` AND alias.symbol = $symbol AND alias.exchange = $exchange`, as the market asks, with its parameters. */
export function marketFilter(alias: string, market: MarketScope | undefined): {sql: string; params: Exclude<SqlParams, unknown[]>} {
  const params: Record<string, string> = {}
  let sql = ''
  if (market?.symbol !== undefined) {
    sql += ` AND ${alias}.symbol = $symbol`
    params.symbol = market.symbol
  }

  if (market?.exchange !== undefined) {
    sql += ` AND ${alias}.exchange = $exchange`
    params.exchange = market.exchange
  }

  return {sql, params}
}
