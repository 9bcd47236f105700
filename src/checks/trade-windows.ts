import type {Warehouse} from '../pipeline/warehouse.js'

import {TRADES_TABLE} from '../pipeline/schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../pipeline/timeframes.js'
import {readMark} from '../pipeline/watermark.js'

/**
 * The source side of gaps and reconcile: per (symbol, exchange, window) of a timeframe, the trades'
 * count, volume and newest ingestion, for trades in [$from, $to). `w` is the window start in µs.
 */
export function tradeWindowsSql(tf: Timeframe): string {
  const {micros} = TIMEFRAME_SPECS[tf]
  return `SELECT symbol, exchange, "timestamp" - "timestamp" % ${micros} AS w, count(*) AS trades, sum(quantity) AS volume,
                 max(ingestion_timestamp) AS newest_ingestion
          FROM ${TRADES_TABLE} WHERE "timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT
          GROUP BY symbol, exchange, w`
}

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
