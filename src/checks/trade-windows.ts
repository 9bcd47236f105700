import type {Warehouse} from '../pipeline/engine/duckdb/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {TIMEFRAME_SPECS, Timeframe, ceilToWindow, floorToWindow} from '../pipeline/timeframes.js'
import {readMark} from '../pipeline/engine/duckdb/watermark.js'
import {CheckResult, EvidenceRow, checkResult} from './check.js'
import {backfillHint} from './invariants.js'

const MINUTE = 60_000_000
const MINUTES_TABLE = 'k2_trade_minutes'
const minutesBuilt = new WeakMap<Warehouse, {from: number; to: number}>()

/**
 * The source side of gaps and reconcile, aggregated once per minute and market over whole UTC days
 * covering [fromMicros, toMicros): every timeframe's windows are sums of minutes, so the trades are
 * scanned once per command instead of once per check and timeframe. A temporary table of this
 * connection (also allowed on a read-only warehouse); a wider range rebuilds it.
 */
export async function ensureTradeMinutes(warehouse: Warehouse, fromMicros: number, toMicros: number): Promise<void> {
  const from = floorToWindow(fromMicros, '1d')
  const to = ceilToWindow(toMicros, '1d')
  const built = minutesBuilt.get(warehouse)
  if (built && built.from <= from && built.to >= to) return
  await warehouse.run(
    `CREATE OR REPLACE TEMP TABLE ${MINUTES_TABLE} AS
     SELECT symbol, exchange, "timestamp" - "timestamp" % ${MINUTE} AS w, count(*) AS trades, sum(quantity) AS volume,
            max(ingestion_timestamp) AS newest_ingestion
     FROM ${TRADES_TABLE} WHERE "timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT
     GROUP BY symbol, exchange, w`,
    {from: BigInt(from), to: BigInt(to)},
  )
  minutesBuilt.set(warehouse, {from, to})
}

/**
 * Per (symbol, exchange, window) of a timeframe: the trades' count, volume and newest ingestion,
 * for windows in [$from, $to) (both aligned to the timeframe). `w` is the window start in µs.
 * Needs ensureTradeMinutes over that range first.
 */
export function tradeWindowsSql(tf: Timeframe): string {
  const {micros} = TIMEFRAME_SPECS[tf]
  return `SELECT symbol, exchange, w, sum(trades) AS trades, sum(volume) AS volume, max(newest_ingestion) AS newest_ingestion
          FROM (SELECT symbol, exchange, w - w % ${micros} AS w, trades, volume, newest_ingestion FROM ${MINUTES_TABLE}
                WHERE w >= $from::BIGINT AND w < $to::BIGINT)
          GROUP BY symbol, exchange, w`
}

/** Per (symbol, exchange, minute) with trades in [$from, $to): the minutes themselves. */
export const TRADE_MINUTES_SQL = `SELECT symbol, exchange, w, trades FROM ${MINUTES_TABLE} WHERE w >= $from::BIGINT AND w < $to::BIGINT`

/**
 * A window is pending when the timeframe's flow has not yet had its turn at it: it is not closed
 * by any run yet, or some of its trades arrived after the last run (late data). The next scheduled
 * run builds it; that is a warning, not a broken pipeline. Returns SQL over `w` and `newest_ingestion`.
 */
export async function pendingConditionSql(warehouse: Warehouse, tf: Timeframe): Promise<string> {
  const mark = await readMark(warehouse, tf)
  if (mark.closedThrough === null) return 'false'
  return `(w >= ${mark.closedThrough} OR newest_ingestion > ${mark.ingestedThrough})`
}

/**
 * The verdict of a check whose offending windows are either pending (the flow has not had its turn:
 * warn, `k2ops trigger`) or broken (fail, with the backfill over the broken ones): gaps and reconcile.
 */
export function pendingAwareResult(check: {
  name: string
  timeframe: Timeframe
  unit: string
  /** Rows looked at (windows with trades, candles). */
  checked: number
  /** Offending windows: all of them, the broken ones, and the window starts (µs) of the broken ones. */
  counts: {total: number; broken: number; first: number; last: number}
  evidence: EvidenceRow[]
  summary: {pass: string; pending: string; broken: string}
}): CheckResult {
  const {name, timeframe, unit, counts, evidence, checked} = check
  const thresholds = {warn: null, fail: 0}
  if (counts.total === 0) return checkResult({name, timeframe, status: 'pass', summary: check.summary.pass, value: 0, unit, checked, thresholds})
  const shown = {checked, thresholds, evidence, evidenceOmitted: counts.total - evidence.length}
  if (counts.broken === 0) {
    return checkResult({name, timeframe, status: 'warn', summary: check.summary.pending, value: 0, unit, ...shown, hint: `k2ops trigger ${timeframe}`})
  }

  return checkResult({name, timeframe, status: 'fail', summary: check.summary.broken, value: counts.broken, unit, ...shown, hint: backfillHint(timeframe, counts.first, counts.last)})
}
