import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../pipeline/timeframes.js'
import {CheckResult, EvidenceRow, checkResult, plural, verb} from './check.js'
import {backfillHint} from './invariants.js'
import {isoSql} from './sql-time.js'
import {ensureTradeMinutes, tradeWindowsSql} from './trade-windows.js'

const MINUTE = 60_000_000
const DOOMED_TABLE = 'k2_retention_doomed_minutes'

export interface TradesRetentionOptions {
  /** The trades policy's cutoff: trades whose exchange_date is before it would be deleted. */
  cutoff: string
  /** Per timeframe, the first date its policy keeps candles for; older windows are expected to have none. */
  candleCutoffs: Record<Timeframe, string>
  /** Evidence rows to keep. */
  limit: number
}

/**
 * Before source trades are deleted, their candles must be the whole truth about them: every window
 * of those trades, in every timeframe whose policy still keeps candles for its day, has a candle
 * whose trade_count and volume equal its trades' (the reconcile and gaps rules). Windows older than
 * every candle policy cannot be checked at all. Any of these fails: deleting would lose data for good.
 */
export async function tradesRetentionCheck(warehouse: Warehouse, options: TradesRetentionOptions): Promise<CheckResult> {
  const span = await warehouse.one<{first: bigint | null; last: bigint | null; trades: bigint}>(
    `SELECT min("timestamp") AS first, max("timestamp") AS last, count(*) AS trades FROM ${TRADES_TABLE} WHERE exchange_date < $cutoff::DATE`,
    {cutoff: options.cutoff},
  )
  const trades = Number(span.trades)
  const base = {name: 'trades_retention_safety', unit: 'windows', thresholds: {warn: null, fail: 0}}
  if (trades === 0 || span.first === null || span.last === null) {
    return checkResult({...base, status: 'pass', summary: `no source trades dated before ${options.cutoff}`, value: 0})
  }

  const first = Number(span.first)
  const last = Number(span.last)
  // Every trade of a window counts, also one dated on or after the cutoff: reconcile compares whole windows.
  await ensureTradeMinutes(warehouse, first, last + 1)
  await warehouse.run(
    `CREATE OR REPLACE TEMP TABLE ${DOOMED_TABLE} AS
     SELECT DISTINCT symbol, exchange, "timestamp" - "timestamp" % ${MINUTE} AS w FROM ${TRADES_TABLE} WHERE exchange_date < $cutoff::DATE`,
    {cutoff: options.cutoff},
  )
  let total = 0
  let firstBad: number | undefined
  let lastBad: number | undefined
  const evidence: EvidenceRow[] = []
  for (const tf of TIMEFRAMES) {
    const found = await timeframeProblems(warehouse, tf, options.candleCutoffs[tf], first, last, options.limit - evidence.length)
    total += found.total
    if (found.first !== null) firstBad = Math.min(firstBad ?? found.first, found.first)
    if (found.last !== null) lastBad = Math.max(lastBad ?? found.last, found.last)
    evidence.push(...found.evidence)
  }

  // Days no candle policy keeps any more: nothing is left to compare these trades with.
  const oldestKept = TIMEFRAMES.map((tf) => options.candleCutoffs[tf]).sort()[0]
  const counted = await warehouse.one<{minutes: bigint; markets: bigint}>(
    `SELECT count(*) AS minutes, count(DISTINCT (symbol, exchange)) AS markets FROM ${DOOMED_TABLE} WHERE make_timestamp(w)::DATE < $kept::DATE`,
    {kept: oldestKept},
  )
  const unchecked = Number(counted.minutes)
  const uncheckedMarkets = Number(counted.markets)
  if (unchecked > 0 && evidence.length < options.limit) {
    const shown = await warehouse.json<Record<string, string>>(
      `SELECT symbol, exchange, ${isoSql('make_timestamp(min(w))')} AS window_start, count(*)::DOUBLE AS minutes
       FROM ${DOOMED_TABLE} WHERE make_timestamp(w)::DATE < $kept::DATE
       GROUP BY symbol, exchange ORDER BY min(w), symbol, exchange LIMIT $limit::INTEGER`,
      {kept: oldestKept, limit: options.limit - evidence.length},
    )
    for (const row of shown) {
      evidence.push({timeframe: null, symbol: row.symbol, exchange: row.exchange, window_start: row.window_start, trades: null, candle_trades: null, volume: null, candle_volume: null, kind: `${plural(Number(row.minutes), 'minute')} before ${oldestKept}: no candle policy keeps them`})
    }
  }

  const windows = total + unchecked
  if (windows === 0) {
    return checkResult({...base, status: 'pass', summary: `every window of the ${plural(trades, 'trade')} dated before ${options.cutoff} has candles that match them (count and volume)`, value: 0})
  }

  const parts = [total > 0 ? `${plural(total, 'window')} ${verb(total, 'has', 'have')} no candle or one that disagrees with ${verb(total, 'its', 'their')} trades` : '', unchecked > 0 ? `${plural(unchecked, 'minute')} of trades older than every candle policy cannot be checked` : '']
  return checkResult({
    ...base,
    status: 'fail',
    summary: `${plural(trades, 'trade')} dated before ${options.cutoff} would be deleted, but ${parts.filter(Boolean).join('; ')}`,
    value: windows,
    evidence,
    evidenceOmitted: Math.max(0, total + uncheckedMarkets - evidence.length),
    hint:
      firstBad !== undefined && lastBad !== undefined
        ? `${backfillHint('all', firstBad, lastBad, TIMEFRAME_SPECS['1d'].micros)}, then run retention again (or --force to delete them anyway)`
        : '--force deletes them anyway',
  })
}

