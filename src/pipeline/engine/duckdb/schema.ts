import type {SchemaChange} from '../engine.js'
import type {Warehouse} from './warehouse.js'

import {COVERED_TRADES, INGESTED_FILES_TABLE, KLINE_COLUMNS, KLINE_FILL_COMMAND, TRADES_TABLE, WATERMARKS_TABLE} from '../../schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS} from '../../timeframes.js'

/** The source table of the data contract (compatible with the original platform). */
const TRADES_DDL = `CREATE TABLE IF NOT EXISTS ${TRADES_TABLE} (
  trade_id VARCHAR NOT NULL,
  symbol VARCHAR NOT NULL,
  exchange VARCHAR NOT NULL,
  "timestamp" BIGINT NOT NULL,
  price DECIMAL(18,8) NOT NULL,
  quantity DECIMAL(38,8) NOT NULL,
  side VARCHAR,
  source_sequence BIGINT,
  ingestion_timestamp BIGINT NOT NULL,
  exchange_date DATE NOT NULL,
  ${COVERED_TRADES.name} ${COVERED_TRADES.type}
)`

function candleDdl(table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${table} (
  symbol VARCHAR NOT NULL,
  exchange VARCHAR NOT NULL,
  window_start TIMESTAMP NOT NULL,
  window_end TIMESTAMP NOT NULL,
  window_date DATE NOT NULL,
  open_price DECIMAL(18,8) NOT NULL,
  high_price DECIMAL(18,8) NOT NULL,
  low_price DECIMAL(18,8) NOT NULL,
  close_price DECIMAL(18,8) NOT NULL,
  volume DECIMAL(38,8) NOT NULL,
  trade_count BIGINT NOT NULL,
  vwap DECIMAL(18,8) NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  ${KLINE_COLUMNS.map((c) => `${c.name} ${c.type}`).join(',\n  ')}
)`
}

/** Adds the kline columns a candle table made before them lacks (after its last column); idempotent. */
function klineColumnStatements(table: string): string[] {
  return KLINE_COLUMNS.map((c) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${c.name} ${c.type}`)
}

/**
 * k2ops' own bookkeeping, per timeframe: every trade with ingestion_timestamp ≤ ingested_through
 * whose window starts before closed_through is reflected in that timeframe's candles. This is what
 * makes late trades exact.
 */
const WATERMARKS_DDL = `CREATE TABLE IF NOT EXISTS ${WATERMARKS_TABLE} (
  timeframe VARCHAR NOT NULL,
  ingested_through BIGINT NOT NULL,
  closed_through BIGINT,
  updated_at TIMESTAMP NOT NULL
)`

/**
 * k2ops' own bookkeeping: which file each ingest stored, by the ingestion_timestamp its rows got
 * (unique per file), so that a conflicting trade can name the file that stored it first. Created
 * on open by ingest and init in warehouses made before it; rows stored before it have no entry.
 */
const INGESTED_FILES_DDL = `CREATE TABLE IF NOT EXISTS ${INGESTED_FILES_TABLE} (
  ingestion_timestamp BIGINT NOT NULL,
  file VARCHAR NOT NULL,
  trades BIGINT NOT NULL,
  ingested_at TIMESTAMP NOT NULL
)`

/** Every statement that creates the schema; each is idempotent. */
export function schemaStatements(): string[] {
  return [
    'CREATE SCHEMA IF NOT EXISTS market_data',
    'CREATE SCHEMA IF NOT EXISTS k2ops_meta',
    TRADES_DDL,
    `ALTER TABLE ${TRADES_TABLE} ADD COLUMN IF NOT EXISTS ${COVERED_TRADES.name} ${COVERED_TRADES.type}`,
    ...TIMEFRAMES.flatMap((tf) => [candleDdl(TIMEFRAME_SPECS[tf].table), ...klineColumnStatements(TIMEFRAME_SPECS[tf].table)]),
    WATERMARKS_DDL,
    INGESTED_FILES_DDL,
  ]
}

/** engine.ts ensureSchema: the tables missing are created, the ones there adopted (the columns added since, schema.ts, are added). */
export async function ensureSchema(warehouse: Warehouse, options: {dryRun?: boolean} = {}): Promise<SchemaChange[]> {
  const columns = await warehouse.all<{name: string; column_name: string}>(
    `SELECT schema_name || '.' || table_name AS name, column_name FROM duckdb_columns() WHERE database_name = current_database()`,
  )
  const present = new Map<string, Set<string>>()
  for (const {name, column_name: column} of columns) present.set(name, (present.get(name) ?? new Set()).add(column))
  const candleTables = new Set(TIMEFRAMES.map((tf) => TIMEFRAME_SPECS[tf].table))
  const tables = [TRADES_TABLE, ...candleTables, WATERMARKS_TABLE, INGESTED_FILES_TABLE]
  if (!options.dryRun) await warehouse.ensureSchema()
  return tables.map((table): SchemaChange => {
    const have = present.get(table)
    if (!have) return {table, action: 'created', changes: []}
    const wanted = candleTables.has(table) ? KLINE_COLUMNS : table === TRADES_TABLE ? [COVERED_TRADES] : []
    const added = wanted.filter((c) => !have.has(c.name))
    if (added.length === 0) return {table, action: 'adopted', changes: []}
    return {table, action: 'altered', changes: [`added ${added.map((c) => `${c.name} ${c.type}`).join(', ')}`], ...(candleTables.has(table) && {fill: KLINE_FILL_COMMAND})}
  })
}
