import {COVERED_TRADES, INGESTED_FILES_TABLE, KLINE_COLUMNS, TRADES_TABLE, WATERMARKS_TABLE} from '../../schema.js'
import {TIMEFRAMES, TIMEFRAME_SPECS, Timeframe} from '../../timeframes.js'
import {sqlName} from './sql-text.js'

/** Where a Spark home keeps its tables: a catalog and the namespace of the market_data tables. */
export interface SparkTarget {
  catalog: string
  namespace: string
}

/** k2ops' own bookkeeping namespace in the same catalog: never the market_data tables. */
export const META_NAMESPACE = 'k2ops_meta'

const base = (table: string): string => table.slice(table.indexOf('.') + 1)

/** The fully qualified names of the contract's tables (DESIGN.md, "Data contract") in a target. */
export class SparkTables {
  constructor(readonly target: SparkTarget) {}

  get namespace(): string {
    return `${sqlName(this.target.catalog)}.${sqlName(this.target.namespace)}`
  }

  get metaNamespace(): string {
    return `${sqlName(this.target.catalog)}.${sqlName(META_NAMESPACE)}`
  }

  get trades(): string {
    return `${this.namespace}.${sqlName(base(TRADES_TABLE))}`
  }

  candles(tf: Timeframe): string {
    return `${this.namespace}.${sqlName(base(TIMEFRAME_SPECS[tf].table))}`
  }

  /** The flows' marks of every namespace of this catalog, keyed by namespace. */
  get marks(): string {
    return `${this.metaNamespace}.${sqlName(base(WATERMARKS_TABLE))}`
  }

  get ingestedFiles(): string {
    return `${this.metaNamespace}.${sqlName(base(INGESTED_FILES_TABLE))}`
  }

  /** Every table k2ops needs, with its partitioning and columns. */
  definitions(): TableDefinition[] {
    return [
      {name: this.trades, short: base(TRADES_TABLE), columns: TRADE_COLUMNS, partitionedBy: 'exchange_date, exchange_hour'},
      ...TIMEFRAMES.map((tf) => ({name: this.candles(tf), short: base(TIMEFRAME_SPECS[tf].table), columns: CANDLE_COLUMNS, partitionedBy: tf === '1d' ? 'months(window_date)' : 'days(window_date)'})),
      {name: this.marks, short: `${META_NAMESPACE}.${base(WATERMARKS_TABLE)}`, columns: MARK_COLUMNS},
      {name: this.ingestedFiles, short: `${META_NAMESPACE}.${base(INGESTED_FILES_TABLE)}`, columns: INGESTED_FILE_COLUMNS},
    ]
  }
}

export interface ColumnDefinition {
  name: string
  /** Spark SQL type, lower case as DESCRIBE prints it. */
  type: string
  notNull?: boolean
  /** A column k2ops added after the original platform's: a table without it gets it (ADD COLUMNS). */
  appended?: boolean
}

export interface TableDefinition {
  name: string
  /** For people: the table's name without the catalog. */
  short: string
  columns: ColumnDefinition[]
  partitionedBy?: string
}

const column = (name: string, type: string, notNull = true): ColumnDefinition => ({name, type, notNull})

export const TRADE_COLUMNS: ColumnDefinition[] = [
  column('trade_id', 'string'),
  column('symbol', 'string'),
  column('exchange', 'string'),
  column('timestamp', 'bigint'),
  column('price', 'decimal(18,8)'),
  column('quantity', 'decimal(38,8)'),
  column('side', 'string', false),
  column('source_sequence', 'bigint', false),
  column('ingestion_timestamp', 'bigint'),
  column('exchange_date', 'date'),
  column('exchange_hour', 'int'),
  {name: COVERED_TRADES.name, type: COVERED_TRADES.type.toLowerCase(), notNull: false, appended: true},
]

export const CANDLE_COLUMNS: ColumnDefinition[] = [
  column('symbol', 'string'),
  column('exchange', 'string'),
  column('window_start', 'timestamp'),
  column('window_end', 'timestamp'),
  column('window_date', 'date'),
  column('open_price', 'decimal(18,8)'),
  column('high_price', 'decimal(18,8)'),
  column('low_price', 'decimal(18,8)'),
  column('close_price', 'decimal(18,8)'),
  column('volume', 'decimal(38,8)'),
  column('trade_count', 'bigint'),
  column('vwap', 'decimal(18,8)'),
  column('created_at', 'timestamp'),
  column('updated_at', 'timestamp'),
  ...KLINE_COLUMNS.map((c): ColumnDefinition => ({name: c.name, type: c.type.toLowerCase(), notNull: false, appended: true})),
]

const MARK_COLUMNS: ColumnDefinition[] = [
  column('namespace', 'string'),
  column('timeframe', 'string'),
  column('ingested_through', 'bigint'),
  column('closed_through', 'bigint', false),
  column('updated_at', 'timestamp'),
]

const INGESTED_FILE_COLUMNS: ColumnDefinition[] = [
  column('namespace', 'string'),
  column('ingestion_timestamp', 'bigint'),
  column('file', 'string'),
  column('trades', 'bigint'),
  column('ingested_at', 'timestamp'),
]

export function createTableSql(table: TableDefinition): string {
  const columns = table.columns.map((c) => `${sqlName(c.name)} ${c.type.toUpperCase()}${c.notNull ? ' NOT NULL' : ''}`).join(', ')
  const partition = table.partitionedBy ? ` PARTITIONED BY (${table.partitionedBy})` : ''
  return `CREATE TABLE IF NOT EXISTS ${table.name} (${columns}) USING iceberg${partition} TBLPROPERTIES ('format-version' = '2')`
}
