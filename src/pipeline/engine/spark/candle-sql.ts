import {tradesCounted} from '../../schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'

/** DECIMAL → STRING prints every digit of the scale: without the point it is the unscaled integer. */
function unscaled(decimalExpr: string): string {
  return `CAST(replace(CAST(${decimalExpr} AS STRING), '.', '') AS DECIMAL(38,0))`
}

/** numerator / denominator (positive DECIMAL(38,0)), rounded half away from zero to a whole number: `div` is exact on decimals. */
function roundedQuotient(numerator: string, denominator: string): string {
  return `(${numerator} div ${denominator}) + IF((${numerator} % ${denominator}) * 2 >= ${denominator}, 1, 0)`
}

/** A whole number of 10⁻⁸ units as DECIMAL(18,8). */
function eightPlaces(units: string): string {
  return `CAST(CAST(${units} AS DECIMAL(38,0)) * CAST(0.00000001 AS DECIMAL(38,8)) AS DECIMAL(18,8))`
}

/**
 * The one candle builder of the Spark engine, for all five timeframes ("Candle semantics" in
 * DESIGN.md). Each candle is computed from raw trades:
 * - windows from the BIGINT microsecond column: epoch-aligned, half-open, UTC (the session time
 *   zone is UTC, so window_date is the UTC date), microseconds kept;
 * - open/close are the first/last trade by (timestamp, source_sequence, trade_id): min_by/max_by
 *   over that struct, deterministic on ties (a trade without a sequence sorts after those with one),
 *   where first()/last() after orderBy is not;
 * - vwap = Σ(price·quantity)/Σquantity, exact: the session keeps decimal precision
 *   (spark.sql.decimalOperations.allowPrecisionLoss=false, so the products keep 16 places and an
 *   overflow is an error in ANSI mode), and the division is done on the unscaled integers,
 *   rounded half away from zero to 8 places;
 * - trade_count counts exchange trades: an aggTrade row stands for covered_trades of them;
 * - the kline fields (schema.ts KLINE_COLUMNS): quote_volume = Σ(price·quantity) exact, and the
 *   taker-buy volume and quote volume over the trades whose side is BUY.
 *
 * `trades` is the relation of the trades to aggregate, as `t` (a filtered read of the table).
 */
export function candleSelectSql(tf: Timeframe, trades: string): string {
  const size = `${TIMEFRAME_SPECS[tf].micros}L`
  const order = 'struct(t.`timestamp`, coalesce(t.source_sequence, 9223372036854775807L), t.trade_id)'
  // Nested subqueries, not a WITH: Spark never matches a cached plan that holds a CTE, and the
  // replace caches these candles for the reads and the MERGE that follow.
  return `
SELECT symbol, exchange, timestamp_micros(ws) AS window_start, timestamp_micros(ws + ${size}) AS window_end,
       CAST(timestamp_micros(ws) AS DATE) AS window_date, open_price, high_price, low_price, close_price, volume, trade_count,
       ${eightPlaces(roundedQuotient('notional_units', 'volume_units'))} AS vwap,
       CAST(notional AS DECIMAL(38,16)) AS quote_volume, taker_buy_volume, taker_buy_quote_volume
FROM (
  SELECT *, ${unscaled('notional')} AS notional_units, ${unscaled('volume')} AS volume_units
  FROM (
    SELECT t.symbol, t.exchange, t.\`timestamp\` - t.\`timestamp\` % ${size} AS ws,
           min_by(t.price, ${order}) AS open_price, max(t.price) AS high_price,
           min(t.price) AS low_price, max_by(t.price, ${order}) AS close_price,
           CAST(sum(t.quantity) AS DECIMAL(38,8)) AS volume, CAST(sum(${tradesCounted()}) AS BIGINT) AS trade_count,
           sum(CAST(t.price AS DECIMAL(38,8)) * t.quantity) AS notional,
           -- The taker side: NULL when no trade of the window has one (a tape without sides).
           IF(count(t.side) > 0, CAST(coalesce(sum(IF(t.side = 'BUY', t.quantity, NULL)), 0) AS DECIMAL(38,8)), NULL) AS taker_buy_volume,
           IF(count(t.side) > 0, CAST(coalesce(sum(IF(t.side = 'BUY', CAST(t.price AS DECIMAL(38,8)) * t.quantity, NULL)), 0) AS DECIMAL(38,16)), NULL) AS taker_buy_quote_volume
    FROM ${trades}
    GROUP BY t.symbol, t.exchange, t.\`timestamp\` - t.\`timestamp\` % ${size}
  ) sums
) units`
}
