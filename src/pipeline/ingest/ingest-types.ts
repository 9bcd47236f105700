import type {TapeFormat} from './tape-format.js'
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
