// The tables of the data contract and of k2ops' own bookkeeping, by name. How each engine lays
// them out (DDL, partitioning) lives with the engine.
import {TIMEFRAMES, TIMEFRAME_SPECS} from './timeframes.js'

export const TRADES_TABLE = 'market_data.gold_crypto_trades'
export const WATERMARKS_TABLE = 'k2ops_meta.flow_watermarks'
export const INGESTED_FILES_TABLE = 'k2ops_meta.ingested_files'

/** The tables every warehouse has (INGESTED_FILES_TABLE is added by the next ingest or init, so it is not required). */
export const SCHEMA_TABLES = [TRADES_TABLE, ...TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].table), WATERMARKS_TABLE]
