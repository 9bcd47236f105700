import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {TIMEFRAME_SPECS, Timeframe, ceilToWindow, floorToWindow} from '../pipeline/timeframes.js'
import {CheckOptions, CheckResult, plural, verb} from './check.js'
import {ensureTradeMinutes, pendingAwareResult, pendingConditionSql, tradeWindowsSql} from './trade-windows.js'
import {isoSql} from './sql-time.js'

export interface ReconcileOptions extends CheckOptions {
  timeframes: Timeframe[]
  fromMicros: number
  toMicros: number
}

/**
 * The runbook's "Validate Candle Count", for trade_count and volume alike: each candle against the
 * count and the quantity sum of the source trades in its window. Candles older than the oldest
 * stored trade are left out (their trades may have been retired by a trades retention policy).
 */
export async function reconcileChecks(warehouse: Warehouse, options: ReconcileOptions): Promise<CheckResult[]> {
  const oldest = await warehouse.one<{oldest: bigint | null}>(`SELECT min("timestamp") AS oldest FROM ${TRADES_TABLE}`)
  await ensureTradeMinutes(warehouse, options.fromMicros, options.toMicros)
  const results: CheckResult[] = []
  for (const tf of options.timeframes) results.push(await reconcileCheck(warehouse, tf, oldest.oldest === null ? null : Number(oldest.oldest), options))
  return results
}

async function reconcileCheck(warehouse: Warehouse, tf: Timeframe, oldestTrade: number | null, options: ReconcileOptions): Promise<CheckResult> {
  const spec = TIMEFRAME_SPECS[tf]
  // Windows that overlap the range are compared whole.
  const from = Math.max(floorToWindow(options.fromMicros, tf), oldestTrade === null ? 0 : floorToWindow(oldestTrade, tf))
  const to = Math.max(from, ceilToWindow(options.toMicros, tf))
  const pending = await pendingConditionSql(warehouse, tf)
  const rows = await warehouse.json<Record<string, string | null>>(
    `WITH tw AS (${tradeWindowsSql(tf)}),
     candles AS (
       SELECT symbol, exchange, epoch_us(window_start) AS w, trade_count, volume FROM ${spec.table}
       WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
     ),
     differing AS (
       SELECT c.symbol, c.exchange, c.w, c.trade_count, coalesce(tw.trades, 0) AS source_count, c.volume,
              coalesce(tw.volume, 0) AS source_volume, tw.newest_ingestion
       FROM candles c LEFT JOIN tw USING (symbol, exchange, w)
       WHERE c.trade_count <> coalesce(tw.trades, 0) OR c.volume <> coalesce(tw.volume, 0)
     ),
     classified AS (SELECT *, coalesce(${pending}, false) AS pending FROM differing),
     shown AS (
       SELECT symbol, exchange, ${isoSql('make_timestamp(w)')} AS window_start, trade_count::DOUBLE AS trade_count, source_count::DOUBLE AS source_count,
              (trade_count - source_count)::DOUBLE AS count_diff, volume, source_volume, CASE WHEN pending THEN 'pending' ELSE 'differs' END AS kind
       FROM classified ORDER BY pending, w, symbol, exchange LIMIT $limit::INTEGER
     ),
     totals AS (
       SELECT count(*) AS total, count_if(NOT pending) AS differs, min(w) FILTER (NOT pending) AS first, max(w) FILTER (NOT pending) AS last,
              (SELECT count(*) FROM candles) AS candles
       FROM classified
     )
     SELECT totals.*, shown.* FROM totals LEFT JOIN shown ON true ORDER BY shown.kind = 'pending', shown.window_start, shown.symbol, shown.exchange`,
    {from: BigInt(from), to: BigInt(to), limit: options.limit},
  )
  const totals = rows[0]
  const total = Number(totals.total)
  const differs = Number(totals.differs)
  const candles = Number(totals.candles)
  return pendingAwareResult({
    name: 'reconcile',
    timeframe: tf,
    unit: 'candles',
    checked: candles,
    counts: {total, broken: differs, first: Number(totals.first), last: Number(totals.last)},
    evidence: rows
      .filter((row) => row.kind !== null)
      .map(({total: _t, differs: _d, first: _f, last: _l, candles: _c, ...row}) => ({timeframe: tf, ...row}) as Record<string, string>),
    summary: {
      pass: `${plural(candles, 'candle')} match their trades' count and volume`,
      pending: `${plural(total, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(total, 'misses', 'miss')} late trades that the next ${spec.flow} run adds`,
      broken: `${plural(differs, 'candle')} of ${candles.toLocaleString('en-US')} ${verb(differs, 'disagrees', 'disagree')} with ${verb(differs, 'its', 'their')} trades (count or volume)${total > differs ? `; ${total - differs} more ${verb(total - differs, 'waits', 'wait')} for late trades` : ''}`,
    },
  })
}
