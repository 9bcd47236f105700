import type {TapeFormat} from './tape-format.js'
import type {TimeHistogram} from './time-slices.js'
import type {TimeWindow} from './time-window.js'

export interface IngestProgress {
  file: string
  rows: number
  bytesRead: number
  totalBytes: number
}

export interface IngestOptions {
  /** Forced; otherwise detected from the file's content (header, column count, booleans). */
  format?: TapeFormat
  /** Overrides / supplies the exchange (stored upper case). */
  exchange?: string
  /** Overrides / supplies the symbol (normalised: upper case, no '/', '-'). */
  symbol?: string
  skipBadRows?: boolean
  /** Where skipBadRows writes `<input basename>.rejected.csv`. */
  rejectsDir: string
  /** The command's clock (K2OPS_NOW aware), µs since the epoch. */
  nowMicros: number
  /** The trade times accepted (ingestTimeWindow, from the home's config); by default 2009-01-01 … now + 1 day. */
  timeWindow?: TimeWindow
  /** Called every ~100k rows, and once at the end of reading. */
  onProgress?: (p: IngestProgress) => void
  /** Rows per stored slice (store-trades.ts); by default derived from DuckDB's memory_limit. For tests. */
  sliceRows?: number
}

/** rowsRead = inserted + duplicates + skippedNonMarket + rejected. */
export interface IngestResult {
  file: string
  format: TapeFormat
  exchange: string
  /** '*' for a k2 file with several symbols (likewise exchange). */
  symbol: string
  rowsRead: number
  inserted: number
  duplicates: number
  skippedNonMarket: number
  rejected: number
  rejectsFile?: string
  firstTradeMicros?: number
  lastTradeMicros?: number
  ingestionTimestamp: number
}

/**
 * The accepted rows of a staged tape, readable by timestamp range: the rows of a range are
 * `rn` (file order), trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence.
 */
export interface RowSource {
  /** SELECT of the accepted rows with lo ≤ "timestamp" ≤ hi (µs). */
  rangeSql(lo: number, hi: number): string
  /**
   * `SELECT n, lo, hi`: the pieces a range read skips when their [lo, hi] misses the range (Parquet
   * row groups, staged CSV blocks), to tell how much of the source a set of range reads reads.
   * Undefined: every range read reads all of it.
   */
  chunksSql?: string
  /**
   * Up to how many times over the range reads may read the source before cutting it into slice
   * files (one write and one read of every row) is cheaper.
   */
  maxReadFactor: number
  /** Accepted rows per timestamp bucket. */
  histogram(): Promise<TimeHistogram>
  /** The file cannot repeat a trade_id (ids strictly increasing, or made unique): no in-file dedup needed. */
  uniqueIds: boolean
  /** The least and greatest trade_id (as text) of the rows, when known: stored rows outside cannot share a key. */
  idRange?: {lo: string; hi: string}
  /** A trade id made from the trade's time, price and quantity (Kraken): a stored key cannot have other values. */
  valuesInIds?: boolean
  /** Where the row `rn` is in the file, for messages after `FILE:` (`12` for a CSV line, `row 12` in a Parquet file). */
  location(rn: number): Promise<string>
}

/** What reading a tape produced. */
export interface StagedTape {
  format: TapeFormat
  source: RowSource
  exchange: string
  symbol: string
  rowsRead: number
  staged: number
  skippedNonMarket: number
  rejected: number
  rejectsFile?: string
  minMicros?: number
  maxMicros?: number
}
