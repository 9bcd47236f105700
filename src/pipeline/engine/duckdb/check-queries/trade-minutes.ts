import type {Warehouse} from '../warehouse.js'

import {TRADES_TABLE, tradesCounted} from '../../../schema.js'
import {TIMEFRAME_SPECS, Timeframe, ceilToWindow, floorToWindow} from '../../../timeframes.js'
import {readMark} from '../watermark.js'

export const MINUTE = 60_000_000
const MINUTES_TABLE = 'k2_trade_minutes'

/**
 * The source side of gaps, reconcile and the trades retention check, aggregated once per minute and
 * market over whole UTC days: every timeframe's windows are sums of minutes, so the trades are
 * scanned once per session instead of once per check and timeframe. A temporary table of the
 * connection (also allowed on a read-only warehouse); a wider range rebuilds it.
 */
export class TradeMinutes {
  private built?: {from: number; to: number}

  constructor(private readonly warehouse: Warehouse) {}

  /** Makes the table cover [fromMicros, toMicros). */
  async ensure(fromMicros: number, toMicros: number): Promise<void> {
    const from = floorToWindow(fromMicros, '1d')
    const to = ceilToWindow(toMicros, '1d')
    if (this.built && this.built.from <= from && this.built.to >= to) return
    await this.warehouse.run(
      `CREATE OR REPLACE TEMP TABLE ${MINUTES_TABLE} AS
       SELECT symbol, exchange, "timestamp" - "timestamp" % ${MINUTE} AS w, sum(${tradesCounted('')})::BIGINT AS trades, sum(quantity) AS volume,
              max(ingestion_timestamp) AS newest_ingestion
       FROM ${TRADES_TABLE} WHERE "timestamp" >= $from::BIGINT AND "timestamp" < $to::BIGINT
       GROUP BY symbol, exchange, w`,
      {from: BigInt(from), to: BigInt(to)},
    )
    this.built = {from, to}
  }

  /** Makes the table cover every span that holds windows (an empty span needs no trades, but the table must exist). */
  async ensureSpans(spans: Array<{fromMicros: number; toMicros: number}>): Promise<void> {
    const filled = spans.filter((span) => span.toMicros > span.fromMicros)
    const cover = filled.length > 0 ? filled : spans.slice(0, 1)
    if (cover.length === 0) return
    await this.ensure(Math.min(...cover.map((span) => span.fromMicros)), Math.max(...cover.map((span) => span.toMicros)))
  }
}

/**
 * Per (symbol, exchange, window) of a timeframe: the trades' count, volume and newest ingestion,
 * for windows in [$from, $to) (both aligned to the timeframe). `w` is the window start in µs.
 * Needs TradeMinutes over that range first.
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
 * by any run yet, or some of its trades arrived after the last run (late data). Returns SQL over
 * `w` and `newest_ingestion`.
 */
export async function pendingConditionSql(warehouse: Warehouse, tf: Timeframe): Promise<string> {
  const mark = await readMark(warehouse, tf)
  if (mark.closedThrough === null) return 'false'
  return `(w >= ${mark.closedThrough} OR newest_ingestion > ${mark.ingestedThrough})`
}

/** A JSON value (BIGINT as text, DOUBLE as a number, NULL) as a number or null. */
export function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value)
}
