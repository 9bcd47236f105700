import {TRADES_TABLE} from './schema.js'
import {TIMEFRAME_SPECS, Timeframe} from './timeframes.js'

/**
 * The one candle builder for all five timeframes. Each candle is computed from raw trades:
 * - windows are epoch-aligned, half-open [start, end), in UTC microseconds;
 * - open/close are the first/last trade by (timestamp, source_sequence, trade_id), deterministic
 *   on ties (a trade without a sequence sorts after those with one);
 * - vwap = Σ(price·quantity)/Σquantity in exact integer arithmetic (DuckDB's DECIMAL division
 *   would go through DOUBLE), rounded half away from zero to 8 places.
 *
 * `tradeFilter` narrows the trades read (a time range, or a join with the affected windows);
 * it may reference the trades table as `t` and the bound parameters of the caller.
 */
export function candleSelectSql(tf: Timeframe, tradeFilter: {join?: string; where: string}): string {
  const size = TIMEFRAME_SPECS[tf].micros
  const order = `{'ts': t."timestamp", 'seq': coalesce(t.source_sequence, 9223372036854775807), 'id': t.trade_id}`
  return `
WITH trades AS (
  SELECT t.symbol, t.exchange, t."timestamp" - t."timestamp" % ${size} AS ws,
         t.price, t.quantity, ${order} AS ord,
         CAST(t.price::DECIMAL(38,8) * 100000000 AS HUGEINT) AS price_units,
         CAST(t.quantity * 100000000 AS HUGEINT) AS quantity_units
  FROM ${TRADES_TABLE} t ${tradeFilter.join ?? ''}
  WHERE ${tradeFilter.where}
), sums AS (
  SELECT symbol, exchange, ws,
         arg_min(price, ord) AS open_price, max(price) AS high_price,
         min(price) AS low_price, arg_max(price, ord) AS close_price,
         sum(quantity)::DECIMAL(38,8) AS volume, count(*) AS trade_count,
         sum(price_units * quantity_units) AS notional_units, sum(quantity_units) AS volume_units
  FROM trades GROUP BY symbol, exchange, ws
)
SELECT symbol, exchange,
       make_timestamp(ws) AS window_start, make_timestamp(ws + ${size}) AS window_end,
       CAST(make_timestamp(ws) AS DATE) AS window_date,
       open_price, high_price, low_price, close_price, volume, trade_count,
       CAST(CAST(notional_units // volume_units
                 + CASE WHEN (notional_units % volume_units) * 2 >= volume_units THEN 1 ELSE 0 END
            AS DECIMAL(38,0)) * 0.00000001::DECIMAL(38,8) AS DECIMAL(18,8)) AS vwap
FROM sums`
}
