import type {TapeFormat} from '../../../ingest/tape-format.js'
import type {TimeHistogram} from '../../../ingest/time-slices.js'

/**
 * The accepted rows of a staged tape, readable by timestamp range: the rows of a range are
 * `rn` (file order), trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades.
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

/** What a tape's reading says of it, as the ingest result and the exported tape both report it. */
export function tapeSummary(file: string, staged: StagedTape): {file: string; format: TapeFormat; exchange: string; symbol: string; rowsRead: number; skippedNonMarket: number; rejected: number; rejectsFile?: string} {
  const {format, exchange, symbol, rowsRead, skippedNonMarket, rejected, rejectsFile} = staged
  return {file, format, exchange, symbol, rowsRead, skippedNonMarket, rejected, rejectsFile}
}
