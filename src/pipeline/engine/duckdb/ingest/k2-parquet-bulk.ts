/**
 * The fast way in for a k2 Parquet tape: the checks of k2-parquet-sql.ts and the insert in one
 * INSERT … SELECT, in one transaction (bulk-store.ts), for a tape whose row groups follow one
 * another in time and whose first market has no stored trade in the tape's time range. A bad row
 * makes DuckDB raise `error()`; that, or any check of bulk-store.ts failing, rolls back, and the
 * tape goes the staged way (k2-parquet.ts), which names the row and deduplicates.
 */
import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import type {Warehouse} from '../warehouse.js'

import {normaliseExchange, normaliseSymbol} from '../../../ingest/market-names.js'
import {NotInBulk, storeInBulk, storedBetween} from './bulk-store.js'
import {columnTypes, isOutOfMemory} from './k2-parquet.js'
import {ParquetSql, REQUIRED} from './k2-parquet-sql.js'
import {openLiteralPath} from './literal-path.js'

/** The tape stored in bulk, or undefined when it must go the staged way; throws only on out of memory. */
export async function ingestParquetInBulk(warehouse: Warehouse, file: string, fileSize: number, options: IngestOptions): Promise<IngestResult | undefined> {
  const literal = await openLiteralPath(file)
  try {
    const types = await columnTypes(warehouse, file, literal.path, (text) => text)
    const names = {
      symbol: options.symbol === undefined ? undefined : normaliseSymbol(options.symbol),
      exchange: options.exchange === undefined ? undefined : normaliseExchange(options.exchange),
    }
    if (REQUIRED.some((c) => !types.has(c) && !(c === 'symbol' && names.symbol) && !(c === 'exchange' && names.exchange))) return undefined
    const sql = new ParquetSql(literal.path, types, names.symbol, names.exchange, options.timeWindow!)
    if (sql.chunksSql === undefined) return undefined

    // Row groups in time order, each from where the one before ended: the tape is in time order
    // at that grain (bulk-store.ts checks the rows).
    const groups = await warehouse.all<{lo: bigint; hi: bigint}>(`SELECT lo, hi FROM (${sql.chunksSql})`)
    if (groups.length === 0 || groups.some((g, i) => i > 0 && g.lo < groups[i - 1].hi)) return undefined
    const first = await warehouse.one<{exchange: string | null; symbol: string | null}>(`SELECT ${sql.exchange} AS exchange, ${sql.symbol} AS symbol FROM ${sql.source} LIMIT 1`)
    if (first.exchange === null || first.symbol === null) return undefined
    const [lo, hi] = [Number(groups[0].lo), Number(groups.at(-1)!.hi)]
    if (await storedBetween(warehouse, {exchange: first.exchange, symbol: first.symbol}, lo, hi)) return undefined

    const rows = `SELECT * REPLACE (CASE WHEN ok THEN "timestamp" ELSE error('k2ops: not a bulk row') END AS "timestamp")
      FROM (SELECT ${sql.values}, coalesce(${sql.good}, false) AS ok FROM ${sql.source})`
    const result = await warehouse.transaction(() => storeInBulk(warehouse, file, rows, {format: 'k2', names}, options))
    options.onProgress?.({file, rows: result.rowsRead, bytesRead: fileSize, totalBytes: fileSize})
    return result
  } catch (error) {
    if (error instanceof NotInBulk) return undefined
    if (isOutOfMemory(error)) throw error
    return undefined
  } finally {
    await literal.close()
  }
}
