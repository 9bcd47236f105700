/**
 * `ingestFile` (engine.ts ingestFile on DuckDB): one trade tape → market_data.gold_crypto_trades, all of it or (on a bad row,
 * without skipBadRows) none of it. Reading streams and storing goes slice by slice (flat memory
 * for multi-GB tapes): a CSV tape's accepted lines go through a TEMP staging table (dropped after
 * the file), a Parquet tape is read where it is; the rows are stored in one transaction.
 */
import {resolve} from 'node:path'

import type {Warehouse} from '../warehouse.js'
import type {IngestOptions, IngestResult} from '../../../ingest/ingest-types.js'
import {type StagedTape, tapeSummary} from './staged-types.js'

import {ExitCode, K2Error, UsageError} from '../../../errors.js'
import {ingestCsvInBulk} from './csv-bulk.js'
import {ingestParquetInBulk} from './k2-parquet-bulk.js'
import {stageCsvTape} from './csv-tape.js'
import {isOutOfMemory, stageParquet} from './k2-parquet.js'
import {checkNameOptions} from '../../../ingest/market-names.js'
import {Staging} from './staging.js'
import {checkTradeConflicts} from './trade-conflicts.js'
import {nextIngestionTimestamp, storeTrades} from './store-trades.js'
import {TAPE_FORMATS} from '../../../ingest/tape-format.js'
import {ingestTimeWindow} from '../../../ingest/time-window.js'
import {sniffContainer, tapeFileSize} from '../../../ingest/tape-reader.js'
import {LiteralPath, openLiteralPath} from './literal-path.js'

export async function ingestFile(warehouse: Warehouse, file: string, given: IngestOptions): Promise<IngestResult> {
  const nowMicros = Math.floor(given.nowMicros)
  // A tape that DuckDB can store in one statement goes in bulk (csv-bulk.ts, k2-parquet-bulk.ts);
  // with sliceRows given, the caller asks for the sliced store.
  const bulk =
    given.sliceRows === undefined && process.env.K2OPS_INGEST_BULK !== '0'
      ? (container: 'plain' | 'gzip' | 'parquet', fileSize: number, options: IngestOptions) =>
          container === 'parquet' ? ingestParquetInBulk(warehouse, file, fileSize, options) : ingestCsvInBulk(warehouse, file, container, fileSize, options)
      : undefined
  return withStagedTape(warehouse, file, given, async (staged) => {
    const names = stagedNames(staged)
    if (staged.staged > 0) {
      await checkTradeConflicts(warehouse, {file, source: staged.source, minMicros: staged.minMicros!, maxMicros: staged.maxMicros!, ...names})
    }

    const stored =
      staged.staged > 0
        ? await storeTrades(warehouse, {
            file: resolve(file),
            source: staged.source,
            rows: staged.staged,
            minMicros: staged.minMicros!,
            maxMicros: staged.maxMicros!,
            nowMicros,
            ...names,
            sliceRows: given.sliceRows,
          })
        : {inserted: 0, ingestionTimestamp: await nextIngestionTimestamp(warehouse, nowMicros)}

    return {
      ...tapeSummary(file, staged),
      inserted: stored.inserted,
      duplicates: staged.staged - stored.inserted,
      firstTradeMicros: staged.minMicros,
      lastTradeMicros: staged.maxMicros,
      ingestionTimestamp: stored.ingestionTimestamp,
    }
  }, bulk)
}

/** The one exchange / symbol of a staged tape, when it has one. */
export function stagedNames(staged: StagedTape): {exchange?: string; symbol?: string} {
  return {exchange: staged.exchange === '*' ? undefined : staged.exchange, symbol: staged.symbol === '*' ? undefined : staged.symbol}
}

/**
 * Reads and checks one tape with ingest's rules (format, names, time window, bad rows) and stages
 * its accepted rows; `work` sees them, then the staging goes. Running out of memory, there or in
 * `work`, becomes one line that names the setting to raise. `bulk`, when given, is tried first on
 * a plain or gzip CSV or a Parquet tape: what it returns is the answer, undefined sends the tape the
 * staged way.
 */
export async function withStagedTape<T>(
  warehouse: Warehouse,
  file: string,
  given: IngestOptions,
  work: (staged: StagedTape) => Promise<T>,
  bulk?: (container: 'plain' | 'gzip' | 'parquet', fileSize: number, options: IngestOptions) => Promise<T | undefined>,
): Promise<T> {
  const options = {...given, timeWindow: given.timeWindow ?? ingestTimeWindow(undefined, given.nowMicros)}
  if (options.format !== undefined && !TAPE_FORMATS.includes(options.format)) {
    throw new UsageError(`--format: '${options.format}' is not one of ${TAPE_FORMATS.join(', ')}`, {code: 'bad_flag'})
  }

  checkNameOptions(options)
  const fileSize = await tapeFileSize(file)
  const container = await sniffContainer(file)
  if (container === 'parquet' && options.format !== undefined && options.format !== 'k2') {
    throw new UsageError(`${file}: a Parquet tape must be in the k2 contract layout (--format k2), not ${options.format}`, {code: 'unknown_format'})
  }

  let staging: Staging | undefined
  let parquet: LiteralPath | undefined
  try {
    if (bulk && container !== 'zip') {
      const done = await bulk(container, fileSize, options)
      if (done !== undefined) return done
    }

    staging = container === 'parquet' ? undefined : await Staging.create(warehouse)
    let staged: StagedTape
    if (staging) {
      staged = await stageCsvTape(file, container as Exclude<typeof container, 'parquet'>, fileSize, options, staging)
    } else {
      parquet = await openLiteralPath(file)
      staged = await stageParquet(warehouse, file, parquet.path, fileSize, options)
    }

    return await work(staged)
  } catch (error) {
    if (isOutOfMemory(error)) throw await outOfMemory(warehouse, file, error)
    throw error
  } finally {
    await staging?.drop()
    await parquet?.close()
  }
}

/** DuckDB ran out of memory: one line that names the file and the setting to raise. */
async function outOfMemory(warehouse: Warehouse, file: string, error: unknown): Promise<K2Error> {
  const limit = await warehouse
    .one<{limit: string}>(`SELECT current_setting('memory_limit') AS "limit"`)
    .then((row) => row.limit)
    .catch(() => undefined)
  return new K2Error(
    `${file}: out of memory${limit ? ` (DuckDB memory limit ${limit})` : ''}; nothing from this file was stored. Raise K2OPS_MEMORY_LIMIT (e.g. K2OPS_MEMORY_LIMIT=4GB) and ingest it again`,
    {code: 'out_of_memory', exit: ExitCode.failed, cause: error},
  )
}
