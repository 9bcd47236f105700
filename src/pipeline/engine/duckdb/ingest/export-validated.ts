/**
 * A tape checked exactly as ingest checks it, written out instead of stored: the accepted rows,
 * each trade once (its first row in the file), with the contract's trade columns but
 * ingestion_timestamp, in (timestamp, file order) order, to one Parquet file. An engine that has no
 * validating reader of its own (Spark) ingests that file, and so refuses and accepts what DuckDB does.
 */
import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import type {Warehouse} from '../warehouse.js'

import {stagedNames, withStagedTape} from './ingest-file.js'
import {sqlLiteral} from './staged-sql.js'
import {tapeSummary} from './staged-types.js'
import {checkTradeConflicts} from './trade-conflicts.js'

export type ExportOptions = Omit<IngestOptions, 'sliceRows'>

export interface ExportedTape extends Pick<IngestResult, 'file' | 'format' | 'exchange' | 'symbol' | 'rowsRead' | 'skippedNonMarket' | 'rejected' | 'rejectsFile'> {
  /** The Parquet file written. */
  parquet: string
  /** Rows written: the accepted rows less the repeats of a trade_id within the file. */
  rows: number
  /** Accepted rows that repeat an earlier row of the file (same trade, same values). */
  duplicates: number
  /** The first and last trade instant (µs) of the rows written (undefined: none). */
  minMicros?: number
  maxMicros?: number
}

/** The columns written: the contract's, ingestion_timestamp left to whoever stores them. */
const COLUMNS = `trade_id, symbol, exchange, "timestamp", price, quantity, side, source_sequence, covered_trades, CAST(make_timestamp("timestamp") AS DATE) AS exchange_date`

/** No row, but every column with its type. */
const EMPTY = `SELECT CAST(NULL AS VARCHAR) AS trade_id, CAST(NULL AS VARCHAR) AS symbol, CAST(NULL AS VARCHAR) AS exchange, CAST(NULL AS BIGINT) AS "timestamp",
  CAST(NULL AS DECIMAL(18,8)) AS price, CAST(NULL AS DECIMAL(38,8)) AS quantity, CAST(NULL AS VARCHAR) AS side, CAST(NULL AS BIGINT) AS source_sequence,
  CAST(NULL AS BIGINT) AS covered_trades, CAST(NULL AS DATE) AS exchange_date WHERE false`

export async function exportValidated(warehouse: Warehouse, file: string, options: ExportOptions, parquetOut: string): Promise<ExportedTape> {
  return withStagedTape(warehouse, file, options, async (staged) => {
    let rows = 0
    if (staged.staged > 0) {
      const range = {minMicros: staged.minMicros!, maxMicros: staged.maxMicros!}
      // Within the file only: a key repeated with other values refuses the file, as ingest does.
      await checkTradeConflicts(warehouse, {file, source: staged.source, ...range, ...stagedNames(staged), againstStored: false})
      const dedup = staged.source.uniqueIds ? '' : 'QUALIFY s.rn = min(s.rn) OVER (PARTITION BY s.exchange, s.symbol, s.trade_id)'
      const result = await warehouse.connection.run(
        `COPY (SELECT ${COLUMNS} FROM (SELECT s.* FROM (${staged.source.rangeSql(range.minMicros, range.maxMicros)}) AS s ${dedup} ORDER BY s."timestamp", s.rn))
         TO ${sqlLiteral(parquetOut)} (FORMAT parquet)`,
      )
      rows = Number(result.rowsChanged)
    } else {
      await warehouse.run(`COPY (${EMPTY}) TO ${sqlLiteral(parquetOut)} (FORMAT parquet)`)
    }

    return {
      ...tapeSummary(file, staged),
      parquet: parquetOut,
      rows,
      duplicates: staged.staged - rows,
      minMicros: staged.minMicros,
      maxMicros: staged.maxMicros,
    }
  })
}