async function timeframeProblems(
  warehouse: Warehouse,
  tf: Timeframe,
  keptFrom: string,
  first: number,
  last: number,
  limit: number,
): Promise<{total: number; first: number | null; last: number | null; evidence: EvidenceRow[]}> {
  const spec = TIMEFRAME_SPECS[tf]
  const from = first - (first % spec.micros)
  const to = last - (last % spec.micros) + spec.micros
  const rows = await warehouse.json<Record<string, string | null>>(
    `WITH tw AS (${tradeWindowsSql(tf)}),
     doomed AS (
       SELECT DISTINCT symbol, exchange, w - w % ${spec.micros} AS w FROM ${DOOMED_TABLE}
     ),
     candles AS (
       SELECT symbol, exchange, epoch_us(window_start) AS w, trade_count, volume FROM ${spec.table}
       WHERE window_start >= make_timestamp($from::BIGINT) AND window_start < make_timestamp($to::BIGINT)
     ),
     bad AS (
       SELECT d.symbol, d.exchange, d.w, tw.trades, tw.volume, c.trade_count, c.volume AS candle_volume,
              CASE WHEN c.w IS NULL THEN 'no candle' ELSE 'differs' END AS kind
       FROM doomed d JOIN tw USING (symbol, exchange, w) LEFT JOIN candles c USING (symbol, exchange, w)
       WHERE make_timestamp(d.w)::DATE >= $kept::DATE
         AND (c.w IS NULL OR c.trade_count <> tw.trades OR c.volume <> tw.volume)
     ),
     totals AS (SELECT count(*) AS total, min(w) AS first, max(w) AS last FROM bad),
     shown AS (SELECT * FROM bad ORDER BY w, symbol, exchange LIMIT $limit::INTEGER)
     SELECT totals.total, totals.first, totals.last, shown.symbol, shown.exchange, ${isoSql('make_timestamp(shown.w)')} AS window_start,
            shown.trades::DOUBLE AS trades, shown.trade_count::DOUBLE AS candle_trades, shown.volume, shown.candle_volume, shown.kind
     FROM totals LEFT JOIN shown ON true ORDER BY shown.w, shown.symbol, shown.exchange`,
    {from: BigInt(from), to: BigInt(to), kept: keptFrom, limit: Math.max(0, limit)},
  )
  const totals = rows[0]
  const evidence = rows
    .filter((row) => row.kind !== null)
    .map((row) => ({
      timeframe: tf,
      symbol: row.symbol,
      exchange: row.exchange,
      window_start: row.window_start,
      trades: row.trades === null ? null : Number(row.trades),
      candle_trades: row.candle_trades === null ? null : Number(row.candle_trades),
      volume: row.volume,
      candle_volume: row.candle_volume,
      kind: row.kind,
    }))
  return {total: Number(totals.total), first: totals.first === null ? null : Number(totals.first), last: totals.last === null ? null : Number(totals.last), evidence}
}
