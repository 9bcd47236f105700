// The tables of the data contract and of k2ops' own bookkeeping, by name. How each engine lays
// them out (DDL, partitioning) lives with the engine.
import {TIMEFRAMES, TIMEFRAME_SPECS} from './timeframes.js'

export const TRADES_TABLE = 'market_data.gold_crypto_trades'
export const WATERMARKS_TABLE = 'k2ops_meta.flow_watermarks'
export const INGESTED_FILES_TABLE = 'k2ops_meta.ingested_files'

/** The tables every warehouse has (INGESTED_FILES_TABLE is added by the next ingest or init, so it is not required). */
export const SCHEMA_TABLES = [TRADES_TABLE, ...TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].table), WATERMARKS_TABLE]

/**
 * The kline fields every candle table carries after the original platform's 14 columns (appended,
 * so its readers keep working), as Binance's klines have them: quote_volume = Σ price·quantity,
 * exact (16 places: the product of two 8-place decimals); taker_buy_volume and
 * taker_buy_quote_volume over the trades whose taker bought (side BUY). Nullable: candles built
 * before the columns existed hold NULL until a backfill rebuilds them, and a window none of whose
 * trades has a side has no taker figures.
 */
export const KLINE_COLUMNS = [
  {name: 'quote_volume', type: 'DECIMAL(38,16)'},
  {name: 'taker_buy_volume', type: 'DECIMAL(38,8)'},
  {name: 'taker_buy_quote_volume', type: 'DECIMAL(38,16)'},
] as const

/**
 * The trades table's column after the original platform's: how many exchange trades a row stands
 * for. An aggTrade covers last_trade_id − first_trade_id + 1 trades, which a candle's trade_count
 * counts as Binance's numberOfTrades does; NULL is one trade (every other tape).
 */
export const COVERED_TRADES = {name: 'covered_trades', type: 'BIGINT'} as const

/** The trades of a row as the candles count them (`alias` names the trades table; '' for none). */
export function tradesCounted(alias = 't'): string {
  return `coalesce(${alias ? `${alias}.` : ''}${COVERED_TRADES.name}, 1)`
}

/** A candle's values, in table order: what a replace compares to tell a changed candle from an unchanged one. */
export const CANDLE_VALUE_COLUMNS = ['window_end', 'window_date', 'open_price', 'high_price', 'low_price', 'close_price', 'volume', 'trade_count', 'vwap', ...KLINE_COLUMNS.map((c) => c.name)]

/**
 * The command that fills the kline fields of the candles built before the columns existed: every
 * day with trades of the last five years, each timeframe cut at its retention cutoff.
 */
export const KLINE_FILL_COMMAND = 'k2ops backfill --timeframe all --lookback 1825d'
