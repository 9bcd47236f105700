import type {TapeFormat} from './tape-format.js'

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
  /** Called every ~100k rows, and once at the end of reading. */
  onProgress?: (p: IngestProgress) => void
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

/** What reading a tape into the staging table produced. */
export interface StagedTape {
  format: TapeFormat
  /** SELECT over the staging table yielding PARSED_COLUMNS for the accepted rows. */
  parsedSql: string
  /** The file cannot repeat a trade_id (ids strictly increasing, or made unique): no in-file dedup needed. */
  uniqueIds: boolean
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
