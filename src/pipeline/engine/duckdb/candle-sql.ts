import {TRADES_TABLE, tradesCounted} from '../../schema.js'
import {TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'

/** DECIMAL → VARCHAR prints every digit of the scale: without the point it is the unscaled integer. */
function unscaled(decimalExpr: string): string {
  return `replace(CAST(${decimalExpr} AS VARCHAR), '.', '')::HUGEINT`
}

/**
 * The one candle builder for all five timeframes. Each candle is computed from raw trades:
 * - windows are epoch-aligned, half-open [start, end), in UTC microseconds;
 * - open/close are the first/last trade by (timestamp, source_sequence, trade_id), deterministic
 *   on ties (a trade without a sequence sorts after those with one);
 * - vwap = Σ(price·quantity)/Σquantity, exact: the sums are DECIMAL, and the division is done on
 *   their unscaled integers once per candle (DuckDB's DECIMAL division would go through DOUBLE),
 *   rounded half away from zero to 8 places;
 * - trade_count counts exchange trades: an aggTrade row stands for covered_trades of them;
 * - the kline fields (schema.ts KLINE_COLUMNS): quote_volume = Σ(price·quantity) exact, and the
 *   taker-buy volume and quote volume over the trades whose side is BUY.
 *
 * `tradeFilter` narrows the trades read (a time range, or a join with the affected windows);
 * it may reference the trades table as `t` and the bound parameters of the caller.
 */
export function candleSelectSql(tf: Timeframe, tradeFilter: {join?: string; where: string}): string {
  const size = TIMEFRAME_SPECS[tf].micros
  const order = `{'ts': t."timestamp", 'seq': coalesce(t.source_sequence, 9223372036854775807), 'id': t.trade_id}`
  return `
WITH sums AS (
  SELECT t.symbol, t.exchange, t."timestamp" - t."timestamp" % ${size} AS ws,
         arg_min(t.price, ${order}) AS open_price, max(t.price) AS high_price,
         min(t.price) AS low_price, arg_max(t.price, ${order}) AS close_price,
         sum(t.quantity)::DECIMAL(38,8) AS volume, sum(${tradesCounted()})::BIGINT AS trade_count,
         sum(t.price::DECIMAL(38,8) * t.quantity) AS notional,
         -- The taker side: NULL when no trade of the window has one (a tape without sides).
         CASE WHEN count(t.side) > 0 THEN coalesce(sum(t.quantity) FILTER (WHERE t.side = 'BUY'), 0)::DECIMAL(38,8) END AS taker_buy_volume,
         CASE WHEN count(t.side) > 0 THEN coalesce(sum(t.price::DECIMAL(38,8) * t.quantity) FILTER (WHERE t.side = 'BUY'), 0)::DECIMAL(38,16) END AS taker_buy_quote_volume
  FROM ${TRADES_TABLE} t ${tradeFilter.join ?? ''}
  WHERE ${tradeFilter.where}
  GROUP BY t.symbol, t.exchange, ws
), units AS (
  SELECT *, ${unscaled('notional')} AS notional_units, ${unscaled('volume')} AS volume_units FROM sums
)
SELECT symbol, exchange,
       make_timestamp(ws) AS window_start, make_timestamp(ws + ${size}) AS window_end,
       CAST(make_timestamp(ws) AS DATE) AS window_date,
       open_price, high_price, low_price, close_price, volume, trade_count,
       CAST(CAST(notional_units // volume_units
                 + CASE WHEN (notional_units % volume_units) * 2 >= volume_units THEN 1 ELSE 0 END
            AS DECIMAL(38,0)) * 0.00000001::DECIMAL(38,8) AS DECIMAL(18,8)) AS vwap,
       notional::DECIMAL(38,16) AS quote_volume, taker_buy_volume, taker_buy_quote_volume
FROM units`
}
